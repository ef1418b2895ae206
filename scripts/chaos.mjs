#!/usr/bin/env node
/**
 * Chaos test for the daemon's crash safety (issue 5). In a throwaway git repo with a workflow of
 * many items, rounds of concurrent `orch complete` storms run against several sessions while the
 * daemon is SIGKILLed at random moments and restarted by the next client. Every acknowledged
 * change (exit 0) is recorded; at the end each must be in its session's state.json and log.jsonl,
 * and every file must parse. After each storm the daemon is also killed once while quiet, and the
 * time until the next `orch status` answers is measured (the "recovers within a second" figure).
 * With --mode no-daemon the victims are in-process commands (ORCH_DAEMON=0) instead of the daemon.
 *
 * Bounded in rounds and time; Unix sockets only (in a private socket directory); nothing leaves
 * the temp repo. Needs a build (npm run build).
 *
 *   node scripts/chaos.mjs [--rounds 10] [--max-seconds 150] [--clients 12] [--ops 36] [--sessions 4] [--mode daemon|no-daemon] [--seed N] [--keep]
 *
 * Prints rounds, kills, acknowledged operations and losses; exits 1 on any loss, unparsable file,
 * hung command, or unexpected error.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../dist/client/orch.cjs', import.meta.url));
const opts = parseOptions(process.argv.slice(2));
let seed = opts.seed;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

function parseOptions(argv) {
  const o = { rounds: 10, maxSeconds: 150, clients: 12, ops: 36, sessions: 4, mode: 'daemon', seed: Date.now() % 2147483647, keep: false };
  const names = { '--rounds': 'rounds', '--max-seconds': 'maxSeconds', '--clients': 'clients', '--ops': 'ops', '--sessions': 'sessions', '--seed': 'seed' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--keep') o.keep = true;
    else if (argv[i] === '--mode') o.mode = argv[++i];
    else if (names[argv[i]]) o[names[argv[i]]] = Number(argv[++i]);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  if (!['daemon', 'no-daemon'].includes(o.mode)) throw new Error('--mode is daemon or no-daemon');
  return o;
}

if (!existsSync(CLI)) {
  process.stderr.write('chaos: dist/client/orch.cjs is missing; run npm run build first.\n');
  process.exit(2);
}

const root = mkdtempSync('/tmp/orch-chaos-');
const socketDir = join(mkdtempSync('/tmp/orch-chaos-sock-'), 's');
const ITEMS = opts.rounds * opts.ops + 50;
const env = { ...process.env, ORCH_DAEMON: opts.mode === 'daemon' ? '1' : '0', ORCH_SOCKET_DIR: socketDir, ORCH_IDLE_TIMEOUT_MS: '120000' };
delete env.ORCH_SESSION;
delete env.ORCH_ROOT;
const running = new Set();

/** Runs orch; resolves with {code, stdout, stderr, ms}; a command that hangs 60 s is killed and reported. */
function orch(args, extraEnv = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += '\n[chaos: hung for 60 s, killed]';
      child.kill('SIGKILL');
    }, 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code: code ?? (signal ? `signal ${signal}` : null), stdout, stderr, ms: Date.now() - started, hung: stderr.includes('[chaos: hung') });
    });
  });
}

function daemonPid() {
  try {
    return JSON.parse(readFileSync(join(root, '.orchestrator', 'daemon.json'), 'utf8')).pid;
  } catch {
    return null;
  }
}

/** Kills the victim of this mode: the daemon, or a random in-process command. Returns true if one was killed. */
function killVictim() {
  if (opts.mode === 'daemon') {
    const pid = daemonPid();
    if (!pid) return false;
    try {
      process.kill(pid, 'SIGKILL');
      return true;
    } catch {
      return false;
    }
  }
  const list = [...running];
  if (list.length === 0) return false;
  list[Math.floor(random() * list.length)].kill('SIGKILL');
  return true;
}

const stats = { rounds: 0, kills: 0, attempted: 0, acknowledged: 0, unacknowledged: 0, anomalies: [], recoveries: [] };
const acked = []; // [sessionId, itemId]

async function setUp() {
  execFileSync('git', ['init', '-q'], { cwd: root });
  const items = Array.from({ length: ITEMS }, (_, i) => `      - id: item_${i}\n        name: "Item ${i}"\n`).join('');
  writeFileSync(join(root, 'workflow.yaml'), `name: "Chaos"\nversion: "1.0"\nphases:\n  - id: WORK\n    name: "Work"\n    items:\n${items}`);
  const sessions = [];
  for (let i = 0; i < opts.sessions; i++) {
    const res = await orch(['start', `Chaos session ${i}`, '--json']);
    if (res.code !== 0) throw new Error(`could not start a session: ${res.stderr}`);
    sessions.push(JSON.parse(res.stdout).sessionId);
  }
  return sessions;
}

async function storm(round, queue) {
  const worker = async () => {
    for (let op = queue.shift(); op; op = queue.shift()) {
      const [sessionId, itemId] = op;
      stats.attempted += 1;
      const res = await orch(['complete', itemId, '--session', sessionId, '-q']);
      if (res.code === 0) {
        stats.acknowledged += 1;
        acked.push(op);
      } else if (res.hung) stats.anomalies.push(`round ${round}: orch complete ${itemId} hung`);
      else if (res.code === 3 || String(res.code).startsWith('signal')) stats.unacknowledged += 1;
      else stats.anomalies.push(`round ${round}: orch complete ${itemId} --session ${sessionId} exited ${res.code}: ${res.stderr.trim()}`);
    }
  };
  let done = false;
  const killer = (async () => {
    const kills = 1 + Math.floor(random() * 2);
    for (let k = 0; k < kills && !done; k++) {
      await new Promise((r) => setTimeout(r, 100 + random() * 1200));
      if (!done && killVictim()) stats.kills += 1;
    }
  })();
  await Promise.all(Array.from({ length: opts.clients }, worker));
  done = true;
  await killer;
}

/** Kill while quiet, then time the next orch call until it answers. */
async function measureRecovery() {
  if (opts.mode === 'daemon') {
    if (!daemonPid()) await orch(['status', '-q']);
    if (!killVictim()) return;
    stats.kills += 1;
  }
  const started = Date.now();
  const res = await orch(['status', '--json']);
  if (res.code !== 0) stats.anomalies.push(`recovery probe exited ${res.code}: ${res.stderr.trim()}`);
  else stats.recoveries.push(Date.now() - started);
}

function verify(sessions) {
  const losses = [];
  const broken = [];
  const parse = (path, text = readFileSync(path, 'utf8')) => {
    try {
      return JSON.parse(text);
    } catch (err) {
      broken.push(`${path}: ${err.message}`);
      return null;
    }
  };
  for (const id of sessions) {
    const dir = join(root, '.orchestrator', 'sessions', id);
    const state = parse(join(dir, 'state.json'));
    parse(join(dir, 'meta.json'));
    const logText = readFileSync(join(dir, 'log.jsonl'), 'utf8');
    if (!logText.endsWith('\n')) broken.push(`${dir}/log.jsonl: last line is torn`);
    const logged = new Set(logText.trimEnd().split('\n').map((l) => parse(join(dir, 'log.jsonl'), l)).filter((e) => e?.event_type === 'item_completed').map((e) => e.item_id));
    for (const [sid, item] of acked.filter(([s]) => s === id)) {
      if (state?.phases?.WORK?.items?.[item]?.status !== 'completed') losses.push(`${sid} ${item}: not completed in state.json`);
      if (!logged.has(item)) losses.push(`${sid} ${item}: no item_completed in log.jsonl`);
    }
  }
  const stray = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (/\.json\.\d+$|^current\.\d+$/.test(e.name)) stray.push(join(d, e.name));
    }
  };
  walk(join(root, '.orchestrator'));
  return { losses, broken, stray };
}

async function main() {
  const t0 = Date.now();
  process.stdout.write(`chaos: mode ${opts.mode}, repo ${root}, seed ${opts.seed}\n`);
  const sessions = await setUp();
  let next = 0;
  for (let round = 1; round <= opts.rounds; round++) {
    if ((Date.now() - t0) / 1000 > opts.maxSeconds) break;
    const queue = Array.from({ length: opts.ops }, () => {
      const i = next++;
      return [sessions[i % sessions.length], `item_${Math.floor(i / sessions.length)}`];
    });
    await storm(round, queue);
    await measureRecovery();
    stats.rounds = round;
    process.stdout.write(`  round ${round}: ${stats.acknowledged} acknowledged so far, ${stats.kills} kills, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  // A fresh start cleans what the kills left behind, then stop in order and check the files at rest.
  const final = await orch(['status', '--json']);
  if (final.code !== 0) stats.anomalies.push(`final status exited ${final.code}: ${final.stderr.trim()}`);
  await orch(['daemon', 'stop'], { ORCH_DAEMON: '1' });
  const { losses, broken, stray } = verify(sessions);
  const cleaned = ['daemon.log.1', 'daemon.log']
    .map((f) => join(root, '.orchestrator', f))
    .filter((f) => existsSync(f))
    .flatMap((f) => readFileSync(f, 'utf8').split('\n'))
    .filter((l) => l.includes('removed stray temp files'))
    .reduce((n, l) => n + (JSON.parse(l).removed?.length ?? 0), 0);
  const rec = [...stats.recoveries].sort((a, b) => a - b);
  const summary = {
    mode: opts.mode,
    rounds: stats.rounds,
    kills: stats.kills,
    attempted: stats.attempted,
    acknowledged: stats.acknowledged,
    unacknowledged: stats.unacknowledged,
    losses: losses.length,
    unparsableFiles: broken.length,
    strayTempFiles: stray.length,
    tempFilesCleanedAtStart: cleaned,
    anomalies: stats.anomalies.length,
    recoveryMs: rec.length ? { median: rec[Math.floor(rec.length / 2)], max: rec.at(-1) } : null,
    seconds: Number(((Date.now() - t0) / 1000).toFixed(1)),
  };
  process.stdout.write(`\nrounds ${summary.rounds}, kills ${summary.kills}, acknowledged operations ${summary.acknowledged}, losses ${summary.losses}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  for (const line of [...losses, ...broken, ...stray.map((s) => `stray temp file ${s}`), ...stats.anomalies]) process.stdout.write(`  ! ${line}\n`);
  if (!opts.keep) {
    rmSync(root, { recursive: true, force: true });
    rmSync(join(socketDir, '..'), { recursive: true, force: true });
  }
  return losses.length + broken.length + stray.length + stats.anomalies.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`chaos: ${err.stack ?? err}\n`);
    for (const c of running) c.kill('SIGKILL');
    process.exit(1);
  },
);
