/**
 * Connect first; spawn the daemon only when none answers (watchman, Nx). The daemon is started by
 * path, detached, with its raw output in `.orchestrator/daemon.out`; the client then polls for its
 * registration with backoff until a deadline, and on failure shows why the daemon died.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, lstatSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ResponseError } from 'vscode-jsonrpc/node.js';
import { DaemonShutdownRequest } from '../protocol/daemon.js';
import { OrchErrorCode } from '../protocol/errors.js';
import { ORCH_VERSION, PROTOCOL_VERSION } from '../protocol/version.js';
import type { RepoPaths } from '../protocol/node/paths.js';
import type { ClientInfo } from '../protocol/params.js';
import { isProcessRunning } from '../protocol/node/process.js';
import { assertNoLinks, mkdirNoFollow, openNoFollowSync, UnsafePathError } from '../protocol/node/safe-fs.js';
import { connectSocket, isRefusal, readRegistrationFile, type DaemonConnection } from './connect.js';
import { unavailableError } from './errors.js';

/** The daemon's entry, resolved when a daemon is spawned (not at start-up: a warm command never needs it). */
const daemonMain = (): string => fileURLToPath(new URL('../daemon/main.js', import.meta.url));
/**
 * Node flags of the daemon, for its memory (issue 18: ≤ 100 MB RSS at 10,000 sessions). V8's young
 * generation grows to 32 MB of semi-spaces under a burst of short-lived objects (a listing of
 * 10,000 sessions) and keeps them: 2 MB semi-spaces keep the RSS about 20 MB lower. With
 * --optimize-for-size the old generation grows less eagerly after such a burst (measured at
 * 10,000 sessions, first listing: 132 → 96 MB; after a restart: 102 → 90 MB), at no cost we could
 * measure in the commit rate of 32 clients (ratios 0.92, 0.92, 1.12 in paired runs). They must be
 * given on the command line: set from inside (v8.setFlagsFromString) they no longer change the heap.
 */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=2', '--optimize-for-size'];
const DAEMON_OUT_MAX_BYTES = 1024 * 1024;

function startTimeoutMs(env: NodeJS.ProcessEnv): number {
  const n = Number(env.ORCH_START_TIMEOUT_MS);
  return Number.isFinite(n) && n > 0 ? n : 10_000;
}

export function isMismatch(err: unknown): boolean {
  return err instanceof ResponseError && err.code === OrchErrorCode.ProtocolMismatch;
}

/** Connects to the registered daemon, or returns null when none answers. */
export async function connectExisting(paths: RepoPaths, who: ClientInfo): Promise<DaemonConnection | null> {
  const reg = readRegistrationFile(paths.daemonJson);
  if (!reg) return null;
  try {
    return await connectSocket(reg.socketPath, who);
  } catch (err) {
    // A daemon that refused us runs: starting another would only lose the race to it.
    if (isMismatch(err) || isRefusal(err)) throw err;
    return null;
  }
}

/** What the daemon wrote to `file` after byte `from` (its own start-up output), last lines only. */
function outputSince(file: string, from: number, lines = 5): string {
  try {
    const fd = openNoFollowSync(file, constants.O_RDONLY);
    let bytes: Buffer;
    try {
      bytes = readFileSync(fd);
    } finally {
      closeSync(fd);
    }
    const text = bytes.subarray(from).toString('utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n').replace(/\.$/, '');
  } catch {
    return '';
  }
}

function spawnDaemon(paths: RepoPaths, env: NodeJS.ProcessEnv, reason: string | undefined): { exitCode: () => number | null; output: () => string } {
  try {
    mkdirNoFollow(paths.orchDir);
    // A link planted in place of a file the daemon writes is refused here, before anything runs,
    // with the path and the fix (protocol/safe-fs.ts); the daemon checks again when it opens them.
    for (const file of [paths.daemonLog, paths.daemonJson, paths.daemonLock, paths.daemonExit, paths.daemonOut]) assertNoLinks(file);
  } catch (err) {
    if (err instanceof UnsafePathError) throw err;
    throw unavailableError(`Cannot create ${paths.orchDir} for the daemon: ${(err as Error).message}.`);
  }
  // Appended to, or started afresh (O_TRUNC) once over its cap; never through a link.
  let truncate = false;
  try {
    truncate = lstatSync(paths.daemonOut).size > DAEMON_OUT_MAX_BYTES;
  } catch {
    // first start
  }
  const out = openNoFollowSync(paths.daemonOut, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | (truncate ? constants.O_TRUNC : 0), 0o600);
  const from = fstatSync(out).size;
  const args = [...DAEMON_NODE_FLAGS, daemonMain(), '--root', paths.root, ...(reason ? ['--reason', reason] : [])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out], cwd: '/', env });
  closeSync(out);
  let code: number | null = null;
  child.on('exit', (c, signal) => (code = c ?? (signal ? 128 : 1)));
  child.on('error', () => (code = 127));
  child.unref();
  return { exitCode: () => code, output: () => outputSince(paths.daemonOut, from) };
}

/** Waits until `pid` has exited; false at the deadline. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessRunning(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

const MAX_SPAWNS = 5;

/**
 * Starts a daemon and waits for it (or a racing one) to answer. A spawned daemon that exits 0 lost
 * the race to another; if that one then vanishes too (it was shutting down, or was killed), spawn
 * again rather than wait out the deadline.
 */
export async function startAndConnect(paths: RepoPaths, env: NodeJS.ProcessEnv, who: ClientInfo, reason?: string): Promise<DaemonConnection> {
  let child = spawnDaemon(paths, env, reason);
  let spawns = 1;
  const deadline = Date.now() + startTimeoutMs(env);
  let delay = 5;
  for (;;) {
    const conn = await connectExisting(paths, who);
    if (conn) return conn;
    const code = child.exitCode();
    if (code !== null && code !== 0) {
      throw unavailableError(`The orch daemon failed to start (exit ${code}): ${child.output() || 'no output'}. More in ${paths.daemonOut}.`);
    }
    if (Date.now() > deadline) {
      throw unavailableError(`The orch daemon did not answer within ${startTimeoutMs(env)} ms; see ${paths.daemonOut} and ${paths.daemonLog}.`);
    }
    if (code === 0 && spawns < MAX_SPAWNS && delay >= 50) {
      child = spawnDaemon(paths, env, reason);
      spawns += 1;
      delay = 5;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
}

function mismatchDetail(err: unknown): string {
  return err instanceof ResponseError ? err.message.replace(/\.$/, '') : 'it speaks another protocol version';
}

/**
 * Asks an incompatible daemon to stop, waits until its registration is gone, and kills it if it
 * does not go within a deadline. Returns the reason to record in the next daemon's status.
 */
export async function replaceIncompatible(paths: RepoPaths, why: unknown, stderr: (s: string) => void): Promise<string> {
  const reg = readRegistrationFile(paths.daemonJson);
  const detail = mismatchDetail(why);
  if (!reg) return `replaced an incompatible daemon: ${detail}`;
  stderr(`orch: ${detail}; stopping that daemon (pid ${reg.pid}) and starting a compatible one.\n`);
  try {
    const { connectRaw } = await import('./connect-raw.js');
    const raw = await connectRaw(reg.socketPath);
    await Promise.race([
      raw.conn.sendRequest(DaemonShutdownRequest, { reason: `replaced by orch ${ORCH_VERSION} (protocol ${PROTOCOL_VERSION})` }).catch(() => undefined),
      new Promise((r) => setTimeout(r, 1000)),
    ]);
    raw.close();
  } catch {
    // unreachable: fall through to the kill below
  }
  const deadline = Date.now() + 3000;
  while (readRegistrationFile(paths.daemonJson)?.pid === reg.pid && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  if (readRegistrationFile(paths.daemonJson)?.pid === reg.pid) {
    stderr(`orch: the old daemon (pid ${reg.pid}) did not stop within 3 s; killing it.\n`);
    try {
      process.kill(reg.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await waitForExit(reg.pid, 2000);
  }
  return `replaced pid ${reg.pid} (orch ${reg.version}): ${detail}`;
}

/**
 * A connection to the repo's daemon, starting one if needed (unless `autoStart` is false).
 * `reason` is recorded by a daemon this call starts (shown by `orch daemon status`).
 */
export async function ensureDaemon(
  paths: RepoPaths,
  env: NodeJS.ProcessEnv,
  who: ClientInfo,
  autoStart: boolean,
  stderr: (s: string) => void,
  reason?: string,
): Promise<DaemonConnection | null> {
  try {
    const existing = await connectExisting(paths, who);
    if (existing || !autoStart) return existing;
  } catch (err) {
    // Without auto-start the caller decides (daemon status reports it; daemon stop leaves it).
    if (!isMismatch(err) || !autoStart) throw err;
    return startAndConnect(paths, env, who, await replaceIncompatible(paths, err, stderr));
  }
  return startAndConnect(paths, env, who, reason);
}
