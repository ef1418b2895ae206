/**
 * write-file-atomic names its temp files `<target>.<uint32>` and removes them on normal exits, but
 * not after SIGKILL. With the single-writer lock held, any such file next to a file we own that is
 * older than this writer's start is debris from a killed writer: remove it.
 */
import { constants } from 'node:fs';
import { lstat, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RepoPaths } from '../../protocol/node/paths.js';
import { assertNoLinksDir, openNoFollow } from '../../protocol/node/safe-fs.js';
import { fsyncDir, withPath } from './durable-write.js';

/** `<file>.<uint32>` for every file orch writes atomically: any `*.json`, `current`, `.gitignore`. */
const TEMP_RE = /^(.+\.json|current|\.gitignore)\.\d{1,10}$/;

/** Session folders swept at once by the background sweep. */
const SWEEP_CONCURRENCY = 4;

/**
 * Removes the temp files in `dir`. With `olderThanNs` (a time on the filesystem's own clock), only
 * files last modified strictly before it: a temp file of a write in progress is always newer.
 */
async function cleanDir(dir: string, olderThanNs?: bigint): Promise<string[]> {
  let names: string[];
  try {
    // A folder planted as a link is not swept: its files are not orch's to remove.
    assertNoLinksDir(dir);
    names = await readdir(dir);
  } catch {
    return [];
  }
  const candidates = names.filter((n) => TEMP_RE.test(n)).map((n) => join(dir, n));
  const stray: string[] = [];
  for (const p of candidates) {
    if (olderThanNs !== undefined) {
      try {
        if ((await lstat(p, { bigint: true })).mtimeNs >= olderThanNs) continue;
      } catch {
        continue;
      }
    }
    stray.push(p);
  }
  await Promise.all(stray.map((p) => rm(p, { force: true })));
  return stray;
}

function sessionDirs(paths: RepoPaths, id: string): string[] {
  return ['', 'checkpoints', 'feedback'].map((sub) => join(paths.sessionsDir, id, sub));
}

/** Removes stray temp files directly under `.orchestrator/` (nothing writes there yet). */
export async function cleanRepoTempFiles(paths: RepoPaths): Promise<string[]> {
  return cleanDir(paths.orchDir);
}

/** Removes stray temp files under `.orchestrator/` and every session folder; returns what was removed. */
export async function cleanStrayTempFiles(paths: RepoPaths, sessionIds: string[]): Promise<string[]> {
  const dirs = [paths.orchDir, ...sessionIds.flatMap((id) => sessionDirs(paths, id))];
  return (await Promise.all(dirs.map((d) => cleanDir(d)))).flat();
}

export interface TempSweep {
  /** Resolves with what was removed once the sweep has finished (or stopped). */
  readonly done: Promise<string[]>;
  /** True once every folder was swept (not stopped half-way). */
  readonly complete: boolean;
  /** Stops after the folders in flight. */
  stop(): Promise<string[]>;
}

/** The sweep of a daemon whose predecessor stopped in order: nothing to do. */
export const NOTHING_TO_SWEEP: TempSweep = { done: Promise.resolve([]), complete: true, stop: () => Promise.resolve([]) };

/**
 * Sweeps the session folders in the background, a few at a time, while the daemon already serves.
 * Only files older than `olderThanNs` (the daemon's start, on the filesystem's clock) are removed,
 * so a temp file of a write this daemon is doing is never touched.
 */
export function sweepSessionTempFiles(paths: RepoPaths, sessionIds: string[], olderThanNs: bigint): TempSweep {
  let stopped = false;
  let complete = false;
  const removed: string[] = [];
  const done = (async () => {
    let next = 0;
    const worker = async () => {
      while (!stopped && next < sessionIds.length) {
        const id = sessionIds[next++] as string;
        for (const dir of sessionDirs(paths, id)) removed.push(...(await cleanDir(dir, olderThanNs)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(SWEEP_CONCURRENCY, sessionIds.length) }, worker));
    complete = !stopped;
    return removed;
  })();
  return {
    done,
    get complete() {
      return complete;
    },
    stop() {
      stopped = true;
      return done;
    },
  };
}

/**
 * `.orchestrator/daemon.clean` says the last writer (the daemon, or a command run without one)
 * stopped in order: its writes all finished, and the debris of any writer before it was swept. The
 * next writer takes it away, durably, before its first write, and sweeps the session folders only
 * when it was not there: a killed writer never leaves it, so its debris is always swept, while a
 * repo whose writers stop in order is not read folder by folder at every start (30,000 folders at
 * 10,000 sessions, which slowed the first listing after a restart threefold).
 * Returns true when the mark was there (no sweep of the session folders is needed).
 */
export async function takeCleanMark(paths: RepoPaths): Promise<boolean> {
  assertNoLinksDir(paths.orchDir);
  try {
    await unlink(paths.cleanMark);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw withPath(err, paths.cleanMark);
  }
  await fsyncDir(paths.orchDir);
  return true;
}

/** Leaves the mark {@link takeCleanMark} looks for (a writer stopping in order, nothing left to sweep). */
export async function leaveCleanMark(paths: RepoPaths): Promise<void> {
  // Written in place, not through a temp file: only its presence counts.
  const handle = await openNoFollow(paths.cleanMark, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC);
  try {
    await handle.writeFile('The last orch writer stopped in order and left no temp file: the next one need not sweep the session folders.\n');
  } finally {
    await handle.close();
  }
}
