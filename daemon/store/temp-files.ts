/**
 * write-file-atomic names its temp files `<target>.<uint32>` and removes them on normal exits, but
 * not after SIGKILL. With the single-writer lock held, any such file next to a file we own that is
 * older than this writer's start is debris from a killed writer: remove it.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RepoPaths } from '../../protocol/node/paths.js';
import { assertNoLinksDir } from '../../protocol/node/safe-fs.js';

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
  /** Stops after the folders in flight. */
  stop(): Promise<string[]>;
}

/**
 * Sweeps the session folders in the background, a few at a time, while the daemon already serves.
 * Only files older than `olderThanNs` (the daemon's start, on the filesystem's clock) are removed,
 * so a temp file of a write this daemon is doing is never touched.
 */
export function sweepSessionTempFiles(paths: RepoPaths, sessionIds: string[], olderThanNs: bigint): TempSweep {
  let stopped = false;
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
    return removed;
  })();
  return {
    done,
    stop() {
      stopped = true;
      return done;
    },
  };
}
