#!/usr/bin/env node
// End-to-end demo: a throwaway git repo, the bundled default workflow, real orch commands with
// their real output. Run with `npm run demo` (it builds first).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/client/orch.cjs', import.meta.url));
const repo = realpathSync(mkdtempSync('/tmp/orch-demo-'));
const env = { ...process.env, ORCH_DAEMON: process.env.ORCH_DAEMON ?? '1' };
delete env.ORCH_SESSION;
delete env.ORCH_ROOT;

function orch(...args) {
  process.stdout.write(`\n$ orch ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: repo, env, encoding: 'utf8' });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.status !== 0 && !args.includes('--expect-failure')) {
    process.stdout.write(`(exit ${r.status})\n`);
  }
  return r;
}

let failed = false;
try {
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo });
  writeFileSync(join(repo, 'README.md'), '# demo-api\n');
  process.stdout.write(`Demo repository: ${repo}\n`);
  const steps = [
    ['start', 'Add rate limiting to the public API', '--project', 'demo-api', '-c', 'No new runtime dependencies'],
    ['status'],
    ['sessions'],
    ['complete', 'clarify_requirements', '--notes', 'Per-key limits, 100 requests/min, 429 with Retry-After', '-q'],
    () => {
      mkdirSync(join(repo, 'docs'));
      writeFileSync(join(repo, 'docs', 'plan.md'), '# Plan\n\n- Token bucket per API key\n');
      process.stdout.write('\n(wrote docs/plan.md)\n');
    },
    ['complete', 'write_plan', '--notes', 'Wrote docs/plan.md', '-q'],
    ['skip', 'risk_notes', '--reason', 'Small isolated middleware change; the risks are covered inline in docs/plan.md', '-q'],
    ['approve-item', 'plan_approval', '--notes', 'Approved in the demo', '-q'],
    ['advance'],
    ['checkpoint', '-m', 'Plan approved, starting implementation', '-d', 'Token bucket per API key'],
    ['log', '-n', '6'],
    ['daemon', 'status'],
  ];
  for (const step of steps) {
    if (typeof step === 'function') step();
    else if (orch(...step).status !== 0) failed = true;
  }
  const git = execFileSync('git', ['status', '--porcelain'], { cwd: repo, encoding: 'utf8' });
  process.stdout.write(`\n$ git status --porcelain\n${git || '(clean: .orchestrator/ is ignored in normal mode)\n'}`);
} finally {
  spawnSync(process.execPath, [cli, 'daemon', 'stop'], { cwd: repo, env });
  rmSync(repo, { recursive: true, force: true });
}
process.stdout.write(failed ? '\nDemo FAILED\n' : '\nDemo finished: every command exited 0.\n');
process.exit(failed ? 1 : 0);
