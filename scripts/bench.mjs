#!/usr/bin/env node
/**
 * `npm run bench [-- --quick] [-- --json]`: measures, in one run, how fast orch is next to what
 * Node itself allows, and prints a table of figures, targets and verdicts (issue 7). Everything
 * runs in temp repos under /tmp over Unix sockets; every daemon started is stopped and every temp
 * folder removed, even on Ctrl-C.
 *
 *   --quick      fewer repetitions (about 40 s instead of about 3 minutes)
 *   --json       one JSON document on stdout (progress still goes to stderr)
 *   --no-build   benchmark dist/ as it is (default: `npm run build` first)
 *   --cli PATH   the client entry to time (default: package.json's bin.orch)
 *   --only 1,5   run only these sections (7: 1,000 hostile connections, about 25 s; 8: orch wait
 *                wake-up; 9: orch who with 100 clients; 10: agent hooks and MCP; 11: evidence
 *                fingerprints, with a 100,000-file repo only in the full run; 12: the orch ui
 *                dashboard in headless Chromium, skipped without /usr/bin/chromium)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { agentHooksAndMcp } from './bench-agents.mjs';
import { coldStatus, notificationLatency, persistentStatus, statusRepo, warmStatus } from './bench-client.mjs';
import { durableMutations, sessionsAtScale } from './bench-daemon.mjs';
import { wakeLatency, whoWithClients } from './bench-gates.mjs';
import { evidenceCost } from './bench-evidence.mjs';
import { hostileClients } from './bench-hostile.mjs';
import { dashboardCost } from './bench-ui.mjs';
import { BenchSpace, nowMs } from './bench-lib.mjs';
import { buildRows, formatTable } from './bench-report.mjs';

const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const PLANS = {
  full: {
    warmRuns: 30,
    coldRuns: 12,
    persistentRequests: 5000,
    mutations: { levels: [1, 8, 32], sessions: 8, opsPerLevel: 480, itemsPerSession: 64, plainWrites: 400 },
    sessions: { sizes: [1, 1000, 10000], firstListTimeoutMs: 60_000, warmLists: 10, cliRuns: 5 },
    notifications: 100,
    hostile: { count: 1000, holdMs: 12_000 },
    wake: { runs: 50 },
    who: { clients: 100, runs: 10 },
    agents: { runs: 30, calls: 1000 },
    evidence: { sizes: [10_000, 100_000], runs: 7, completeRuns: 15 },
    dashboard: { runs: 20, pages: 10 },
  },
  quick: {
    warmRuns: 20,
    coldRuns: 10,
    persistentRequests: 2000,
    mutations: { levels: [1, 8, 32], sessions: 8, opsPerLevel: 160, itemsPerSession: 64, plainWrites: 150 },
    sessions: { sizes: [1, 1000, 10000], firstListTimeoutMs: 6000, warmLists: 3, cliRuns: 2 },
    notifications: 100,
    hostile: { count: 1000, holdMs: 12_000 },
    wake: { runs: 50 },
    who: { clients: 100, runs: 5 },
    agents: { runs: 15, calls: 300 },
    evidence: { sizes: [10_000], runs: 5, completeRuns: 8 },
    dashboard: { runs: 20, pages: 10 },
  },
};

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      json: { type: 'boolean' },
      'no-build': { type: 'boolean' },
      cli: { type: 'string' },
      only: { type: 'string' },
    },
  });
  const pkg = JSON.parse(readFileSync(join(PROJECT, 'package.json'), 'utf8'));
  const cli = resolve(PROJECT, values.cli ?? pkg.bin.orch);
  const only = values.only ? new Set(values.only.split(',').map(Number)) : null;
  return { quick: values.quick === true, json: values.json === true, build: !values['no-build'], cli, only };
}

const progress = (s) => process.stderr.write(`bench: ${s}\n`);

function build() {
  progress('npm run build');
  const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: PROJECT, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error('npm run build failed; fix the build, or benchmark dist/ as it is with --no-build');
}

async function runSections(space, opts, plan) {
  const want = (n) => !opts.only || opts.only.has(n);
  const results = {};
  const unbundled = join(PROJECT, 'dist', 'client', 'cli.js');
  const extraClis = !opts.quick && existsSync(unbundled) && unbundled !== opts.cli ? [unbundled] : [];
  const statusRoot = want(1) || want(2) || want(3) ? await statusRepo(space) : null;
  if (want(1)) {
    progress(`(1) warm orch status, ${plan.warmRuns} runs next to node -e 0`);
    results.warm = await warmStatus(space, opts.cli, statusRoot, { runs: plan.warmRuns, extraClis });
  }
  if (want(3)) {
    progress(`(3) session/status on a persistent connection, ${plan.persistentRequests} requests`);
    results.persistent = await persistentStatus(space, statusRoot, { requests: plan.persistentRequests });
  }
  if (want(2)) {
    progress(`(2) cold orch status, ${plan.coldRuns} runs`);
    results.cold = await coldStatus(space, opts.cli, statusRoot, { runs: plan.coldRuns });
  }
  if (statusRoot) {
    await space.stopDaemon(statusRoot);
    space.removeRepo(statusRoot);
  }
  if (want(4)) {
    progress(`(4) durable mutations with ${plan.mutations.levels.join(', ')} clients`);
    results.mutations = await durableMutations(space, plan.mutations);
  }
  if (want(5)) {
    progress(`(5) orch sessions with ${plan.sessions.sizes.join(', ')} sessions`);
    results.sessions = await sessionsAtScale(space, opts.cli, plan.sessions);
  }
  if (want(6)) {
    progress(`(6) notification latency, ${plan.notifications} changes`);
    results.notifications = await notificationLatency(space, { changes: plan.notifications });
  }
  if (want(7)) {
    progress(`(7) ${plan.hostile.count} hostile connections held for ${plan.hostile.holdMs / 1000} s`);
    results.hostile = await hostileClients(space, opts.cli, plan.hostile);
  }
  if (want(8)) {
    progress(`(8) orch wait wake-up after an approval, ${plan.wake.runs} runs`);
    results.wake = await wakeLatency(space, opts.cli, plan.wake);
  }
  if (want(9)) {
    progress(`(9) orch who with ${plan.who.clients} clients connected, ${plan.who.runs} runs`);
    results.who = await whoWithClients(space, opts.cli, plan.who);
  }
  if (want(10)) {
    progress(`(10) agent hooks, ${plan.agents.runs} runs each next to node -e 0; MCP orch_status, ${plan.agents.calls} calls`);
    results.agents = await agentHooksAndMcp(space, opts.cli, plan.agents);
  }
  if (want(11)) {
    progress(`(11) evidence fingerprints on repos of ${plan.evidence.sizes.join(', ')} files, and orch complete`);
    results.evidence = await evidenceCost(space, opts.cli, plan.evidence);
  }
  if (want(12)) {
    progress(`(12) orch ui: change on disk → page DOM, ${plan.dashboard.runs} changes; server RSS with ${plan.dashboard.pages} pages open`);
    results.dashboard = await dashboardCost(space, opts.cli, plan.dashboard);
  }
  return results;
}

async function main() {
  const opts = options();
  if (opts.build) build();
  if (!existsSync(opts.cli)) throw new Error(`${opts.cli} does not exist; run npm run build first`);
  const plan = PLANS[opts.quick ? 'quick' : 'full'];
  const started = nowMs();
  // Every Node process parses NODE_EXTRA_CA_CERTS' file at start (about 80 ms for a 220 KB bundle
  // here); orch never uses TLS, and the users it is measured for do not set it. Left in, it would
  // inflate `node -e 0` and make every ratio against it look better than a user sees.
  const caCerts = process.env.NODE_EXTRA_CA_CERTS;
  delete process.env.NODE_EXTRA_CA_CERTS;
  const machine = {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? '?',
    ...(caCerts !== undefined ? { unset: 'NODE_EXTRA_CA_CERTS' } : {}),
  };
  const loadBefore = loadavg();
  const space = new BenchSpace(PROJECT);
  let results;
  try {
    results = await runSections(space, opts, plan);
  } finally {
    await space.cleanup();
  }
  const report = {
    machine,
    mode: opts.quick ? 'quick' : 'full',
    cli: opts.cli,
    loadAverage: { before: loadBefore, after: loadavg() },
    durationS: (nowMs() - started) / 1000,
    rows: buildRows(results),
    results,
  };
  if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(formatTable(report) + '\n');
  if (results.mutations && results.mutations.levels.some((l) => l.lostState + l.lostLog > 0)) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
