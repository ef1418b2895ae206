/**
 * The client-facing measurements of scripts/bench.mjs: the one-shot CLI warm and cold, the round
 * trip on a persistent connection, and how soon a subscriber hears of a change.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { manyItemsWorkflow, nowMs, summarize, timeRun, withTimeout } from './bench-lib.mjs';

const NODE_FLOOR = [process.execPath, '-e', '0'];

/** A repo with one session of the bundled default workflow (14 items), its daemon running. */
export async function statusRepo(space) {
  const root = space.repo('status');
  const client = await space.connect(root);
  const lib = await space.lib();
  await client.request(lib.SessionStartRequest, { task: 'Benchmark status' });
  client.close();
  return root;
}

/**
 * (1) `orch status` with the daemon running, whole-process wall time, each run next to a
 * `node -e 0` run so both see the same machine load. `extraClis` (e.g. the unbundled entry) are
 * interleaved too, for comparison only.
 */
export async function warmStatus(space, cli, root, { runs, extraClis = [] }) {
  const env = space.env();
  const clis = [cli, ...extraClis];
  // Warm-up: fills the OS page cache and the client's code cache for `status`.
  for (const c of clis) for (let i = 0; i < 3; i++) timeRun([process.execPath, c, 'status'], { cwd: root, env });
  const floor = [];
  const times = clis.map(() => []);
  for (let i = 0; i < runs; i++) {
    floor.push(timeRun(NODE_FLOOR).ms);
    clis.forEach((c, j) => times[j].push(timeRun([process.execPath, c, 'status'], { cwd: root, env }).ms));
  }
  return { floor: summarize(floor), status: summarize(times[0]), extra: extraClis.map((c, j) => ({ cli: c, ...summarize(times[j + 1]) })) };
}

/**
 * (2) `orch status` with no daemon running: the client finds none, starts one and waits for it.
 * The daemon is stopped (and gone) before every run.
 */
export async function coldStatus(space, cli, root, { runs }) {
  const env = space.env();
  const floor = [];
  const times = [];
  for (let i = 0; i < runs; i++) {
    await space.stopDaemon(root);
    floor.push(timeRun(NODE_FLOOR).ms);
    times.push(timeRun([process.execPath, cli, 'status'], { cwd: root, env }).ms);
    space.track(root);
  }
  await space.stopDaemon(root);
  return { floor: summarize(floor), status: summarize(times) };
}

/**
 * (3) `session/status` round trips on one persistent connection (OrchClient, as an editor plugin
 * holds it), timed in a fresh Node process so the benchmark's own heap does not add GC pauses.
 */
export async function persistentStatus(space, root, { requests }) {
  const script = `
    const { OrchClient, SessionStatusRequest } = await import(process.env.BENCH_LIB);
    const client = await OrchClient.connect({ root: process.env.BENCH_ROOT, autoStart: false, reconnect: false });
    for (let i = 0; i < 200; i++) await client.request(SessionStatusRequest, {});
    const us = [];
    for (let i = 0; i < Number(process.env.BENCH_N); i++) {
      const t = process.hrtime.bigint();
      await client.request(SessionStatusRequest, {});
      us.push(Number(process.hrtime.bigint() - t) / 1e3);
    }
    client.close();
    process.stdout.write(JSON.stringify(us));`;
  const lib = pathToFileURL(join(space.projectRoot, 'dist', 'client', 'lib.js')).href;
  (await space.connect(root)).close(); // the daemon is running (started if need be)
  const env = space.env({ BENCH_LIB: lib, BENCH_ROOT: root, BENCH_N: String(requests) });
  const r = timeRun([process.execPath, '--input-type=module', '-e', script], { env });
  return summarize(JSON.parse(r.stdout));
}

/**
 * (6) A subscriber (OrchClient.subscribe) on one connection, items completed on another, one at a
 * time. The daemon answers the writer once the change is on disk, so the time from that answer to
 * session/didChange (with that item completed) reaching the subscriber is how late the subscriber
 * hears of a change (negative when it hears first). From sending the change it also includes the
 * durable write itself (measured in (4)).
 */
export async function notificationLatency(space, { changes }) {
  const root = space.repo('notify');
  const warmups = 5;
  writeFileSync(join(root, 'workflow.yaml'), manyItemsWorkflow(changes + warmups));
  const lib = await space.lib();
  const writer = await space.connect(root);
  const { sessionId } = await writer.request(lib.SessionStartRequest, { task: 'Benchmark notifications' });
  const subscriber = await space.connect(root);
  let waiting = null;
  subscriber.onNotification(lib.SessionChangedNotification, (e) => {
    const item = e.status?.items?.find((it) => it.id === waiting?.itemId);
    if (waiting && item?.status === 'completed') waiting.resolve(nowMs());
  });
  await subscriber.subscribe({ sessionId });
  const fromSend = [];
  const afterAck = [];
  let missed = 0;
  for (let i = 0; i < changes + warmups; i++) {
    const itemId = `item_${i}`;
    const heard = new Promise((resolve) => (waiting = { itemId, resolve }));
    const sent = nowMs();
    const acked = writer.request(lib.ItemCompleteRequest, { sessionId, itemId, notes: 'benchmark' }).then(() => nowMs());
    const [tHeard, tAck] = await Promise.all([withTimeout(heard, 5000, () => NaN), acked]);
    if (i < warmups) continue;
    if (Number.isNaN(tHeard)) missed++;
    else {
      fromSend.push(tHeard - sent);
      afterAck.push(tHeard - tAck);
    }
  }
  subscriber.close();
  await space.stopDaemon(root, writer);
  return { afterAck: summarize(afterAck), fromSend: summarize(fromSend), missed };
}
