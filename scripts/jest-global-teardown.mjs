// Leaves /tmp as the run found it (see jest-global-setup.mjs): every temp folder a test made and
// did not remove (a failed assertion before its cleanup, a worker killed on timeout) has its daemon
// killed and is removed, then the run's socket and run folders go. Names what it had to remove, so
// a test that leaks is noticed.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Pids of orch daemons whose command line says `--root <root>`. */
function daemonPids(root) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const i = argv.indexOf('--root');
      if (i >= 0 && argv[i + 1] === root && argv.some((a) => a.endsWith('daemon/main.js'))) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

export default function teardown() {
  const runDir = process.env.ORCH_TEST_RUN_DIR;
  if (runDir && runDir.startsWith('/tmp/orch-run-')) {
    const list = join(runDir, 'temp-dirs');
    const dirs = existsSync(list) ? [...new Set(readFileSync(list, 'utf8').split('\n').filter((d) => d.startsWith('/tmp/')))] : [];
    const left = dirs.filter((d) => existsSync(d));
    for (const dir of left) {
      for (const pid of daemonPids(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
    if (left.length) process.stderr.write(`\njest teardown: removed ${left.length} temp folder(s) tests left behind: ${left.join(', ')}\n`);
    rmSync(runDir, { recursive: true, force: true });
  }
  const dir = process.env.ORCH_TEST_SOCKET_DIR;
  if (dir && dir.startsWith('/tmp/orch-sock-')) rmSync(dir, { recursive: true, force: true });
}
