/**
 * What every single writer of `.orchestrator/` does first, once it holds the lock: the daemon at
 * start, and each command run without a daemon (ORCH_DAEMON=0).
 */
import { readFile } from 'node:fs/promises';
import type { RepoPaths } from '../../protocol/node/paths.js';
import type { Logger } from '../runtime/logger.js';
import { readRegistration } from '../runtime/registration.js';
import { ensureGitignoreAtStart, repoCopiedWarning } from './repo-meta.js';
import type { SessionStore } from './session-store.js';
import { cleanRepoTempFiles, cleanStrayTempFiles, sweepSessionTempFiles, takeCleanMark, type TempSweep } from './temp-files.js';
import { readFileNoFollow } from '../../protocol/node/safe-fs.js';

/** Why the previous daemon of this repo ended: its exit note, or a crash when it left its registration behind. */
export async function previousExit(paths: RepoPaths): Promise<string | null> {
  const reg = await readRegistration(paths.daemonJson);
  try {
    const note = JSON.parse(await readFileNoFollow(paths.daemonExit)) as { reason?: string; pid?: number };
    if (reg && reg.pid !== note.pid) return `pid ${reg.pid} died without shutting down (crash or kill -9)`;
    return note.reason ?? null;
  } catch {
    return reg ? `pid ${reg.pid} died without shutting down (crash or kill -9)` : null;
  }
}

/**
 * Start-up work every single writer does once it holds the lock: git ignores, temp-file debris.
 * The session folders need a sweep only when the last writer did not stop in order (no
 * `daemon.clean` mark, see temp-files.ts): `sessions: 'now'` (a command run without a daemon)
 * sweeps them before going on; `'later'` (the daemon) sweeps only `.orchestrator/` itself and
 * leaves the session folders to {@link sweepSessionsInBackground}, so thousands of sessions do not
 * delay listening. Returns whether the session folders still need that sweep.
 */
export async function prepareRepoAtStart(
  paths: RepoPaths,
  store: SessionStore,
  log: Logger,
  sessions: 'now' | 'later' = 'now',
): Promise<{ sweepSessions: boolean }> {
  await ensureGitignoreAtStart(paths);
  const copied = await repoCopiedWarning({ paths });
  if (copied !== null) log.warn({ root: paths.root }, copied);
  const clean = await takeCleanMark(paths);
  const now = sessions === 'now' && !clean;
  const removed = now ? await cleanStrayTempFiles(paths, await store.listIds()) : await cleanRepoTempFiles(paths);
  if (removed.length) log.warn({ removed }, 'removed stray temp files left by a killed writer');
  return { sweepSessions: !clean && !now };
}

/**
 * The daemon's sweep of the session folders, started once it is registered. `startedNs` is the
 * daemon's start on the filesystem's clock (the mtime of the lock file it created): every temp file
 * of a write it does is newer, every one a killed writer left is older.
 */
export function sweepSessionsInBackground(paths: RepoPaths, ids: string[], startedNs: bigint, log: Logger): TempSweep {
  const sweep = sweepSessionTempFiles(paths, ids, startedNs);
  void sweep.done.then(
    (removed) => {
      if (removed.length) log.warn({ removed }, 'removed stray temp files left by a killed writer');
    },
    (err: unknown) => log.warn({ err }, 'the sweep of stray temp files failed'),
  );
  return sweep;
}
