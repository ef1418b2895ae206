/**
 * The daemon-side measurements of scripts/bench.mjs: durable mutations under concurrent clients
 * (checked for lost updates on disk) next to plain atomic writes, and `orch sessions` on
 * repositories with many sessions generated directly on disk.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { manyItemsWorkflow, median, nowMs, rssMb, summarize, timeRun, withTimeout } from './bench-lib.mjs';

const sessionDir = (root, id) => join(root, '.orchestrator', 'sessions', id);

/** Completes every (session, item) pair of `queue` with `clients` persistent connections. */
async function completeAll(space, root, queue, clients) {
  const lib = await space.lib();
  const conns = await Promise.all(Array.from({ length: clients }, () => space.connect(root)));
  const acked = [];
  const latency = [];
  const errors = [];
  let next = 0;
  const start = nowMs();
  await Promise.all(
    conns.map(async (c) => {
      while (next < queue.length) {
        const [sessionId, itemId] = queue[next++];
        const t = nowMs();
        try {
          await c.request(lib.ItemCompleteRequest, { sessionId, itemId, notes: `completed by benchmark client` });
          acked.push([sessionId, itemId]);
          latency.push(nowMs() - t);
        } catch (err) {
          errors.push(err.message);
        }
      }
    }),
  );
  const elapsedMs = nowMs() - start;
  for (const c of conns) c.close();
  return { acked, latency, errors, elapsedMs };
}

/** Acknowledged completions missing from state.json, and from log.jsonl, after the run. */
function countLost(root, sessions, acked) {
  let lostState = 0;
  let lostLog = 0;
  const sizes = [];
  for (const id of sessions) {
    const text = readFileSync(join(sessionDir(root, id), 'state.json'), 'utf8');
    sizes.push(Buffer.byteLength(text));
    const items = JSON.parse(text).phases.WORK.items;
    const logged = new Set(
      readFileSync(join(sessionDir(root, id), 'log.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('item_completed'))
        .map((l) => JSON.parse(l).item_id),
    );
    for (const [sid, itemId] of acked) {
      if (sid !== id) continue;
      if (items[itemId]?.status !== 'completed') lostState++;
      if (!logged.has(itemId)) lostLog++;
    }
  }
  return { lostState, lostLog, stateBytes: median(sizes) };
}

/** Plain write-file-atomic (fsync) + directory fsync of a `bytes`-sized file, `parallel` writers. */
export async function plainWriteRate(dir, bytes, { writes, parallel }) {
  mkdirSync(dir, { recursive: true });
  const data = JSON.stringify({ pad: 'x'.repeat(Math.max(0, bytes - 12)) });
  const each = Math.ceil(writes / parallel);
  const start = nowMs();
  await Promise.all(
    Array.from({ length: parallel }, async (_, w) => {
      for (let i = 0; i < each; i++) {
        await writeFileAtomic(join(dir, `state-${w}.json`), data, { fsync: true });
        const h = await open(dir, 'r');
        await h.sync();
        await h.close();
      }
    }),
  );
  return { writes: each * parallel, perSecond: (each * parallel) / ((nowMs() - start) / 1000) };
}

/**
 * (4) Durable mutations. For each client count, `sessions` fresh sessions of a one-phase workflow
 * with `itemsPerSession` items; the (session, item) pairs are dealt round-robin over the sessions
 * and every client (its own persistent connection) takes the next pair, so with 32 clients on 8
 * sessions four clients at a time contend for each session. Then every acknowledged completion
 * is looked up in state.json and log.jsonl.
 */
export async function durableMutations(space, { levels, sessions: sessionCount, opsPerLevel, itemsPerSession, plainWrites }) {
  const perSession = Math.ceil(opsPerLevel / sessionCount);
  if (perSession > itemsPerSession) throw new Error(`${opsPerLevel} completes over ${sessionCount} sessions need more than ${itemsPerSession} items each`);
  const root = space.repo('mutations');
  writeFileSync(join(root, 'workflow.yaml'), manyItemsWorkflow(itemsPerSession));
  const lib = await space.lib();
  const admin = await space.connect(root);
  const results = [];
  for (const clients of levels) {
    const sessions = [];
    for (let s = 0; s < sessionCount; s++) {
      sessions.push((await admin.request(lib.SessionStartRequest, { task: `Benchmark ${clients} clients, session ${s}` })).sessionId);
    }
    const queue = [];
    for (let j = 0; j < perSession; j++) for (const id of sessions) queue.push([id, `item_${j}`]);
    const run = await completeAll(space, root, queue, clients);
    const check = countLost(root, sessions, run.acked);
    results.push({
      clients,
      sessions: sessions.length,
      ops: run.acked.length,
      perSecond: run.acked.length / (run.elapsedMs / 1000),
      latencyMs: summarize(run.latency),
      errors: run.errors.length,
      firstError: run.errors[0],
      ...check,
    });
  }
  await space.stopDaemon(root, admin);
  const bytes = Math.max(...results.map((r) => r.stateBytes));
  const plain = await plainWriteRate(join(space.base, 'plain-writes'), bytes, { writes: plainWrites, parallel: 1 });
  const plainParallel = await plainWriteRate(join(space.base, 'plain-writes'), bytes, { writes: plainWrites, parallel: 8 });
  space.removeRepo(root);
  return { levels: results, itemsPerSession, stateBytes: bytes, plain, plainParallel };
}

/** Naive local time with microseconds, as orch writes a session's `created_at`. */
function naiveLocal(d) {
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000`;
}

/** Real sessions written by orch (state.json, log.jsonl) in a template repo, to copy from. */
export async function makeTemplates(space, count) {
  const root = space.repo('templates');
  const lib = await space.lib();
  const client = await space.connect(root);
  const templates = [];
  for (let k = 0; k < count; k++) {
    const { sessionId } = await client.request(lib.SessionStartRequest, { task: `Template task ${k}: add rate limiting to endpoint ${k}` });
    if (k % 2 === 1) await client.request(lib.ItemCompleteRequest, { sessionId, itemId: 'clarify_requirements', notes: 'asked the team' });
    const dir = sessionDir(root, sessionId);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    templates.push({ state: readFileSync(join(dir, 'state.json')), log: readFileSync(join(dir, 'log.jsonl')), meta });
  }
  const orchDir = join(root, '.orchestrator');
  const repoMeta = JSON.parse(readFileSync(join(orchDir, 'meta.json'), 'utf8'));
  const gitignore = readFileSync(join(orchDir, '.gitignore'));
  await space.stopDaemon(root, client);
  space.removeRepo(root);
  return { templates, repoMeta, gitignore };
}

/**
 * Writes `n` sessions straight into `root/.orchestrator/sessions/`, each a copy of a template with
 * its own id and meta.json. Whatever orch keeps in meta.json is kept; a `summary.state_key` (the
 * state file's `<mtimeMs>:<size>`) is recomputed for the copy, as orch would have written it.
 */
export function generateSessions(root, n, tpl) {
  const start = nowMs();
  const orchDir = join(root, '.orchestrator');
  mkdirSync(join(orchDir, 'sessions'), { recursive: true });
  writeFileSync(join(orchDir, 'meta.json'), JSON.stringify({ ...tpl.repoMeta, repo_root: root }, null, 2));
  writeFileSync(join(orchDir, '.gitignore'), tpl.gitignore);
  const ids = new Set();
  while (ids.size < n) ids.add(randomBytes(4).toString('hex'));
  const t0 = Date.now();
  let i = 0;
  let newest = '';
  for (const id of ids) {
    const dir = sessionDir(root, id);
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    mkdirSync(join(dir, 'feedback'));
    const t = tpl.templates[i % tpl.templates.length];
    writeFileSync(join(dir, 'state.json'), t.state);
    writeFileSync(join(dir, 'log.jsonl'), t.log);
    const meta = { ...t.meta, session_id: id, created_at: naiveLocal(new Date(t0 - (n - i) * 60_000)), repo_root: root };
    if (meta.summary && typeof meta.summary === 'object' && 'state_key' in meta.summary) {
      const st = statSync(join(dir, 'state.json'));
      meta.summary = { ...meta.summary, state_key: `${st.mtimeMs}:${st.size}` };
    }
    writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
    newest = id;
    i++;
  }
  writeFileSync(join(orchDir, 'current'), newest);
  return nowMs() - start;
}

/** Times `session/list` with `params` on `client`, or returns an Error after `timeoutMs`. */
async function timedList(client, lib, timeoutMs, params) {
  const t = nowMs();
  const r = await withTimeout(client.request(lib.SessionListRequest, params), timeoutMs, () => null).catch((e) => e);
  if (r === null) return new Error(`no answer within ${timeoutMs} ms`);
  return r instanceof Error ? r : { ms: nowMs() - t, listed: r.sessions.length, total: r.total };
}

/** Median time of `runs` lists with `params`. */
async function warmLists(client, lib, opts, params) {
  const times = [];
  for (let i = 0; i < opts.warmLists; i++) times.push((await timedList(client, lib, opts.firstListTimeoutMs, params)).ms);
  return summarize(times);
}

/** Median time of the whole CLI `orch sessions <args> --json`, checking it listed `expected` rows. */
function cliLists(space, cli, root, opts, args, expected) {
  const times = [];
  for (let i = 0; i < opts.cliRuns; i++) {
    const r = timeRun([process.execPath, cli, 'sessions', ...args, '--json'], { cwd: root, env: space.env() });
    const listed = JSON.parse(r.stdout).length;
    if (listed !== expected) throw new Error(`orch sessions ${args.join(' ')} --json listed ${listed} sessions, expected ${expected}`);
    times.push(r.ms);
  }
  return summarize(times);
}

/**
 * One size. The generated repo has never seen a daemon, so the first one builds whatever it keeps
 * per session: its start and first list are shown as such. Then warm lists and the whole CLI as
 * `orch sessions` runs them (the newest 20), RSS, then every session (`--all`) and RSS again, then
 * a restart (as after an idle exit) and its first list, the case a kept summary should make fast.
 */
async function measureSize(space, cli, tpl, n, opts) {
  const root = space.repo(`sessions-${n}`);
  const out = { sessions: n, generateMs: generateSessions(root, n, tpl) };
  const lib = await space.lib();
  // What `orch sessions` asks the daemon for: the newest page.
  const PAGE = { limit: lib.SESSION_LIST_PAGE };
  let d = await space.spawnDaemon(root);
  Object.assign(out, { startMs: d.ms, rssStartMb: rssMb(d.pid) });
  const first = await timedList(d.client, lib, opts.firstListTimeoutMs, PAGE);
  if (first instanceof Error || first.total !== n) {
    out.error = first instanceof Error ? `first list: ${first.message}` : `the daemon counted ${first.total} sessions, not ${n}`;
    await space.waitExit(d.pid, 0, 'SIGKILL');
    space.removeRepo(root);
    return out;
  }
  Object.assign(out, { firstListMs: first.ms, listed: first.listed, page: PAGE.limit });
  out.warmListMs = await warmLists(d.client, lib, opts, PAGE);
  out.cliMs = cliLists(space, cli, root, opts, [], Math.min(n, PAGE.limit));
  out.rssMb = rssMb(d.pid);
  out.allListMs = await warmLists(d.client, lib, opts, {});
  out.cliAllMs = cliLists(space, cli, root, opts, ['--all'], n);
  out.rssAllMb = rssMb(d.pid);
  await space.stopDaemon(root, d.client);
  d = await space.spawnDaemon(root);
  out.restartMs = d.ms;
  const again = await timedList(d.client, lib, opts.firstListTimeoutMs, PAGE);
  out.restartListMs = again instanceof Error ? null : again.ms;
  out.rssMb = Math.max(out.rssMb ?? 0, rssMb(d.pid) ?? 0);
  await space.stopDaemon(root, d.client);
  space.removeRepo(root);
  return out;
}

/** (5) `orch sessions` with each of `sizes` sessions in the repo. */
export async function sessionsAtScale(space, cli, opts) {
  const tpl = await makeTemplates(space, 20);
  const stateBytes = median(tpl.templates.map((t) => t.state.length));
  const sizes = [];
  for (const n of opts.sizes) sizes.push(await measureSize(space, cli, tpl, n, opts));
  return { stateBytes, sizes };
}
