#!/usr/bin/env node
/**
 * Chaos check for the daemon's crash safety (issues 5 and 10). In a throwaway git repo with a
 * workflow of many items and several sessions, each round runs two kinds of writers at once while
 * the daemon is SIGKILLed at random moments:
 *   - persistent connections (the client library, OrchClient, which reconnects and restarts the
 *     daemon by itself) sending item/complete, checkpoint/create and feedback/add back to back, so a
 *     kill lands while requests are in flight: the killer waits until one is, then kills (a kill
 *     "hit a request in flight" when a request outstanding at that moment failed with its connection);
 *   - `orch` CLI processes doing the same (complete, checkpoint, feedback add).
 * Every acknowledged operation (a reply, or exit 0) is recorded. At the end, with the daemon
 * stopped, every file under .orchestrator/ is parsed (state.json, meta.json, checkpoints/*.json,
 * log.jsonl and feedback/*.jsonl line by line) and each acknowledged operation must be there:
 * the item completed in state.json with its item_completed event in log.jsonl, the checkpoint file
 * with its message, the feedback line with its text. After each round the daemon is also killed
 * once while quiet and the time until the next `orch status` answers is measured (recoveryMs).
 * With --mode no-daemon the victims are in-process CLI commands (ORCH_DAEMON=0) instead.
 *
 * Bounded in rounds and time (defaults finish well under 2 minutes); Unix sockets only, in a
 * private socket directory; nothing leaves the temp repo. Needs a build (npm run build).
 *
 *   node scripts/chaos.mjs [--rounds 5] [--max-seconds 80] [--clients 3] [--connections 6] [--ops 20]
 *                          [--kills 3] [--sessions 4] [--mode daemon|no-daemon] [--seed N] [--keep]
 *
 * Prints kills (and how many hit a request in flight), acknowledged operations by kind, and
 * losses. Exits 1 when anything acknowledged is lost, a file does not parse, a command hangs or
 * fails unexpectedly, or when the run proved nothing: no kill, no kill mid-request, or no
 * acknowledged operation of some kind.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../dist/client/orch.cjs', import.meta.url));
const LIB = new URL('../dist/client/lib.js', import.meta.url);
const opts = parseOptions(process.argv.slice(2));
let seed = opts.seed;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseOptions(argv) {
  const o = { rounds: 5, maxSeconds: 80, clients: 3, connections: 6, ops: 20, kills: 3, sessions: 4, mode: 'daemon', seed: Date.now() % 2147483647, keep: false };
  const names = {
    '--rounds': 'rounds', '--max-seconds': 'maxSeconds', '--clients': 'clients', '--connections': 'connections',
    '--ops': 'ops', '--kills': 'kills', '--sessions': 'sessions', '--seed': 'seed',
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--keep') o.keep = true;
    else if (argv[i] === '--mode') o.mode = argv[++i];
    else if (names[argv[i]]) o[names[argv[i]]] = Number(argv[++i]);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  if (!['daemon', 'no-daemon'].includes(o.mode)) throw new Error('--mode is daemon or no-daemon');
  if (o.mode === 'no-daemon') o.connections = 0;
  return o;
}

if (!existsSync(CLI) || !existsSync(fileURLToPath(LIB))) {
  process.stderr.write('chaos: dist/client is missing; run npm run build first.\n');
  process.exit(2);
}
const lib = await import(LIB.href);

const root = mkdtempSync('/tmp/orch-chaos-');
const socketDir = join(mkdtempSync('/tmp/orch-chaos-sock-'), 's');
// Items per session: completes are spread over the sessions; per round at most `ops` CLI operations
// plus `ops` per connection. Kept no larger than needed: every complete rewrites state.json whole.
const ITEMS = Math.ceil((opts.rounds * (opts.ops + opts.connections * opts.ops)) / opts.sessions) + 50;
const env = { ...process.env, ORCH_DAEMON: opts.mode === 'daemon' ? '1' : '0', ORCH_SOCKET_DIR: socketDir, ORCH_IDLE_TIMEOUT_MS: '120000' };
delete env.ORCH_SESSION;
delete env.ORCH_ROOT;
const running = new Set();
const clients = [];

const stats = {
  rounds: 0,
  kills: 0,
  killsMidRequest: 0,
  quietKills: 0,
  attempted: 0,
  acknowledged: { complete: 0, checkpoint: 0, feedback: 0 },
  unacknowledged: 0,
  interruptedRequests: 0,
  anomalies: [],
  recoveries: [],
};
/** Acknowledged operations: { kind, sessionId, item | tag, checkpointId? }. */
const acked = [];
/** Persistent-connection requests sent and not yet answered (what a kill can hit). */
const inFlight = new Set();
/** Kills (by number) that interrupted a request: one in flight when it fell failed with the connection. */
const killsThatHit = new Set();
let nextTag = 0;
let nextItem = 0;

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

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Kills the victim of this mode: the daemon, or a random in-process command. Returns the pid killed, or null. */
function killVictim() {
  if (opts.mode === 'daemon') {
    const pid = daemonPid();
    if (!pid || !isAlive(pid)) return null;
    try {
      process.kill(pid, 'SIGKILL');
      return pid;
    } catch {
      return null;
    }
  }
  const list = [...running];
  if (list.length === 0) return null;
  const victim = list[Math.floor(random() * list.length)];
  victim.kill('SIGKILL');
  return victim.pid;
}

/** The next operation: mostly item completes, some checkpoints and feedback. */
function nextOp(sessions) {
  const r = random();
  const tag = `chaos-${nextTag++}`;
  if (r < 0.2) return { kind: 'checkpoint', sessionId: sessions[nextTag % sessions.length], tag };
  if (r < 0.4) return { kind: 'feedback', sessionId: sessions[nextTag % sessions.length], tag };
  const i = nextItem++;
  return { kind: 'complete', sessionId: sessions[i % sessions.length], item: `item_${Math.floor(i / sessions.length)}` };
}

function acknowledge(op, extra = {}) {
  stats.acknowledged[op.kind] += 1;
  acked.push({ ...op, ...extra });
}

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
  for (let i = 0; i < opts.connections; i++) {
    clients.push(await lib.OrchClient.connect({ root, env }));
  }
  return sessions;
}

/** A CLI worker: one `orch` process per operation. */
async function cliWorker(round, queue) {
  for (let op = queue.shift(); op; op = queue.shift()) {
    stats.attempted += 1;
    const args =
      op.kind === 'complete' ? ['complete', op.item, '--session', op.sessionId, '-q']
      : op.kind === 'checkpoint' ? ['checkpoint', '-m', op.tag, '-d', `decision ${op.tag}`, '--session', op.sessionId, '--json']
      : ['feedback', 'add', op.tag, '--kind', random() < 0.5 ? 'tool' : 'process', '--session', op.sessionId, '-q'];
    const res = await orch(args);
    if (res.code === 0) {
      if (op.kind === 'checkpoint') {
        try {
          acknowledge(op, { checkpointId: JSON.parse(res.stdout).checkpoint.checkpointId });
        } catch {
          stats.anomalies.push(`round ${round}: orch checkpoint printed no checkpoint id: ${res.stdout.slice(0, 300)}`);
        }
      } else acknowledge(op);
    } else if (res.hung) stats.anomalies.push(`round ${round}: orch ${args.join(' ')} hung`);
    else if (res.code === 3 || String(res.code).startsWith('signal')) stats.unacknowledged += 1;
    else stats.anomalies.push(`round ${round}: orch ${args.join(' ')} exited ${res.code}: ${res.stderr.trim()}`);
  }
}

/** True for the errors a request gets when its daemon dies under it (not executed, or not known to be). */
function isConnectionLoss(err) {
  const code = err?.code;
  const text = String(err?.message ?? err);
  return code === -32097 || err?.name === 'ConnectionError' || /disposed|closed|ECONNRESET|EPIPE|ShuttingDown/i.test(text) || code === 1301;
}

/** A persistent-connection worker: requests back to back over one OrchClient until `ops` or the round ends. */
async function connectionWorker(round, client, sessions, isDone) {
  for (let n = 0; n < opts.ops && !isDone(); n++) {
    const op = nextOp(sessions);
    stats.attempted += 1;
    inFlight.add(op);
    try {
      if (op.kind === 'complete') {
        await client.request(lib.ItemCompleteRequest, { sessionId: op.sessionId, itemId: op.item });
        acknowledge(op);
      } else if (op.kind === 'checkpoint') {
        const res = await client.request(lib.CheckpointCreateRequest, { sessionId: op.sessionId, message: op.tag, decisions: [`decision ${op.tag}`] });
        acknowledge(op, { checkpointId: res.checkpoint.checkpointId });
      } else {
        await client.request(lib.FeedbackAddRequest, { sessionId: op.sessionId, text: op.tag, kind: random() < 0.5 ? 'tool' : 'process' });
        acknowledge(op);
      }
    } catch (err) {
      if (isConnectionLoss(err)) {
        stats.unacknowledged += 1;
        stats.interruptedRequests += 1;
        if (op.killNumber !== undefined) killsThatHit.add(op.killNumber);
      } else stats.anomalies.push(`round ${round}: ${op.kind} ${op.item ?? op.tag} over a connection failed: ${err?.code ?? ''} ${err?.message ?? err}`);
    } finally {
      inFlight.delete(op);
    }
  }
}

/** Kills the daemon `opts.kills` times during the round, each time once a request is in flight. */
async function killer(round, isDone) {
  for (let k = 0; k < opts.kills && !isDone(); k++) {
    await sleep(150 + random() * 700);
    // Wait (up to 2 s) for a request in flight on a persistent connection, so the kill hits one.
    const deadline = Date.now() + 2000;
    while (opts.connections > 0 && inFlight.size === 0 && !isDone() && Date.now() < deadline) await sleep(1);
    if (isDone()) break;
    const pending = [...inFlight];
    const pid = killVictim();
    if (!pid) continue;
    stats.kills += 1;
    // Daemon mode: the kill counts as mid-request once a request in flight at that moment fails
    // with its connection (a request still waiting for a reconnect would not). No-daemon mode: the
    // victim is a running command.
    if (opts.mode === 'no-daemon') killsThatHit.add(stats.kills);
    else for (const op of pending) op.killNumber ??= stats.kills;
    // Let a new daemon come up before the next kill (clients restart it).
    const up = Date.now() + 15_000;
    while (opts.mode === 'daemon' && !isDone() && Date.now() < up) {
      const now = daemonPid();
      if (now && now !== pid && isAlive(now)) break;
      await sleep(5);
    }
  }
}

async function storm(round, sessions) {
  const queue = Array.from({ length: opts.ops }, () => nextOp(sessions));
  let cliDone = false;
  let done = false;
  const isDone = () => done;
  const cli = Promise.all(Array.from({ length: opts.clients }, () => cliWorker(round, queue))).then(() => (cliDone = true));
  const conns = Promise.all(clients.map((c) => connectionWorker(round, c, sessions, () => done || (cliDone && opts.clients > 0))));
  const kill = killer(round, isDone);
  await Promise.all([cli, conns]);
  done = true;
  await kill;
}

/** Kill while quiet, then time the next orch call until it answers. */
async function measureRecovery() {
  if (opts.mode === 'daemon') {
    if (!daemonPid()) await orch(['status', '-q']);
    if (!killVictim()) return;
    stats.kills += 1;
    stats.quietKills += 1;
  }
  const started = Date.now();
  const res = await orch(['status', '--json']);
  if (res.code !== 0) stats.anomalies.push(`recovery probe exited ${res.code}: ${res.stderr.trim()}`);
  else stats.recoveries.push(Date.now() - started);
}

/** Parses every file orch keeps under .orchestrator/ and checks each acknowledged operation is there. */
function verify(sessions) {
  const losses = [];
  const broken = [];
  const parsedFiles = { json: 0, jsonlLines: 0 };
  const rel = (p) => relative(root, p);
  const parse = (path, text) => {
    try {
      return JSON.parse(text);
    } catch (err) {
      broken.push(`${rel(path)}: ${err.message}`);
      return null;
    }
  };
  const readJson = (path) => {
    parsedFiles.json += 1;
    return parse(path, readFileSync(path, 'utf8'));
  };
  const readJsonl = (path) => {
    const text = readFileSync(path, 'utf8');
    if (text === '') return [];
    if (!text.endsWith('\n')) broken.push(`${rel(path)}: last line is torn`);
    return text.trimEnd().split('\n').map((l) => {
      parsedFiles.jsonlLines += 1;
      return parse(path, l);
    });
  };
  // Every file: JSON files whole, JSON-lines files line by line. The daemon's own log and output
  // are diagnostics written without fsync, so they are not held to this; a quarantined file is.
  const stray = [];
  const quarantined = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.json\.\d+$|^current\.\d+$|\.jsonl\.\d+$/.test(e.name)) stray.push(rel(p));
      else if (/\.corrupt-/.test(e.name)) quarantined.push(rel(p));
      else if (/^daemon\.(log|out)(\.\d+)?$/.test(e.name)) continue;
      else if (e.name.endsWith('.jsonl')) readJsonl(p);
      else if (e.name.endsWith('.json')) readJson(p);
    }
  };
  walk(join(root, '.orchestrator'));
  for (const q of quarantined) broken.push(`${q}: a file was found corrupt and moved aside`);

  for (const id of sessions) {
    const dir = join(root, '.orchestrator', 'sessions', id);
    const mine = acked.filter((a) => a.sessionId === id);
    let state = null;
    try {
      state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    } catch (err) {
      if (err.code === 'ENOENT') broken.push(`${rel(dir)}/state.json: missing`);
      // otherwise reported by the walk above
    }
    const events = existsSync(join(dir, 'log.jsonl')) ? readFileSync(join(dir, 'log.jsonl'), 'utf8').trimEnd().split('\n').map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return null;
      }
    }) : [];
    const logged = new Set(events.filter((e) => e?.event_type === 'item_completed').map((e) => e.item_id));
    const feedbackTexts = new Set();
    for (const kind of ['tool', 'process']) {
      const f = join(dir, 'feedback', `${kind}.jsonl`);
      if (!existsSync(f)) continue;
      for (const l of readFileSync(f, 'utf8').trimEnd().split('\n')) {
        try {
          feedbackTexts.add(JSON.parse(l).text);
        } catch {
          // reported by the walk above
        }
      }
    }
    for (const a of mine) {
      if (a.kind === 'complete') {
        if (state?.phases?.WORK?.items?.[a.item]?.status !== 'completed') losses.push(`${id} ${a.item}: not completed in state.json`);
        if (!logged.has(a.item)) losses.push(`${id} ${a.item}: no item_completed in log.jsonl`);
      } else if (a.kind === 'checkpoint') {
        const f = join(dir, 'checkpoints', `${a.checkpointId}.json`);
        if (!existsSync(f)) losses.push(`${id} checkpoint ${a.checkpointId} (${a.tag}): file missing`);
        else {
          let cp = null;
          try {
            cp = JSON.parse(readFileSync(f, 'utf8'));
          } catch {
            // reported by the walk above
          }
          if (cp && cp.message !== a.tag) losses.push(`${id} checkpoint ${a.checkpointId}: message ${JSON.stringify(cp.message)}, expected ${a.tag}`);
        }
      } else if (!feedbackTexts.has(a.tag)) losses.push(`${id} feedback ${a.tag}: not in feedback/*.jsonl`);
    }
  }
  return { losses, broken, stray, parsedFiles };
}

async function main() {
  const t0 = Date.now();
  process.stdout.write(`chaos: mode ${opts.mode}, repo ${root}, seed ${opts.seed}, ${opts.connections} persistent connections, ${opts.clients} CLI workers\n`);
  const sessions = await setUp();
  for (let round = 1; round <= opts.rounds; round++) {
    if ((Date.now() - t0) / 1000 > opts.maxSeconds) break;
    await storm(round, sessions);
    await measureRecovery();
    stats.rounds = round;
    const a = stats.acknowledged;
    process.stdout.write(`  round ${round}: ${a.complete + a.checkpoint + a.feedback} acknowledged so far, ${stats.kills} kills (${killsThatHit.size} mid-request), ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  for (const c of clients) c.close();
  stats.killsMidRequest = killsThatHit.size;
  // A fresh start cleans what the kills left behind, then stop in order and check the files at rest.
  const final = await orch(['status', '--json']);
  if (final.code !== 0) stats.anomalies.push(`final status exited ${final.code}: ${final.stderr.trim()}`);
  await orch(['daemon', 'stop'], { ORCH_DAEMON: '1' });
  const { losses, broken, stray, parsedFiles } = verify(sessions);
  const cleaned = ['daemon.log.1', 'daemon.log']
    .map((f) => join(root, '.orchestrator', f))
    .filter((f) => existsSync(f))
    .flatMap((f) => readFileSync(f, 'utf8').split('\n'))
    .filter((l) => l.includes('removed stray temp files'))
    .reduce((n, l) => {
      try {
        return n + (JSON.parse(l).removed?.length ?? 0);
      } catch {
        return n;
      }
    }, 0);
  const rec = [...stats.recoveries].sort((a, b) => a - b);
  const ack = stats.acknowledged;
  const acknowledged = ack.complete + ack.checkpoint + ack.feedback;
  // A run that killed nothing, hit no request, or acknowledged nothing of some kind proved nothing.
  const vacuous = [];
  if (stats.kills === 0) vacuous.push('no kill happened');
  if (opts.mode === 'daemon' && opts.connections > 0 && stats.killsMidRequest === 0) vacuous.push('no kill hit a request in flight');
  for (const kind of ['complete', 'checkpoint', 'feedback']) if (ack[kind] === 0) vacuous.push(`no ${kind} operation was acknowledged`);
  const summary = {
    mode: opts.mode,
    seed: opts.seed,
    rounds: stats.rounds,
    kills: stats.kills,
    killsMidRequest: stats.killsMidRequest,
    quietKills: stats.quietKills,
    attempted: stats.attempted,
    acknowledged,
    acknowledgedByKind: ack,
    unacknowledged: stats.unacknowledged,
    interruptedRequests: stats.interruptedRequests,
    losses: losses.length,
    parsed: parsedFiles,
    unparsableFiles: broken.length,
    strayTempFiles: stray.length,
    tempFilesCleanedAtStart: cleaned,
    anomalies: stats.anomalies.length,
    recoveryMs: rec.length ? { median: rec[Math.floor(rec.length / 2)], max: rec.at(-1) } : null,
    seconds: Number(((Date.now() - t0) / 1000).toFixed(1)),
  };
  process.stdout.write(
    `\nkills ${summary.kills} (${summary.killsMidRequest} hit a request in flight, ${summary.quietKills} while quiet), ` +
      `acknowledged ${acknowledged} (${ack.complete} completes, ${ack.checkpoint} checkpoints, ${ack.feedback} feedback), ` +
      `lost ${summary.losses}, unparsable files ${summary.unparsableFiles}\n`,
  );
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  for (const line of [...losses, ...broken, ...stray.map((s) => `stray temp file ${s}`), ...stats.anomalies, ...vacuous]) process.stdout.write(`  ! ${line}\n`);
  const failed = losses.length + broken.length + stray.length + stats.anomalies.length + vacuous.length > 0;
  process.stdout.write(failed ? 'chaos: FAILED\n' : 'chaos: passed\n');
  if (!opts.keep) {
    rmSync(root, { recursive: true, force: true });
    rmSync(join(socketDir, '..'), { recursive: true, force: true });
  } else process.stdout.write(`kept ${root}\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`chaos: ${err.stack ?? err}\n`);
    for (const c of running) c.kill('SIGKILL');
    for (const c of clients) c.close();
    if (!opts.keep) {
      const pid = daemonPid();
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      rmSync(root, { recursive: true, force: true });
      rmSync(join(socketDir, '..'), { recursive: true, force: true });
    }
    process.exit(1);
  },
);
