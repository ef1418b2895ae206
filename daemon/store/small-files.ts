/**
 * The small files every request reads (`current`, `meta.json`, a session's `meta.json`), kept as
 * text with the identity of the file they came from: (device, inode, size, mtime in ns). A read
 * costs one synchronous lstat when the file is unchanged; any edit, replacement (the daemon's
 * own atomic renames give a new inode) or removal changes the key and the file is read again
 * through safe-fs, which checks every folder above it for links.
 *
 * A hit is safe against links too: a folder above swapped for a link would lead the lstat to
 * another file (another inode), and a link in place of the file itself is never a hit.
 */
import { lstatSync, type BigIntStats } from 'node:fs';
import { readFileNoFollowSync } from '../../protocol/node/safe-fs.js';

/** Files remembered at once (an LRU bound): a few per live session. */
const MAX_FILES = 512;
/** Larger files are read each time, never kept. */
const MAX_BYTES = 64 * 1024;

function keyOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
}

export class SmallFiles {
  private readonly files = new Map<string, { key: string; text: string }>();

  /** The file's text; throws as readFileNoFollowSync does (ENOENT, UnsafePath, …). */
  read(path: string): string {
    let st: BigIntStats | undefined;
    let looked = false;
    try {
      st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
      looked = true;
    } catch {
      // unreadable: the read below says why
    }
    // A file that is not there (repo.json outside portable mode, read with every status) costs
    // this one lstat, not a check of every folder above it and a failed open.
    if (looked && st === undefined) {
      this.files.delete(path);
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT', errno: -2, syscall: 'open', path });
    }
    const cached = this.files.get(path);
    if (st && cached && !st.isSymbolicLink() && cached.key === keyOf(st)) return cached.text;
    this.files.delete(path);
    const text = readFileNoFollowSync(path);
    // Keyed by the stat taken before the read: a change racing the read only costs a re-read later.
    if (st && st.isFile() && st.size <= MAX_BYTES) {
      this.files.set(path, { key: keyOf(st), text });
      if (this.files.size > MAX_FILES) this.files.delete(this.files.keys().next().value!);
    }
    return text;
  }
}
