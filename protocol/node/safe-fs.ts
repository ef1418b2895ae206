/**
 * The one gate for every file orch opens under `.orchestrator/`, in the daemon and the client alike.
 * A repository can carry symbolic links (a hostile clone, `git add -f`, a script), and a link at
 * any level — `.orchestrator` itself, `sessions/`, `sessions/<id>`, `checkpoints/`, `feedback/`, or
 * the file — would otherwise make orch write (or read) wherever it points. So, before anything is
 * opened, every directory from `.orchestrator/` down to the file is checked with `lstat` and must
 * be a real directory; the file itself is opened with `O_NOFOLLOW` (and checked with `lstat` first
 * for callers, such as write-file-atomic, that open by name). Paths outside `.orchestrator/` (the
 * user's `workflow.yaml`) get the check on their last component only: the root is realpath'd.
 * A planted link is refused with {@link UnsafePathError}, which names the link and the fix.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, sep } from 'node:path';

/** Name of orch's folder (as in paths.ts; repeated here so this module imports nothing of ours). */
const ORCH_DIR_NAME = '.orchestrator';

export type Access = 'read' | 'write';

/** A symbolic link (or a non-folder where a folder must be) found on the way to a file orch opens. */
export class UnsafePathError extends Error {
  readonly errorName = 'UnsafePath' as const;
  readonly details: { file: string };

  constructor(
    readonly file: string,
    access: Access,
    what: 'link' | 'not-a-folder',
  ) {
    let target = '';
    if (what === 'link') {
      try {
        target = ` to ${readlinkSync(file)}`;
      } catch {
        // gone meanwhile
      }
    }
    super(
      what === 'link'
        ? `Refusing to ${access} through ${file}: it is a symbolic link${target}, and orch never follows links inside .orchestrator/; remove the link (rm ${file}) and run the command again.`
        : `Refusing to ${access} through ${file}: it should be a folder but is not; move it away and run the command again.`,
    );
    this.name = 'UnsafePathError';
    this.details = { file };
  }
}

/** The folders from `.orchestrator` down to (and including) `dir`; empty when `dir` is not inside one. */
function guardedDirs(dir: string): readonly string[] {
  // A pure function of the text, asked about the same few folders on every write (a session's
  // save checks about ten paths in one folder): kept, up to a bound, instead of split and joined
  // each time. Only the names are kept; every call still lstat's each folder.
  let out = guardedCache.get(dir);
  if (out !== undefined) return out;
  const parts = dir.split(sep);
  const at = parts.lastIndexOf(ORCH_DIR_NAME);
  const dirs: string[] = [];
  if (at > 0) for (let i = at; i < parts.length; i++) dirs.push(parts.slice(0, i + 1).join(sep));
  out = Object.freeze(dirs);
  if (guardedCache.size >= GUARDED_CACHE_MAX) guardedCache.clear();
  guardedCache.set(dir, out);
  return out;
}

const GUARDED_CACHE_MAX = 1024;
const guardedCache = new Map<string, readonly string[]>();

function lstatOrNull(p: string) {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Throws {@link UnsafePathError} when any folder from `.orchestrator/` down to `path`'s folder, or
 * `path` itself, is a symbolic link. Missing components are fine (nothing below them exists).
 * Synchronous on purpose: a few `lstat`s of directory entries cost microseconds.
 */
export function assertNoLinks(path: string, access: Access = 'write'): void {
  for (const d of guardedDirs(dirname(path))) {
    const st = lstatOrNull(d);
    if (st === null) return;
    if (st.isSymbolicLink()) throw new UnsafePathError(d, access, 'link');
    if (!st.isDirectory()) throw new UnsafePathError(d, access, 'not-a-folder');
  }
  const st = lstatOrNull(path);
  if (st?.isSymbolicLink()) throw new UnsafePathError(path, access, 'link');
}

/** Like {@link assertNoLinks} for a folder: every level including `dir` must be a real folder. */
export function assertNoLinksDir(dir: string, access: Access = 'write'): void {
  assertNoLinks(dir, access);
  const st = lstatOrNull(dir);
  if (st !== null && !st.isDirectory()) throw new UnsafePathError(dir, access, 'not-a-folder');
}

function refusalOnLoop(err: unknown, path: string, access: Access): unknown {
  // O_NOFOLLOW on a link fails with ELOOP: a link planted between the check and the open.
  return (err as NodeJS.ErrnoException).code === 'ELOOP' ? new UnsafePathError(path, access, 'link') : err;
}

/** Opens `path` with `flags` plus `O_NOFOLLOW`, after checking the folders above it. */
export async function openNoFollow(path: string, flags: number, mode = 0o644): Promise<FileHandle> {
  const access: Access = (flags & (constants.O_WRONLY | constants.O_RDWR)) !== 0 ? 'write' : 'read';
  assertNoLinks(path, access);
  try {
    return await open(path, flags | constants.O_NOFOLLOW, mode);
  } catch (err) {
    throw refusalOnLoop(err, path, access);
  }
}

/** Synchronous {@link openNoFollow}; returns a file descriptor. */
export function openNoFollowSync(path: string, flags: number, mode = 0o644): number {
  const access: Access = (flags & (constants.O_WRONLY | constants.O_RDWR)) !== 0 ? 'write' : 'read';
  assertNoLinks(path, access);
  try {
    return openSync(path, flags | constants.O_NOFOLLOW, mode);
  } catch (err) {
    throw refusalOnLoop(err, path, access);
  }
}

/** Reads a whole file without following links; the error of a missing file is ENOENT as usual. */
export async function readFileNoFollow(path: string): Promise<string> {
  const handle = await openNoFollow(path, constants.O_RDONLY);
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Synchronous {@link readFileNoFollow}. */
export function readFileNoFollowSync(path: string): string {
  const fd = openNoFollowSync(path, constants.O_RDONLY);
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * `mkdir -p` that never follows a link: each missing level from `.orchestrator/` down is created
 * on its own, and each existing level must be a real folder. Levels above `.orchestrator` (the
 * repo root and its parents) are created normally.
 */
export function mkdirNoFollow(dir: string, mode = 0o755): void {
  const levels = guardedDirs(dir);
  if (levels.length === 0) {
    mkdirSync(dir, { recursive: true, mode });
    return;
  }
  mkdirSync(dirname(levels[0] as string), { recursive: true });
  for (const level of levels) {
    let st = lstatOrNull(level);
    if (st === null) {
      try {
        mkdirSync(level, { mode });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      st = lstatSync(level);
    }
    if (st.isSymbolicLink()) throw new UnsafePathError(level, 'write', 'link');
    if (!st.isDirectory()) throw new UnsafePathError(level, 'write', 'not-a-folder');
  }
}
