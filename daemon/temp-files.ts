/**
 * write-file-atomic names its temp files `<target>.<uint32>` and removes them on normal exits, but
 * not after SIGKILL. At start, with the single-writer lock held, any such file next to a file we
 * own is debris from a killed writer: remove it.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RepoPaths } from '../protocol/paths.js';

/** `<file>.<uint32>` for every file orch writes atomically: any `*.json`, `current`, `.gitignore`. */
const TEMP_RE = /^(.+\.json|current|\.gitignore)\.\d{1,10}$/;

async function cleanDir(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const stray = names.filter((n) => TEMP_RE.test(n)).map((n) => join(dir, n));
  await Promise.all(stray.map((p) => rm(p, { force: true })));
  return stray;
}

/** Removes stray temp files under `.orchestrator/`; returns what was removed. */
export async function cleanStrayTempFiles(paths: RepoPaths, sessionIds: string[]): Promise<string[]> {
  const dirs = [
    paths.orchDir,
    ...sessionIds.flatMap((id) => ['', 'checkpoints', 'feedback'].map((sub) => join(paths.sessionsDir, id, sub))),
  ];
  return (await Promise.all(dirs.map(cleanDir))).flat();
}
