/**
 * Durable file writes. write-file-atomic gives temp file + fsync + rename; it does not fsync the
 * directory, without which the rename itself may not survive power loss (ALICE, OSDI '14), so we
 * add that step. Log appends are one write(2) of a whole line on an O_APPEND descriptor, so lines
 * from concurrent appenders never interleave, followed by fsync.
 */
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { OrchError } from '../errors.js';

/**
 * write-file-atomic resolves symbolic links and replaces their target, so a link planted in
 * `.orchestrator/` could make the daemon write anywhere. Files the daemon writes are never links.
 */
async function refuseSymlink(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSymbolicLink()) {
      throw new OrchError('PathOutsideRepo', `Refusing to write ${path}: it is a symbolic link, and orch only writes plain files; remove the link.`, { file: path });
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** fsync a directory so a rename or create inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Atomically and durably replaces `path` with `data` (text is written as UTF-8). */
export async function writeDurable(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
  await refuseSymlink(path);
  await writeFileAtomic(path, data, { fsync: true, mode });
  await fsyncDir(dirname(path));
}

/**
 * Atomically replaces `path` without fsync: for caches that are validated on read (a lost or
 * stale copy after a power cut is detected and rebuilt), where a durable write would only cost.
 */
export async function writeCache(path: string, data: string): Promise<void> {
  await refuseSymlink(path);
  await writeFileAtomic(path, data, { fsync: false, mode: 0o644 });
}

/** Appends whole lines, one write each, then fsyncs. Each string must not contain a newline. */
export async function appendLines(path: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  // O_NOFOLLOW: never append through a planted symbolic link.
  const handle = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  try {
    for (const line of lines) await handle.write(line + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
}
