/**
 * Durable file writes. write-file-atomic gives temp file + fsync + rename; it does not fsync the
 * directory, without which the rename itself may not survive power loss (ALICE, OSDI '14), so we
 * add that step. Log appends are one write(2) of a whole line on an O_APPEND descriptor, so lines
 * from concurrent appenders never interleave, followed by fsync.
 */
import { constants } from 'node:fs';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { OrchError } from '../errors.js';
import { assertNoLinks, openNoFollow } from '../../protocol/node/safe-fs.js';

/*
 * Symbolic links: write-file-atomic realpaths its target and opens its temp file beside the real
 * target with 'w', so it would follow a link planted anywhere on the way. Every write here first
 * checks, through protocol/safe-fs.ts, that no folder from `.orchestrator/` down and not the file
 * itself is a link; after that the realpath is the path itself, and temp + fsync + rename happen
 * inside a folder just verified to be real. (The temp name, `<file>.<murmurhash of file, pid and a
 * counter>`, cannot be planted in advance; stale ones are swept at start by name, without following.)
 */

/**
 * Errors of write(2)/fsync(2) on a descriptor carry no path; give them the file's, so the user is
 * told which file the disk-full or read-only error was about (protocol/errors.ts describeFsError).
 */
export function withPath(err: unknown, path: string): unknown {
  const e = err as NodeJS.ErrnoException | null;
  if (e && typeof e.code === 'string' && typeof e.path !== 'string') e.path = path;
  return err;
}

/** fsync a directory so a rename or create inside it is durable (opened without following a link). */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await openNoFollow(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Atomically and durably replaces `path` with `data` (text is written as UTF-8). */
export async function writeDurable(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
  assertNoLinks(path);
  await writeFileAtomic(path, data, { fsync: true, mode }).catch((err: unknown) => {
    throw withPath(err, path);
  });
  await fsyncDir(dirname(path));
}

/**
 * Atomically replaces `path` without fsync: for caches that are validated on read (a lost or
 * stale copy after a power cut is detected and rebuilt), where a durable write would only cost.
 */
export async function writeCache(path: string, data: string): Promise<void> {
  assertNoLinks(path);
  await writeFileAtomic(path, data, { fsync: false, mode: 0o644 }).catch((err: unknown) => {
    throw withPath(err, path);
  });
}

/**
 * Appends whole lines, one write each, then fsyncs. Each string must not contain a newline. A
 * failed write (disk full) cuts the file back to where it was, so no torn line is left behind.
 */
export async function appendLines(path: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const handle = await openNoFollow(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
  let before = -1;
  try {
    before = (await handle.stat()).size;
    for (const line of lines) await handle.write(line + '\n');
    await handle.sync();
  } catch (err) {
    if (before >= 0) await handle.truncate(before).catch(() => undefined);
    throw withPath(err, path);
  } finally {
    await handle.close();
  }
}

/**
 * Appends whole lines to a cache file without fsync, in one write(2) on an O_APPEND descriptor (so
 * concurrent appenders never interleave a line). For caches that are validated on read, as
 * {@link writeCache}: a lost tail after a crash only costs a rebuild.
 */
export async function appendCache(path: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const handle = await openNoFollow(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
  try {
    await handle.write(lines.join('\n') + '\n');
  } catch (err) {
    throw withPath(err, path);
  } finally {
    await handle.close();
  }
}
