#!/usr/bin/env node
/**
 * Runs the whole jest suite with the daemon, then the CLI suite (dist/test/client) again without
 * one (ORCH_TEST_DAEMON=0: every spawned orch gets ORCH_DAEMON=0 and runs in-process), as the
 * daemon issue asks ("run the CLI test suite in both modes"; Nx runs its e2e tests both ways).
 * Extra arguments go to both jest runs. Exits non-zero if either run fails.
 *
 *   node scripts/test-both-modes.mjs            # after npm run build
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const jest = ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js'];
const extra = process.argv.slice(2);

function run(label, args, env) {
  process.stdout.write(`\n=== ${label} ===\n`);
  const res = spawnSync(process.execPath, [...jest, ...args, ...extra], { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return res.status ?? 1;
}

const withDaemon = run('all tests, with the daemon (ORCH_TEST_DAEMON=1)', [], { ORCH_TEST_DAEMON: '1' });
const withoutDaemon = run('CLI tests without a daemon (ORCH_TEST_DAEMON=0)', ['dist/test/client'], { ORCH_TEST_DAEMON: '0' });
process.stdout.write(`\nwith the daemon: ${withDaemon === 0 ? 'passed' : 'FAILED'}; without a daemon: ${withoutDaemon === 0 ? 'passed' : 'FAILED'}\n`);
process.exit(withDaemon === 0 && withoutDaemon === 0 ? 0 : 1);
