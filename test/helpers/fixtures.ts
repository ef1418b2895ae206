/**
 * Where the tests find their data: inside the project, never beside it (a user's clone has nothing
 * else). `test/fixtures/` holds repos the Python tool wrote, kept byte-identical (see
 * test/project/self-contained.test.ts). Compiled tests live in dist/test/…, so paths are resolved
 * from the project root, not from the compiled file.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (this file compiles to dist/test/helpers/fixtures.js). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** test/fixtures/ in the source tree (data files are not copied into dist/). */
export const FIXTURES_DIR = join(PROJECT_ROOT, 'test', 'fixtures');

/** A repo written by the Python tool 2.0.0 (legacy root-level files). Read-only for tests: work on copies. */
export const LEGACY_FIXTURE = join(FIXTURES_DIR, 'legacy-basic');

/** A repo written by the Python tool 3.0.0 (`.orchestrator/sessions/2f76b47f`). Read-only for tests. */
export const NEW_LAYOUT_FIXTURE = join(FIXTURES_DIR, 'new-layout');
