/**
 * The daemon's endpoint: the single-writer lock, the socket, and the checks that keep exactly one
 * daemon serving a repo. Everything here runs with the lock held, or decides whether to wait for it.
 */
import { chmod, lstat, rename, rm } from 'node:fs/promises';
import { connect, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import type { RepoPaths } from '../../protocol/node/paths.js';
import type { DaemonConfig } from './config.js';
import { OrchError } from '../errors.js';
import { randomHex } from '../store/ids.js';
import { describeHolder, tryAcquire, type LockHandle, type LockHolder } from './lock-file.js';
import { readRegistration } from './registration.js';
import { checkSocketPathLength } from './socket-dir.js';

/** True when something accepts connections on `socketPath` right now. */
export function probeSocket(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when the daemon `pid` is registered and its socket answers: it is serving, not starting or stopping. */
export async function isDaemonServing(paths: RepoPaths, pid: number): Promise<boolean> {
  const reg = await readRegistration(paths.daemonJson);
  return reg !== null && reg.pid === pid && (await probeSocket(reg.socketPath));
}

export type DaemonLockOutcome = { ok: true; lock: LockHandle } | { ok: false; holder: LockHolder };

/**
 * Takes the single-writer lock for a daemon. A live daemon that is serving wins: the caller exits
 * and clients use it. A daemon that is still starting (locked, not yet registered) or draining
 * (registration already removed) is waited for, as is a command running without a daemon; a
 * holder that is dead is taken over. Gives up after `config.lockTimeoutMs`.
 */
export async function takeDaemonLock(paths: RepoPaths, config: DaemonConfig): Promise<DaemonLockOutcome> {
  const deadline = Date.now() + config.lockTimeoutMs;
  let delay = 5;
  for (;;) {
    const attempt = await tryAcquire(paths.daemonLock, 'daemon');
    if (attempt.ok) return { ok: true, lock: attempt.handle };
    const holder = attempt.holder;
    if (holder?.kind === 'daemon' && (await isDaemonServing(paths, holder.pid))) return { ok: false, holder };
    if (Date.now() >= deadline) {
      if (holder?.kind === 'daemon') return { ok: false, holder };
      throw new OrchError(
        'LockTimeout',
        `Could not take the lock ${paths.daemonLock} within ${config.lockTimeoutMs} ms: it is held by ${describeHolder(holder)}; wait for it to finish, or stop that process.`,
        { lock: paths.daemonLock, holderPid: holder?.pid ?? null },
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(delay * 2, 100);
  }
}

/**
 * Binds `server` at `socketPath` and returns the socket's inode. The socket is bound under a
 * private temporary name, made 0600, then renamed into place: the public path never exists with
 * looser permissions, a stale socket left by a killed daemon is replaced atomically, and libuv's
 * unconditional unlink-by-name on close hits the temporary name (already gone) instead of a
 * socket some other daemon may own by then. Removal of the public path is ours to do, and only
 * while its inode is still ours ({@link removeSocketIfOurs}).
 */
export async function bindSocket(server: Server, socketPath: string): Promise<number> {
  const temp = join(dirname(socketPath), `${basename(socketPath, '.sock')}.${randomHex(6)}.tmp`);
  checkSocketPathLength(temp);
  await rm(temp, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(temp, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    await chmod(temp, 0o600);
    await rename(temp, socketPath);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  return (await lstat(socketPath)).ino;
}

/** Removes `socketPath` only if it is still the socket with inode `ino` (never a thief's). */
export async function removeSocketIfOurs(socketPath: string, ino: number): Promise<void> {
  try {
    const st = await lstat(socketPath);
    if (st.isSocket() && st.ino === ino) await rm(socketPath, { force: true });
  } catch {
    // already gone
  }
}
