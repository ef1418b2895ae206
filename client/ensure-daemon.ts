/**
 * Connect first; spawn the daemon only when none answers (watchman, Nx). The daemon is started by
 * path, detached, with its raw output in `.orchestrator/daemon.out`; the client then polls for its
 * registration with backoff until a deadline, and on failure shows why the daemon died.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ResponseError } from 'vscode-jsonrpc/node.js';
import { DaemonShutdownRequest } from '../protocol/daemon.js';
import { OrchErrorCode } from '../protocol/errors.js';
import type { RepoPaths } from '../protocol/paths.js';
import { connectSocket, readRegistrationFile, type DaemonConnection } from './connect.js';
import { unavailableError } from './errors.js';

const DAEMON_MAIN = fileURLToPath(new URL('../daemon/main.js', import.meta.url));
const DAEMON_OUT_MAX_BYTES = 1024 * 1024;

function startTimeoutMs(env: NodeJS.ProcessEnv): number {
  const n = Number(env.ORCH_START_TIMEOUT_MS);
  return Number.isFinite(n) && n > 0 ? n : 10_000;
}

function isMismatch(err: unknown): boolean {
  return err instanceof ResponseError && err.code === OrchErrorCode.ProtocolMismatch;
}

/** Connects to the registered daemon, or returns null when none answers. */
export async function connectExisting(paths: RepoPaths): Promise<DaemonConnection | null> {
  const reg = readRegistrationFile(paths.daemonJson);
  if (!reg) return null;
  try {
    return await connectSocket(reg.socketPath);
  } catch (err) {
    if (isMismatch(err)) throw err;
    return null;
  }
}

function tail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function spawnDaemon(paths: RepoPaths, env: NodeJS.ProcessEnv): { exitCode: () => number | null } {
  try {
    mkdirSync(paths.orchDir, { recursive: true });
  } catch (err) {
    throw unavailableError(`Cannot create ${paths.orchDir} for the daemon: ${(err as Error).message}.`);
  }
  let flags = 'a';
  try {
    if (statSync(paths.daemonOut).size > DAEMON_OUT_MAX_BYTES) flags = 'w';
  } catch {
    // first start
  }
  const out = openSync(paths.daemonOut, flags, 0o600);
  const child = spawn(process.execPath, [DAEMON_MAIN, '--root', paths.root], { detached: true, stdio: ['ignore', out, out], cwd: '/', env });
  closeSync(out);
  let code: number | null = null;
  child.on('exit', (c, signal) => (code = c ?? (signal ? 128 : 1)));
  child.on('error', () => (code = 127));
  child.unref();
  return { exitCode: () => code };
}

/** Starts a daemon and waits for it (or a racing one) to answer. */
export async function startAndConnect(paths: RepoPaths, env: NodeJS.ProcessEnv): Promise<DaemonConnection> {
  const child = spawnDaemon(paths, env);
  const deadline = Date.now() + startTimeoutMs(env);
  let delay = 5;
  for (;;) {
    const conn = await connectExisting(paths);
    if (conn) return conn;
    const code = child.exitCode();
    // Exit 0 means another daemon won the race; keep waiting for its registration.
    if (code !== null && code !== 0) {
      throw unavailableError(`The orch daemon failed to start (exit ${code}): ${tail(paths.daemonOut) || 'no output'}. More in ${paths.daemonOut}.`);
    }
    if (Date.now() > deadline) {
      throw unavailableError(`The orch daemon did not answer within ${startTimeoutMs(env)} ms; see ${paths.daemonOut} and ${paths.daemonLog}.`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
}

/** Asks an incompatible daemon to stop and waits until its registration is gone. */
async function replaceIncompatible(paths: RepoPaths, env: NodeJS.ProcessEnv, stderr: (s: string) => void): Promise<void> {
  const reg = readRegistrationFile(paths.daemonJson);
  if (!reg) return;
  stderr(`orch: the running daemon (pid ${reg.pid}, orch ${reg.version}) speaks another protocol version; replacing it.\n`);
  try {
    const { connectRaw } = await import('./connect-raw.js');
    const raw = await connectRaw(reg.socketPath);
    await raw.conn.sendRequest(DaemonShutdownRequest, { reason: 'replaced by a client with another protocol version' }).catch(() => undefined);
    raw.close();
  } catch {
    // unreachable: fall through to the kill below
  }
  const deadline = Date.now() + 3000;
  while (readRegistrationFile(paths.daemonJson)?.pid === reg.pid && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  if (readRegistrationFile(paths.daemonJson)?.pid === reg.pid) {
    try {
      process.kill(reg.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  void env;
}

/** A connection to the repo's daemon, starting one if needed (unless `autoStart` is false). */
export async function ensureDaemon(
  paths: RepoPaths,
  env: NodeJS.ProcessEnv,
  autoStart: boolean,
  stderr: (s: string) => void,
): Promise<DaemonConnection | null> {
  try {
    const existing = await connectExisting(paths);
    if (existing || !autoStart) return existing;
  } catch (err) {
    if (!isMismatch(err)) throw err;
    if (!autoStart) return null;
    await replaceIncompatible(paths, env, stderr);
  }
  return startAndConnect(paths, env);
}
