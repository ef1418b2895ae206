// One socket directory for the whole test run, removed afterwards: tests kill daemons with
// SIGKILL, which leaves their socket files behind, and those belong in a folder of the run, not
// in the user's /tmp/orch-<uid>/. Workers inherit the variable; test/helpers/run-orch.ts uses it.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';

export default function setup() {
  process.env.ORCH_TEST_SOCKET_DIR ??= mkdtempSync(join('/tmp', 'orch-sock-'));
}
