/**
 * The files a checkpoint records on its own: what the Python tool's `_auto_detect_important_files`
 * finds. First `git ls-files -m --others --exclude-standard` (changed and untracked, not ignored);
 * when git fails or finds nothing, files modified in the last hour, at most 5 levels deep. Only
 * "important" extensions count, and at most 10 files are kept.
 *
 * Unlike the Python tool, git's output is read NUL-separated (`-z`), so a name with non-ASCII
 * characters is recorded as it is rather than in git's quoted form, and the fallback walk prunes
 * excluded folders by name instead of matching their names anywhere in the absolute path (which
 * excluded everything in a repository under, say, `/home/me/build/`).
 */
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const MAX_AUTO_FILES = 10;
const MAX_DEPTH = 5;
const RECENT_MS = 3600_000;
const GIT_TIMEOUT_MS = 5000;
/** Bounds the fallback walk so a huge unversioned tree cannot stall a checkpoint. */
const MAX_WALK_ENTRIES = 20_000;

const IMPORTANT_SUFFIXES: ReadonlySet<string> = new Set([
  '.py', '.js', '.ts', '.yaml', '.yml', '.json', '.md', '.html', '.css', '.sh', '.sql', '.env',
]);
const EXCLUDED_NAMES: ReadonlySet<string> = new Set([
  '.git', '__pycache__', 'node_modules', '.pytest_cache', '.workflow_state.json', '.workflow_log.jsonl',
  '.workflow_checkpoints', '.orchestrator', 'venv', '.venv', 'dist', 'build',
]);

/** Python's `PurePath(name).suffix`: a leading dot alone (`.env`) is not a suffix. */
function pythonSuffix(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const i = name.lastIndexOf('.');
  return i > 0 && i < name.length - 1 ? name.slice(i) : '';
}

export function isImportantFile(path: string): boolean {
  return IMPORTANT_SUFFIXES.has(pythonSuffix(path).toLowerCase());
}

/**
 * Important files git reports as changed or untracked, in git's order; null when git is missing,
 * fails, or times out. Reading stops (and git is stopped) once enough files are found.
 */
function gitChangedFiles(root: string): Promise<string[] | null> {
  return new Promise((resolve) => {
    const found: string[] = [];
    let rest = '';
    let done = false;
    const finish = (value: string[] | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(value);
    };
    const child = spawn('git', ['ls-files', '-z', '-m', '--others', '--exclude-standard'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(null);
    }, GIT_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\0');
      rest = parts.pop() ?? '';
      for (const p of parts) if (p && isImportantFile(p) && found.length < MAX_AUTO_FILES) found.push(p);
      if (found.length >= MAX_AUTO_FILES) {
        child.kill('SIGTERM');
        finish(found);
      }
    });
    child.on('error', () => finish(null));
    child.on('close', (code) => finish(code === 0 ? found : null));
  });
}

/** Important files modified in the last hour, depth ≤ 5, excluded folders pruned; sorted per folder. */
async function recentlyModifiedFiles(root: string, now: number): Promise<string[]> {
  const found: string[] = [];
  let visited = 0;
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (found.length >= MAX_AUTO_FILES || ++visited > MAX_WALK_ENTRIES) return;
      if (EXCLUDED_NAMES.has(e.name)) continue;
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory() && depth < MAX_DEPTH) await walk(join(dir, e.name), relPath, depth + 1);
      else if (e.isFile() && isImportantFile(e.name) && (await modifiedSince(join(dir, e.name), now - RECENT_MS))) found.push(relPath);
    }
  };
  await walk(root, '', 1);
  return found;
}

async function modifiedSince(path: string, since: number): Promise<boolean> {
  try {
    return (await stat(path)).mtimeMs > since;
  } catch {
    return false;
  }
}

/** Up to 10 repo-relative files worth recording in a checkpoint, as the Python tool picks them. */
export async function detectChangedFiles(root: string, now = Date.now()): Promise<string[]> {
  const fromGit = await gitChangedFiles(root);
  if (fromGit !== null && fromGit.length > 0) return fromGit;
  return recentlyModifiedFiles(root, now);
}
