/**
 * (7) of scripts/bench.mjs: the daemon's memory under hostile connections (issue 10 §3). One
 * daemon with its default limits; `count` connections split evenly between four kinds of abuse:
 *
 *   header    never says hello; sends a header one byte every 100 ms, never finishing it
 *   body      never says hello; announces 1 MiB and sends 1,000,000 bytes of it, then waits
 *   silent    connects and sends nothing
 *   deaf      says hello, then sends 100 session/status requests every 2 s and never reads a reply
 *
 * While they hold (`holdMs`, past the daemon's 10 s hello and frame timeouts), a normal client
 * keeps asking on its own connection, and the whole `orch status` CLI runs now and then; both
 * must be answered within 1 s. The daemon's peak RSS (VmHWM) must stay under 200 MB. Afterwards,
 * with every hostile connection gone, the daemon's RSS and heap show what was returned.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { manyItemsWorkflow, nowMs, sleep, withTimeout } from './bench-lib.mjs';

const KINDS = ['header', 'body', 'silent', 'deaf'];

function procStatusMb(pid, field) {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** This process's soft limit on open files (`ulimit -n`), from /proc. */
export function openFileLimit() {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : null;
  } catch {
    return null;
  }
}

function frame(obj) {
  const body = Buffer.from(JSON.stringify(obj));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
}

/** Opens one hostile connection of `kind`; resolves once connected (retrying while the daemon's backlog is full). */
async function hostile(socketPath, kind, protocolVersion, stats) {
  for (let attempt = 0; ; attempt++) {
    const socket = await hostileOnce(socketPath, kind, protocolVersion, stats);
    if (socket.connected || attempt >= 50) return socket;
    await sleep(20);
  }
}

function hostileOnce(socketPath, kind, protocolVersion, stats) {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const timers = [];
    socket.connected = false;
    // A connect the daemon's backlog refused (EAGAIN) is retried by the caller.
    socket.on('error', () => resolve(socket));
    socket.on('close', () => {
      for (const t of timers) clearInterval(t);
      if (socket.connected) stats.closed[kind] += 1;
    });
    socket.once('connect', () => {
      socket.connected = true;
      // Read (and drop) what the daemon says, so its closing is seen; the deaf kind pauses below.
      socket.resume();
      stats.opened[kind] += 1;
      if (kind === 'header') {
        const header = 'Content-Length: 1' + '0'.repeat(4000);
        let i = 0;
        timers.push(setInterval(() => socket.destroyed || socket.write(header[i++ % header.length]), 100));
      } else if (kind === 'body') {
        socket.write(`Content-Length: ${1024 * 1024}\r\n\r\n`);
        socket.write(BODY);
      } else if (kind === 'deaf') {
        socket.pause();
        socket.write(frame({ jsonrpc: '2.0', id: 0, method: 'daemon/hello', params: { protocolVersion, clientVersion: 'bench: deaf' } }));
        let id = 1;
        const batch = () => Buffer.concat(Array.from({ length: 100 }, () => frame({ jsonrpc: '2.0', id: id++, method: 'session/status', params: {} })));
        socket.write(batch());
        timers.push(setInterval(() => socket.destroyed || socket.write(batch()), 2000));
      }
      resolve(socket);
    });
  });
}

const progress = (s) => process.stderr.write(`bench:     ${s}\n`);

const BODY = Buffer.alloc(1_000_000, 0x20);

/** `orch status`, whole process, without blocking this process's event loop (the hostile peers keep going). */
function cliStatus(cli, root, env) {
  const start = nowMs();
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'status'], { cwd: root, env, timeout: 30_000 }, (err) => resolve({ ms: nowMs() - start, ok: !err }));
  });
}

export async function hostileClients(space, cli, { count, holdMs, kinds = KINDS }) {
  const KINDS_USED = kinds;
  const fdLimit = openFileLimit();
  // This process holds one descriptor per hostile connection (the daemon, another process, as many).
  const usable = fdLimit === null ? count : Math.min(count, Math.max(0, fdLimit - 200));
  const perKind = Math.floor(usable / KINDS_USED.length);
  const root = space.repo('hostile');
  writeFileSync(join(root, 'workflow.yaml'), manyItemsWorkflow(40));
  const { pid, client } = await space.spawnDaemon(root);
  const lib = await space.lib();
  await client.request(lib.SessionStartRequest, { task: 'Hostile clients' });
  const env = space.env();
  await cliStatus(cli, root, env);
  const before = await client.request(lib.DaemonStatusRequest, {});

  const stats = { opened: Object.fromEntries(KINDS_USED.map((k) => [k, 0])), closed: Object.fromEntries(KINDS_USED.map((k) => [k, 0])) };
  const socketPath = before.socket;
  const sockets = [];
  const floodStart = nowMs();
  // Interleaved, so every kind is present from the start; 25 of each at a time.
  for (let i = 0; i < perKind; i += 25) {
    const batch = [];
    for (let j = i; j < Math.min(perKind, i + 25); j++) for (const kind of KINDS_USED) batch.push(hostile(socketPath, kind, lib.PROTOCOL_VERSION, stats));
    sockets.push(...(await Promise.all(batch)));
  }
  const floodMs = nowMs() - floodStart;
  progress(`${sockets.length} hostile connections open in ${Math.round(floodMs)} ms; holding`);

  const requestMs = [];
  const cliMs = [];
  let failures = 0;
  let rssSampledMax = 0;
  let mostConnections = 0;
  const deadline = nowMs() + holdMs;
  let nextCli = 0;
  while (nowMs() < deadline) {
    const t = nowMs();
    const s = await withTimeout(client.request(lib.DaemonStatusRequest, {}), 5000, () => null);
    if (s) requestMs.push(nowMs() - t);
    else failures += 1;
    rssSampledMax = Math.max(rssSampledMax, procStatusMb(pid, 'VmRSS') ?? 0);
    if (s) mostConnections = Math.max(mostConnections, s.connections);
    if (nowMs() >= nextCli) {
      const r = await cliStatus(cli, root, env);
      if (r.ok) cliMs.push(r.ms);
      else failures += 1;
      nextCli = nowMs() + 2000;
    }
    await sleep(100);
  }
  const peakRssMb = procStatusMb(pid, 'VmHWM');
  const during = await client.request(lib.DaemonStatusRequest, {});
  const closedWhileHeld = { ...stats.closed };
  progress('closing the hostile connections');

  for (const s of sockets) s.destroy();
  let after = null;
  for (let i = 0; i < 100; i++) {
    after = await client.request(lib.DaemonStatusRequest, {});
    if (after.connections === 1) break;
    await sleep(50);
  }
  // Give the collector a moment with the daemon idle, then read what stayed.
  await sleep(1500);
  after = await client.request(lib.DaemonStatusRequest, {});
  const afterRssMb = procStatusMb(pid, 'VmRSS');
  await space.stopDaemon(root, client);
  space.removeRepo(root);
  const mb = (b) => (b ?? 0) / (1024 * 1024);
  return {
    fdLimit,
    requested: count,
    perKind,
    opened: stats.opened,
    closedByDaemonWhileHeld: closedWhileHeld,
    floodMs,
    holdMs,
    mostConnections,
    before: { rssMb: mb(before.memory?.rssBytes), heapUsedMb: mb(before.memory?.heapUsedBytes) },
    during: { rssMb: mb(during.memory?.rssBytes), heapUsedMb: mb(during.memory?.heapUsedBytes), clientBufferedMb: mb(during.memory?.clientBufferedBytes) },
    after: { rssMb: afterRssMb, heapUsedMb: mb(after.memory?.heapUsedBytes), clientBufferedMb: mb(after.memory?.clientBufferedBytes), connections: after.connections },
    peakRssMb,
    rssSampledMaxMb: rssSampledMax,
    requestMs: summarizeMs(requestMs),
    cliMs: summarizeMs(cliMs),
    failures,
  };
}

function summarizeMs(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, median: sorted[Math.floor(sorted.length / 2)] ?? NaN, max: sorted.at(-1) ?? NaN };
}
