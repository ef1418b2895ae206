/**
 * Durable file writes. write-file-atomic gives temp file + fsync + rename; it does not fsync the
 * directory, without which the rename itself may not survive power loss (ALICE, OSDI '14), so we
 * add that step. Log appends are one write(2) of a whole line on an O_APPEND descriptor, so lines
 * from concurrent appenders never interleave, followed by fsync.
 */
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

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
  await writeFileAtomic(path, data, { fsync: true, mode });
  await fsyncDir(dirname(path));
}

/** Appends whole lines, one write each, then fsyncs. Each string must not contain a newline. */
export async function appendLines(path: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const handle = await open(path, 'a', 0o644);
  try {
    for (const line of lines) await handle.write(line + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
}
