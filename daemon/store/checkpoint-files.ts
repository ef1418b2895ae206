/**
 * A session's checkpoint files (`checkpoints/cp_*.json`): written once each, never replaced, and
 * read back tolerantly (an unreadable file is left out with a warning).
 */
import { randomInt } from 'node:crypto';
import { constants } from 'node:fs';
import { link, readdir, rm } from 'node:fs/promises';
import { assertNoLinks, assertNoLinksDir, openNoFollow, readFileNoFollow } from '../../protocol/node/safe-fs.js';
import { dirname, join, relative } from 'node:path';
import type { CheckpointSummary } from '../../protocol/workflow.js';
import type { Checkpoint } from '../engine/types.js';
import { fsyncDir, withPath } from './durable-write.js';

export const CHECKPOINT_FILE_RE = /^cp_.*\.json$/;

/**
 * Writes `data` to `path` only if `path` does not exist: the temp file is synced, then hard-linked
 * into place (link fails with EEXIST rather than replacing), and the folder is synced. The temp
 * name `<path>.<n>` is the one the daemon's start-up sweep removes after a crash.
 */
export async function writeExclusiveDurable(path: string, data: string): Promise<boolean> {
  const temp = `${path}.${randomInt(0, 2 ** 32)}`;
  assertNoLinks(path);
  const handle = await openNoFollow(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } catch (err) {
    await rm(temp, { force: true });
    throw withPath(err, path);
  } finally {
    await handle.close();
  }
  try {
    await link(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
  await fsyncDir(dirname(path));
  return true;
}

export function summaryOf(cp: Checkpoint, root: string, file: string): CheckpointSummary {
  return {
    checkpointId: cp.checkpoint_id,
    phaseId: cp.phase_id,
    itemId: cp.item_id ?? null,
    timestamp: cp.timestamp,
    message: cp.message ?? null,
    contextSummary: cp.context_summary ?? null,
    decisions: Array.isArray(cp.key_decisions) ? cp.key_decisions.map(String) : [],
    files: Array.isArray(cp.file_manifest) ? cp.file_manifest.map(String) : [],
    parentCheckpointId: cp.parent_checkpoint_id ?? null,
    path: relative(root, file),
  };
}

interface ReadResult {
  checkpoints: { cp: Checkpoint; file: string }[];
  warnings: string[];
}

/** Every readable checkpoint of a folder, oldest first (by timestamp, then id). */
export async function readCheckpoints(dir: string, root: string): Promise<ReadResult> {
  assertNoLinksDir(dir, 'read');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => CHECKPOINT_FILE_RE.test(n));
  } catch {
    return { checkpoints: [], warnings: [] };
  }
  const checkpoints: ReadResult['checkpoints'] = [];
  const warnings: string[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      const cp = JSON.parse(await readFileNoFollow(file)) as Checkpoint;
      if (typeof cp?.checkpoint_id !== 'string' || typeof cp.timestamp !== 'string') throw new Error('it lacks checkpoint_id or timestamp');
      checkpoints.push({ cp, file });
    } catch (err) {
      warnings.push(`${relative(root, file)} is not a readable checkpoint (${(err as Error).message}); it is left out.`);
    }
  }
  const key = (c: Checkpoint) => `${c.timestamp.replace('Z', '+00:00')} ${c.checkpoint_id}`;
  checkpoints.sort((a, b) => (key(a.cp) < key(b.cp) ? -1 : key(a.cp) > key(b.cp) ? 1 : 0));
  return { checkpoints, warnings };
}

/**
 * The id of the session's newest readable checkpoint. Ids begin with their UTC time, so names sort
 * chronologically and only the newest files need to be parsed.
 */
export async function latestCheckpointId(dir: string): Promise<string | null> {
  const names = (await readdir(dir)).filter((n) => CHECKPOINT_FILE_RE.test(n)).sort().reverse();
  for (const name of names) {
    try {
      const cp = JSON.parse(await readFileNoFollow(join(dir, name))) as Partial<Checkpoint>;
      if (typeof cp?.checkpoint_id === 'string') return cp.checkpoint_id;
    } catch {
      // An unreadable file cannot be a parent; try the next newest.
    }
  }
  return null;
}
