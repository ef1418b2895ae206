/**
 * A pid lock file: created with O_EXCL ('wx'), holding `{pid, nonce, procStart, kind, since}`.
 * Node has no flock (nodejs/node#54446), and proper-lockfile judges staleness by mtime age, which
 * would keep a repo locked for seconds after a `kill -9`; here a holder is stale the moment its
 * process is gone. Pid reuse is caught by comparing the process start time from /proc where the
 * platform has it. Stale takeover happens under a second, short-lived O_EXCL file so two
 * contenders can never both remove a lock and both win (the check-then-unlink race, npm/lockfile#4).
 */
import { open, readFile, rm, stat } from 'node:fs/promises';
import { readFileSync, rmSync, constants } from 'node:fs';
import { randomHex } from '../store/ids.js';
import { OrchError } from '../errors.js';
import { isProcessRunning, procStatFields } from '../../protocol/node/process.js';
import { openNoFollow } from '../../protocol/node/safe-fs.js';

export interface LockHolder {
  pid: number;
  nonce: string;
  procStart: string | null;
  kind: string;
  since: string;
}

export interface LockHandle {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still ours. */
  release(): Promise<void>;
  /** The same, synchronously (for a process about to exit). */
  releaseSync(): void;
}

/** Start time of a process (clock ticks since boot, Linux), or null where unknown. */
export function processStartTime(pid: number): string | null {
  // Field 22 of stat is the 20th after the command name.
  return procStatFields(pid)?.[19] ?? null;
}

/**
 * True when `holder` still runs: the pid answers signal 0 (EPERM counts), it is not a zombie (a
 * killed holder whose parent has not reaped it yet holds nothing), and its start time matches
 * (otherwise the pid was reused by another process).
 */
export function isHolderAlive(holder: LockHolder): boolean {
  if (!isProcessRunning(holder.pid)) return false;
  const fields = procStatFields(holder.pid);
  if (holder.procStart === null || fields === null) return true;
  return fields[19] === undefined || fields[19] === holder.procStart;
}

/** The holder a lock file names, or null when it is absent or unreadable. */
export async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as LockHolder;
    return typeof parsed.pid === 'number' ? parsed : null;
  } catch {
    return null;
  }
}

/** An unreadable (empty, torn) lock file younger than this may still be being written. */
const UNREADABLE_GRACE_MS = 2000;
const TAKEOVER_MAX_AGE_MS = 2000;

async function tryCreate(path: string, holder: LockHolder): Promise<boolean> {
  try {
    const handle = await openNoFollow(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    try {
      await handle.writeFile(JSON.stringify(holder));
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

async function ageMs(path: string): Promise<number> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return 0;
  }
}

/** Removes the lock at `path` if its holder is dead, under the takeover guard. Returns true if removed. */
async function removeIfStale(path: string, seen: LockHolder | null): Promise<boolean> {
  const guard = `${path}.takeover`;
  const me: LockHolder = { pid: process.pid, nonce: randomHex(12), procStart: null, kind: 'takeover', since: new Date().toISOString() };
  if (!(await tryCreate(guard, me))) {
    if ((await ageMs(guard)) > TAKEOVER_MAX_AGE_MS) await rm(guard, { force: true });
    return false;
  }
  try {
    const current = await readHolder(path);
    const same = seen === null ? current === null : current !== null && current.nonce === seen.nonce;
    if (!same) return false;
    await rm(path, { force: true });
    return true;
  } finally {
    await rm(guard, { force: true });
  }
}

export type AcquireResult = { ok: true; handle: LockHandle } | { ok: false; holder: LockHolder | null };

/** One attempt: take the lock, or take over a stale one; else report the live holder. */
export async function tryAcquire(path: string, kind: string): Promise<AcquireResult> {
  const holder: LockHolder = {
    pid: process.pid,
    nonce: randomHex(16),
    procStart: processStartTime(process.pid),
    kind,
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreate(path, holder)) return { ok: true, handle: makeHandle(path, holder) };
    const seen = await readHolder(path);
    const stale = seen === null ? (await ageMs(path)) > UNREADABLE_GRACE_MS : !isHolderAlive(seen);
    if (!stale) return { ok: false, holder: seen };
    await removeIfStale(path, seen);
  }
  return { ok: false, holder: await readHolder(path) };
}

function makeHandle(path: string, holder: LockHolder): LockHandle {
  let released = false;
  return {
    path,
    holder,
    async release() {
      if (released) return;
      released = true;
      const current = await readHolder(path);
      if (current && current.nonce === holder.nonce) await rm(path, { force: true });
    },
    releaseSync() {
      if (released) return;
      released = true;
      try {
        const current = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
        if (current.nonce === holder.nonce) rmSync(path, { force: true });
      } catch {
        // gone or unreadable: not ours to remove
      }
    },
  };
}

/** Describes a holder for error messages. */
export function describeHolder(holder: LockHolder | null): string {
  if (!holder) return 'an unknown process (the lock file is unreadable)';
  return `pid ${holder.pid} (${holder.kind}, since ${holder.since})`;
}

/** Takes the lock, retrying with backoff until `timeoutMs`; then fails naming the file and its holder. */
export async function acquire(path: string, kind: string, timeoutMs: number): Promise<LockHandle> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    const result = await tryAcquire(path, kind);
    if (result.ok) return result.handle;
    if (Date.now() >= deadline) {
      throw new OrchError(
        'LockTimeout',
        `Could not take the lock ${path} within ${timeoutMs} ms: it is held by ${describeHolder(result.holder)}; wait for it to finish, or stop that process.`,
        { lock: path, holderPid: result.holder?.pid ?? null },
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(delay * 2, 100);
  }
}
