// One socket directory for the whole test run, removed afterwards: tests kill daemons with
// SIGKILL, which leaves their socket files behind, and those belong in a folder of the run, not
// in the user's /tmp/orch-<uid>/. Workers inherit the variable; test/helpers/run-orch.ts uses it.
// And one run folder: the list of every temp folder a test made (test/helpers/temp-repo.ts) and
// the run's V8 code cache, so jest-global-teardown.mjs can leave /tmp as it found it.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';

export default function setup() {
  process.env.ORCH_TEST_SOCKET_DIR ??= mkdtempSync(join('/tmp', 'orch-sock-'));
  process.env.ORCH_TEST_RUN_DIR ??= mkdtempSync(join('/tmp', 'orch-run-'));
}
