/**
 * A state file that is present but does not parse is moved aside, never treated as empty and never
 * overwritten (reference §4: the statewave reports). The new name carries a timestamp, and the move
 * uses link + unlink, so an earlier quarantined copy with the same name can never be replaced.
 */
import { link, readdir, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDir } from './durable-write.js';
import { parseLossless } from '../engine/pyjson.js';
import { OrchError } from '../errors.js';
import { assertNoLinks, readFileNoFollow } from '../../protocol/node/safe-fs.js';

/** `20250102T030405.678Z`: sortable, no `:` (awkward in file names), and never ending in a digit. */
function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '');
}

/**
 * Moves `path` to `<path>.corrupt-<timestamp>` and returns the new path, or null when `path` was
 * already gone (another reader moved it first). Only call this for files orch itself owns under
 * `.orchestrator/`: the legacy tool's files in the repo root are never moved.
 */
export async function quarantineFile(path: string, now = new Date()): Promise<string | null> {
  assertNoLinks(path);
  for (let attempt = 0; attempt < 100; attempt++) {
    const target = `${path}.corrupt-${stamp(now)}${attempt === 0 ? '' : `-${attempt}`}`;
    try {
      await link(path, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code === 'ENOENT') return null;
      throw err;
    }
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await fsyncDir(dirname(path));
    return target;
  }
  throw new Error(`Could not find a free name to move ${path} aside.`);
}

function parsesAsObject(text: string): boolean {
  try {
    const value: unknown = parseLossless(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * Runs `parse` on `text`, the content just read from `path`. When it fails because the text is not
 * a JSON object at all (torn, truncated, garbage), the file is moved aside and the error says
 * where it went; a file that parses but is wrong in some other way is left in place. If `path`
 * changed since it was read (someone replaced it), nothing is moved.
 */
export async function parseOrQuarantine<T>(path: string, text: string, parse: () => T): Promise<T> {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof OrchError) || err.errorName !== 'StateCorrupt' || parsesAsObject(text)) throw err;
    const still = await readFileNoFollow(path).catch(() => null);
    const movedTo = still === text ? await quarantineFile(path) : null;
    if (movedTo === null) throw err;
    throw new OrchError(
      'StateCorrupt',
      `${err.message.replace(/\.$/, '')}. orch moved it aside to ${movedTo} (nothing was overwritten); restore it from there, or start a new session with orch start.`,
      { ...(err.details ?? {}), movedTo },
    );
  }
}

/**
 * The newest copy of `path` that orch moved aside (`<path>.corrupt-<timestamp>`), or null. Lets every
 * later command keep naming where a corrupt file went, not only the one that moved it.
 */
export async function quarantinedCopy(path: string): Promise<string | null> {
  const prefix = `${basename(path)}.corrupt-`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  const copies = names.filter((n) => n.startsWith(prefix)).sort();
  const newest = copies[copies.length - 1];
  return newest === undefined ? null : join(dirname(path), newest);
}
