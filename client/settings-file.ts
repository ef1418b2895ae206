/**
 * Editors' and agents' JSON settings files that orch adds itself to on request (`orch hook
 * install`, `orch mcp config --write`): read the file if there is one, change only orch's entries,
 * keep every other key, and replace the file atomically (temp file, fsync, rename, fsync of the
 * folder), never through a symbolic link. A file that is not a JSON object is left alone, with an
 * error naming it.
 */
import { closeSync, constants, fsyncSync, mkdirSync, openSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { readFileNoFollowSync } from '../protocol/node/safe-fs.js';
import { CliError } from './errors.js';

export type JsonObject = { [k: string]: unknown };

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The file's JSON object, or `{}` when the file does not exist. */
export function readJsonObject(file: string, root: string): JsonObject {
  let text: string;
  try {
    text = readFileNoFollowSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return {};
    if (code === 'ELOOP') throw new CliError(`${relative(root, file)} is a symbolic link; orch does not write through links: edit it by hand, or replace the link with a file.`, 'UnsafePath', { file });
    throw err;
  }
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    throw new CliError(
      `${relative(root, file)} is not valid JSON (${(err as Error).message}); fix it or move it away, then run the command again. Nothing was changed.`,
      'InvalidArgument',
      { file },
    );
  }
  if (!isObject(value)) {
    throw new CliError(`${relative(root, file)} does not hold a JSON object; fix it or move it away, then run the command again. Nothing was changed.`, 'InvalidArgument', { file });
  }
  return value;
}

/** Writes `value` as the whole of `file` (2-space JSON), atomically and durably, creating its folder. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeTextAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Writes `text` as the whole of `file`, atomically and durably, creating its folder. */
export function writeTextAtomic(file: string, text: string): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.orch-${process.pid}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    // rename replaces a link at `file` itself rather than writing through it.
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const dfd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** A word for a POSIX shell: as-is when it needs no quoting, else in single quotes. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * How an editor or agent starts this orch: absolute paths to node and to orch's entry point, since
 * editors may not inherit the shell's PATH (and a version manager's `node` may not be first on it).
 */
export function orchLaunch(): { node: string; orch: string } {
  let orch = process.argv[1] ?? '';
  try {
    orch = realpathSync(orch);
  } catch {
    // keep the path as given
  }
  return { node: process.execPath, orch };
}
