/**
 * The suite passes on a fresh clone (issue 10): everything a test, script or build step reads is
 * inside the project. The fixtures the Python tool wrote are carried in test/fixtures, committed
 * whole (their own `.orchestrator/.gitignore` says `*`, so they are force-added) and unchanged.
 */
import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FIXTURES_DIR, PROJECT_ROOT } from '../helpers/fixtures.js';

/** sha256 of every fixture file, as the Python tool wrote it. */
const FIXTURE_FILES: Record<string, string> = {
  'legacy-basic/.workflow_checkpoints/cp_20261123_224914_a74650.json': 'a220bc7f5176953615cdda44e4d1c23772918793e63c55bc0c4c6c487bfc07eb',
  'legacy-basic/.workflow_log.jsonl': '15f046fa25a00cc59287353eb92e5319903899d624783e831a4f9d7202c2b5e2',
  'legacy-basic/.workflow_process_feedback.jsonl': 'a9891b6e4c64d9b5d91ee5053b3dd88b69b51b62068c622ff891e81a447c16a5',
  'legacy-basic/.workflow_state.json': '208ea189b6f45b86a07232319c3b35b62d625180e21ac870411451dc87b16904',
  'legacy-basic/.workflow_tool_feedback.jsonl': 'f55d490b12a3b1300c9381ad914920859902f01529e1dc7ab967049b0a8f0b31',
  'legacy-basic/README.md': 'e2926a34c9862faf7686ffe909b1e2ed563fb7d21b41429828b7f56626bcea11',
  'legacy-basic/docs/plan.md': '2e791ebbe5732f4582d6506405ae3fa0ed7cdfc2677133279887f57ff02d7346',
  'legacy-basic/tests/test_cases.md': '2dd9bc4a169e84bfd7ea6fcf2e59036e7c0fc53a52dc554a902e57ab79b3caa5',
  'legacy-basic/workflow.yaml': 'a7af4def05d1bc4968f79606f20de9a2c54d2acafbd6d95bad0e569bdd85e431',
  'new-layout/.orchestrator/.gitignore': 'cdbcae15105d6b781e620813c79c7e868740d4e9cc53ce6f5fcbbc12387adf4b',
  'new-layout/.orchestrator/audit.jsonl': '2b60efe88da9b010a8f65c135e09e2a5b6299880fee02c677f92cfb4dd9bedd7',
  'new-layout/.orchestrator/current': '32afa3ca5f5a01e8c1d65c9fcf29b7a58afdb605b80a1c843ce6842d8dac862d',
  'new-layout/.orchestrator/sessions/2f76b47f/checkpoints/cp_20261123_225141_678704_6893_c613.json': 'd4b207d3f3730f7e7b34f62600e871bfe3932e4e24fe356c2463a60b4d94894a',
  'new-layout/.orchestrator/sessions/2f76b47f/log.jsonl': '1f802f134a6094b3bb7a00308ec8988b02dde020a8174b787877a817aac0fac6',
  'new-layout/.orchestrator/sessions/2f76b47f/meta.json': '3cc9a8398d24ab2f44d88460add5e815af095ce22d27d486edffa58209b9f5f4',
  'new-layout/.orchestrator/sessions/2f76b47f/state.json': '70488b40dce992b9107cb85d156f400b5d28cc02cea9056979079271902d473c',
  'new-layout/.workflow_process_feedback.jsonl': '77bd911aba3764e79d8ad3e774fbd8e4fd0969882a025935c45037417e90540b',
  'new-layout/.workflow_tool_feedback.jsonl': '47c38db3e78c48cc064cdb28f9778ab49fe0be112e5ac48cefa262abec0ed02e',
  'new-layout/README.md': '86661a1d6b415cfca2e070c418aaeb8651828b3852cddfac65bda531b55149f7',
  'new-layout/docs/plan.md': '2e791ebbe5732f4582d6506405ae3fa0ed7cdfc2677133279887f57ff02d7346',
  'new-layout/tests/test_cases.md': '2dd9bc4a169e84bfd7ea6fcf2e59036e7c0fc53a52dc554a902e57ab79b3caa5',
  'new-layout/workflow.yaml': '72685fa504569396fc05e649aef479e4acdb50aef1877c805baf000269f86ff2',
};

function filesUnder(dir: string, keep: (file: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p, keep));
    else if (keep(p)) out.push(p);
  }
  return out;
}

const inside = (p: string) => p === PROJECT_ROOT.replace(/\/$/, '') || p.startsWith(PROJECT_ROOT.endsWith(sep) ? PROJECT_ROOT : PROJECT_ROOT + sep);

/**
 * Ways a test or script could reach outside the project, found in its text: an absolute path into
 * the developers' /work tree, a `new URL('…', import.meta.url)` or `resolve(process.cwd(), '…')`
 * that climbs above the project root (into any folder beside it).
 */
function outsideReferences(file: string, text: string): string[] {
  const found: string[] = [];
  const line = (index: number) => text.slice(0, index).split('\n').length;
  for (const m of text.matchAll(/['"`]\/work\/[^'"`\n]*['"`]/g)) found.push(`${file}:${line(m.index!)}: ${m[0]}`);
  for (const m of text.matchAll(/new URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g)) {
    const target = fileURLToPath(new URL(m[1]!, pathToFileURL(file)));
    if (!inside(target)) found.push(`${file}:${line(m.index!)}: ${m[0]} is ${target}`);
  }
  for (const m of text.matchAll(/resolve\(\s*process\.cwd\(\)\s*,\s*['"]([^'"]+)['"]/g)) {
    const target = resolve(PROJECT_ROOT, m[1]!);
    if (!inside(target)) found.push(`${file}:${line(m.index!)}: ${m[0]} is ${target}`);
  }
  return found;
}

describe('a fresh clone has everything its tests read', () => {
  test('the fixtures are in test/fixtures, complete and byte-identical to what the Python tool wrote', () => {
    const hashes = Object.fromEntries(
      filesUnder(FIXTURES_DIR, (f) => !f.endsWith('.ts'))
        .map((f) => [relative(FIXTURES_DIR, f), createHash('sha256').update(readFileSync(f)).digest('hex')]),
    );
    expect(hashes).toEqual(FIXTURE_FILES);
  });

  test('git tracks every fixture file, the ones the fixture\'s own .gitignore hides included', () => {
    if (!existsSync(join(PROJECT_ROOT, '.git'))) throw new Error(`${PROJECT_ROOT} is not a git checkout: run the tests in a clone`);
    const tracked = execFileSync('git', ['ls-files', '-z', '--', 'test/fixtures'], { cwd: PROJECT_ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f !== '' && !f.endsWith('.ts'))
      .map((f) => relative('test/fixtures', f))
      .sort();
    expect(tracked).toEqual(Object.keys(FIXTURE_FILES).sort());
  });

  test('no compiled test, helper or script refers to a path outside the project', () => {
    const distTest = join(PROJECT_ROOT, 'dist', 'test');
    const files = [
      // This file is left out: its own examples below are exactly what the check looks for.
      ...filesUnder(distTest, (f) => f.endsWith('.js') && f !== fileURLToPath(import.meta.url)),
      ...filesUnder(join(PROJECT_ROOT, 'scripts'), (f) => /\.(mjs|cjs|js)$/.test(f)),
      ...filesUnder(join(PROJECT_ROOT, '.ci'), () => true),
      join(PROJECT_ROOT, 'package.json'),
    ];
    expect(files.length).toBeGreaterThan(40);
    expect(files.flatMap((f) => outsideReferences(f, readFileSync(f, 'utf8')))).toEqual([]);
  });

  test('the check finds a test that reads beside the project', () => {
    const file = join(PROJECT_ROOT, 'dist', 'test', 'engine', 'x.test.js');
    expect(outsideReferences(file, "const F = path.resolve(process.cwd(), '../sibling/fixtures');")).toHaveLength(1);
    expect(outsideReferences(file, "const F = new URL('../../../../sibling/fixtures/legacy-basic', import.meta.url);")).toHaveLength(1);
    expect(outsideReferences(file, "const F = new URL('../../../../elsewhere/data', import.meta.url);")).toHaveLength(1);
    expect(outsideReferences(file, "const F = '/work/sibling/fixtures/new-layout';")).toHaveLength(1);
    expect(outsideReferences(file, "const F = new URL('../../../test/fixtures/', import.meta.url);")).toEqual([]);
  });
});
