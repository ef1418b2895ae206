/**
 * The fingerprint of a working tree: the HEAD commit and a git tree id covering tracked, modified,
 * deleted and untracked-but-not-ignored files (less `.orchestrator/` and the ignore globs), computed
 * by git itself without touching the repository: on a private copy of the index (`GIT_INDEX_FILE`)
 * with a temporary object directory (`GIT_OBJECT_DIRECTORY`, the repo's objects as
 * `GIT_ALTERNATE_OBJECT_DIRECTORIES`), `git status` lists what differs, `update-index --info-only`
 * hashes those files without storing them and `write-tree --missing-ok` gives the tree; on a clean
 * tree it equals `HEAD^{tree}`. Nothing is written to the repo's index or object store, and the
 * temporary folder is removed whatever happens. A submodule counts by its commit (a gitlink).
 *
 * With a cache folder (`.orchestrator/evidence`), the private index is kept there until the repo's
 * index changes, so a fingerprint of an unchanged tree costs one `git status`; the tree objects are
 * kept in `.orchestrator/evidence/objects` (trees only, never blobs) so a later fingerprint can say
 * which files changed since. The daemon calls this with no lock held (it can take a second on a
 * large repository).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { constants as zlibConstants, inflateSync } from 'node:zlib';
import type { EvidenceView } from '../../protocol/evidence.js';
import { utcOffset } from './time.js';

/** What a verification ran on, as stored with its result (`verification_result.evidence`); declared in the protocol. */
export type Evidence = EvidenceView;

/** Files that differ between a recorded tree and the current one (optionally only some paths). */
export interface TreeChange {
  /** Number of files that differ; null when the recorded tree is no longer known. */
  count: number | null;
  /** The first few of them, repo-relative. */
  files: string[];
}

export interface Comparison {
  /** The recorded tree. */
  base: string;
  /** Only files matching these globs (git pathspec globs, relative to the repo root); all when absent. */
  globs?: string[];
}

export interface FingerprintOptions {
  /** Globs (relative to the repo root) whose changes never count, from `settings.evidence.ignore`. */
  ignore?: string[];
  /** Where tree objects of dirty trees are kept; absent: none are kept. */
  storeDir?: string;
  /**
   * orch's own folder for the private index kept between fingerprints (and the temporary folder);
   * absent: every fingerprint starts from a copy of the repo's index, in the system's temp folder.
   */
  cacheDir?: string;
  /** Recorded trees to compare the current tree with. */
  compare?: Comparison[];
}

export interface Fingerprint {
  evidence: Evidence;
  /** One per `compare` entry, in order; absent when unbound. */
  changes: TreeChange[];
}

/** How many changed files a comparison names. */
const NAMES_KEPT = 5;
/** A git process that runs longer than this is stopped: the evidence is then unbound. */
const GIT_TIMEOUT_MS = 120_000;

/** Variables of the daemon's own environment that would point git somewhere else. */
const GIT_REDIRECTS = [
  'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR', 'GIT_NAMESPACE', 'GIT_CEILING_DIRECTORIES', 'GIT_PREFIX',
];

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  for (const k of GIT_REDIRECTS) delete env[k];
  // A file-system monitor's token in the copied index would speak of the repo's index, not ours.
  for (const k of Object.keys(env)) if (k.startsWith('GIT_CONFIG_')) delete env[k];
  Object.assign(env, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.fsmonitor', GIT_CONFIG_VALUE_0: 'false' });
  return env;
}

interface GitRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs git; never rejects (a missing git is exit code null with the error in stderr). */
function git(args: string[], cwd: string, env: NodeJS.ProcessEnv, input?: string): Promise<GitRun> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let done = false;
    const finish = (r: GitRun): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn('git', args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), GIT_TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => finish({ code: null, stdout: '', stderr: e.message }));
    child.on('close', (code) => finish({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

class Unbound extends Error {}

async function must(run: Promise<GitRun>, what: string): Promise<string> {
  const r = await run;
  if (r.code !== 0) throw new Unbound(`${what} failed: ${(r.stderr.trim().split('\n')[0] ?? '') || `exit ${String(r.code)}`}`);
  return r.stdout;
}

/** `:(exclude)` pathspecs: orch's own folder, then the workflow's ignore globs. */
export function excludePathspecs(ignore: string[]): string[] {
  return [':(exclude).orchestrator', ...ignore.map((g) => `:(exclude,glob)${g}`)];
}

/** Whether a loose object file holds a tree: its zlib stream starts with `tree <size>\0`. */
async function isLooseTree(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(64), 0, 64, 0);
    const head = inflateSync(buffer.subarray(0, bytesRead), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    return head.subarray(0, 5).toString('latin1') === 'tree ';
  } catch {
    return false;
  } finally {
    await fh.close();
  }
}

/**
 * Copies the tree objects among the loose objects in `tmpObjects` into `storeDir`, as loose objects
 * (content-addressed: an existing one is never rewritten). Blobs are left behind.
 */
async function keepTrees(tmpObjects: string, storeDir: string): Promise<void> {
  for (const dir of await fs.readdir(tmpObjects)) {
    if (!/^[0-9a-f]{2}$/.test(dir)) continue;
    for (const f of await fs.readdir(path.join(tmpObjects, dir))) {
      if (!/^[0-9a-f]{38,62}$/.test(f)) continue;
      const source = path.join(tmpObjects, dir, f);
      const target = path.join(storeDir, dir, f);
      if (!(await isLooseTree(source)) || (await fs.lstat(target).then(() => true, () => false))) continue;
      await fs.mkdir(path.join(storeDir, dir), { recursive: true });
      const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`;
      await fs.copyFile(source, tmp);
      await fs.rename(tmp, target);
    }
  }
}

/**
 * Copies the index keeping git's racy-entry check intact. git trusts an entry's stat data only
 * when the file was modified before the index was written (by the index file's mtime); a plain
 * copy would carry a fresh mtime, so a same-size edit made in the same second as the last
 * `git add`/`commit` would pass for clean. The copy gets the original's mtime less a millisecond
 * (never later than it, whatever the rounding, and in the same or an earlier second), so
 * any entry git would content-check on the real index is content-checked here too.
 */
async function copyIndex(from: string, to: string): Promise<boolean> {
  // Stat first: an index replaced in between is then older than its mtime says (more checks, never fewer).
  const st = await fs.stat(from).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null; // no index yet: start from an empty one
    throw e;
  });
  if (st === null) return false;
  try {
    await fs.copyFile(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  await fs.utimes(to, st.atimeMs / 1000, (st.mtimeMs - 1) / 1000);
  return true;
}

/** Where a repository's index and objects are, by root (they do not move while orch runs; forgotten on any failure). */
const gitPaths = new Map<string, { index: string; objects: string }>();

async function gitPathsOf(root: string, env: NodeJS.ProcessEnv): Promise<{ index: string; objects: string }> {
  const known = gitPaths.get(root);
  if (known !== undefined) return known;
  const where = await must(git(['rev-parse', '--git-path', 'index', '--git-path', 'objects'], root, env), 'git rev-parse');
  const [indexRel, objectsRel] = where.split('\n');
  if (!indexRel || !objectsRel) throw new Unbound('git rev-parse gave no index or objects path');
  const found = { index: path.resolve(root, indexRel), objects: path.resolve(root, objectsRel) };
  if (gitPaths.size > 100) gitPaths.clear();
  gitPaths.set(root, found);
  return found;
}

async function compareTrees(c: Comparison, tree: string, cwd: string, env: NodeJS.ProcessEnv): Promise<TreeChange> {
  if (c.base === tree) return { count: 0, files: [] };
  const specs = c.globs && c.globs.length > 0 ? ['--', ...c.globs.map((g) => `:(glob)${g}`)] : [];
  const r = await git(['diff-tree', '-r', '-z', '--name-only', '--no-renames', c.base, tree, ...specs], cwd, env);
  if (r.code !== 0) return { count: null, files: [] };
  const files = r.stdout.split('\0').filter((f) => f !== '');
  return { count: files.length, files: files.slice(0, NAMES_KEPT) };
}

/**
 * HEAD and the paths whose working-tree file differs from the index (or is untracked), from
 * `git status --porcelain=v2 -z --branch --no-renames`: `# branch.oid <commit>|(initial)`, then
 * `1 XY sub mH mI mW hH hI path`, `u XY sub m1 m2 m3 mW h1 h2 h3 path` and `? path`; X is the index
 * against HEAD (not our concern), Y the working tree against the index.
 */
export function parseStatus(status: string): { head: string | null; differing: string[] } {
  let head: string | null = null;
  const differing: string[] = [];
  const pathAfter = (rec: string, fields: number): string => {
    let at = 0;
    for (let i = 0; i < fields && at !== -1; i++) at = rec.indexOf(' ', at) + 1;
    return rec.slice(at);
  };
  for (const rec of status.split('\0')) {
    if (rec.startsWith('# branch.oid ')) {
      const oid = rec.slice('# branch.oid '.length);
      head = /^[0-9a-f]{40,64}$/.test(oid) ? oid : null;
    } else if (rec.startsWith('? ')) differing.push(rec.slice(2));
    else if (rec.startsWith('1 ') && rec[3] !== '.') differing.push(pathAfter(rec, 8));
    else if (rec.startsWith('u ')) differing.push(pathAfter(rec, 10));
  }
  return { head, differing };
}

/** A private index kept from an earlier fingerprint: valid while the repo's index is unchanged. */
interface CachedIndex {
  file: string;
  tree: string;
}

/** Temporary folders older than this in the cache folder were left by a killed daemon. */
const STALE_TEMP_MS = 10 * 60_000;

/**
 * The private index is named `index-<key>-<tree>`: the key says which repo index (inode, size,
 * mtime) and which ignore globs it was derived from, the tree is what it last gave. Returns the
 * matching one (if any) and the names of all others, which are outdated.
 */
async function lookUpCache(cacheDir: string, key: string): Promise<{ hit: CachedIndex | null; outdated: string[] }> {
  let hit: CachedIndex | null = null;
  const outdated: string[] = [];
  const now = Date.now();
  for (const name of await fs.readdir(cacheDir)) {
    if (name.startsWith(`index-${key}-`)) hit = { file: path.join(cacheDir, name), tree: name.slice(`index-${key}-`.length) };
    else if (name.startsWith('index-')) outdated.push(name);
    else if (name.startsWith('fp-')) {
      const st = await fs.lstat(path.join(cacheDir, name)).catch(() => null);
      if (st !== null && now - st.mtimeMs > STALE_TEMP_MS) await fs.rm(path.join(cacheDir, name), { recursive: true, force: true }).catch(() => {});
    }
  }
  return { hit, outdated };
}

/** Which repo index and ignore globs a private index derives from; null when the repo has no index. */
async function cacheKey(index: string, ignore: string[]): Promise<string> {
  const st = await fs.stat(index, { bigint: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  const globs = createHash('sha1').update(JSON.stringify(ignore)).digest('hex').slice(0, 8);
  return st === null ? `none-${globs}` : `${st.ino}-${st.size}-${st.mtimeNs}-${globs}`;
}

/**
 * Fingerprints the working tree at `root`. Never throws for git's sake: outside git (or when git
 * fails) the evidence is `unbound` with the reason.
 *
 * The index starts as a copy of the private index of the last fingerprint when the repo's index
 * has not changed since (else as a copy of the repo's index, less `.orchestrator/` and ignored
 * entries). `git ls-files -m -d -o` lists what differs from it; only those paths are hashed, with
 * `update-index --info-only` (no blob is written anywhere), and `write-tree --missing-ok` writes
 * the trees. When nothing differs from the private index, its tree is the answer without a write.
 */
export async function fingerprintTree(root: string, opts: FingerprintOptions = {}): Promise<Fingerprint> {
  const started = performance.now();
  const computedAt = utcOffset();
  const env = baseEnv();
  const ignore = opts.ignore ?? [];
  const exclude = excludePathspecs(ignore);
  let tmp: string | null = null;
  try {
    const where = await gitPathsOf(root, env);
    const key = await cacheKey(where.index, ignore);
    const cache = opts.cacheDir !== undefined ? await lookUpCache(opts.cacheDir, key) : null;
    tmp = await fs.mkdtemp(opts.cacheDir !== undefined ? path.join(opts.cacheDir, 'fp-') : path.join(tmpdir(), 'orch-fp-'));
    const tmpIndex = path.join(tmp, 'index');
    const tmpObjects = path.join(tmp, 'objects');
    await fs.mkdir(tmpObjects);
    const store = opts.storeDir !== undefined && (await fs.stat(opts.storeDir).then((s) => s.isDirectory(), () => false)) ? opts.storeDir : null;
    // Reading sees the repo's objects, orch's trees and this run's temporary objects.
    const tenv: NodeJS.ProcessEnv = {
      ...env,
      GIT_INDEX_FILE: tmpIndex,
      GIT_OBJECT_DIRECTORY: tmpObjects,
      GIT_ALTERNATE_OBJECT_DIRECTORIES: (store !== null ? [where.objects, store] : [where.objects]).join(path.delimiter),
    };
    // update-index --info-only writes no blob, so write-tree's trees can go straight into the store.
    const treeEnv: NodeJS.ProcessEnv = store !== null ? { ...tenv, GIT_OBJECT_DIRECTORY: store, GIT_ALTERNATE_OBJECT_DIRECTORIES: where.objects } : tenv;
    let blobsWritten = false;
    const hit = cache?.hit !== null && cache?.hit !== undefined && (await copyIndex(cache.hit.file, tmpIndex)) ? cache.hit : null;
    const fromRepoIndex = hit === null && (await copyIndex(where.index, tmpIndex));
    if (fromRepoIndex) {
      // Tracked files under .orchestrator/ (portable mode) or ignored globs leave the copy.
      const dropped = ['.orchestrator', ...ignore.map((g) => `:(glob)${g}`)];
      await must(git(['rm', '-r', '-f', '-q', '--cached', '--ignore-unmatch', '--', ...dropped], root, tenv), 'git rm --cached');
    }
    // `git status` (parallel stat of the tracked files, one walk for untracked ones) lists what
    // differs from the index, and HEAD; submodules count by their commit only. On a fresh copy it
    // may also refresh the copy's stat data (its optional lock is on the copy, never on the repo's
    // index), so the private index kept from it does not make git read the same files again; on
    // the private index itself it runs without the lock, which is faster.
    const { GIT_OPTIONAL_LOCKS: _noLocks, ...refreshEnv } = tenv;
    const status = await must(
      git(
        ['status', '--porcelain=v2', '-z', '--branch', '--no-ahead-behind', '--untracked-files=all', '--no-renames', '--ignore-submodules=dirty', '--', '.', ...exclude],
        root,
        hit === null ? refreshEnv : tenv,
      ),
      'git status',
    );
    const { head, differing } = parseStatus(status);
    let tree: string;
    if (hit !== null && differing.length === 0) {
      tree = hit.tree;
    } else {
      if (differing.length > 0) {
        const updated = await git(['update-index', '--add', '--remove', '--info-only', '-z', '--stdin'], root, tenv, differing.join('\0') + '\0');
        // What update-index cannot take (say, an untracked nested repository) git add can.
        if (updated.code !== 0) {
          await must(git(['add', '-A', '--', '.', ...exclude], root, tenv), 'git add -A');
          blobsWritten = true;
        }
      }
      tree = (await must(git(['write-tree', '--missing-ok'], root, blobsWritten ? tenv : treeEnv), 'git write-tree')).trim();
      if (!/^[0-9a-f]{40,64}$/.test(tree)) throw new Unbound(`git write-tree gave no tree id: ${tree.slice(0, 80)}`);
    }
    const [changes] = await Promise.all([
      Promise.all((opts.compare ?? []).map((c) => compareTrees(c, tree, root, tenv))),
      store !== null && blobsWritten ? keepTrees(tmpObjects, store).catch(() => {}) : undefined,
    ]);
    if (opts.cacheDir !== undefined && cache !== null && tree !== hit?.tree) await keepIndex(opts.cacheDir, tmpIndex, key, tree, cache.outdated, hit);
    return { evidence: { head, tree, method: 'git-tree', computedAt, ms: Math.round(performance.now() - started) }, changes };
  } catch (err) {
    gitPaths.delete(root);
    if (!(err instanceof Unbound) && (err as NodeJS.ErrnoException).code === undefined) throw err;
    const reason = err instanceof Unbound ? err.message : `could not prepare the fingerprint: ${(err as Error).message}`;
    return { evidence: { head: null, tree: null, method: 'unbound', computedAt, ms: Math.round(performance.now() - started), reason }, changes: [] };
  } finally {
    if (tmp !== null) await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
  }
}

/** Keeps this run's index as the private index for `key` (a cache: losing it costs one full run). */
async function keepIndex(cacheDir: string, tmpIndex: string, key: string, tree: string, outdated: string[], replaced: CachedIndex | null): Promise<void> {
  try {
    const name = `index-${key}-${tree}`;
    await fs.rename(tmpIndex, path.join(cacheDir, name));
    const gone = (replaced !== null ? [...outdated, path.basename(replaced.file)] : outdated).filter((n) => n !== name);
    await Promise.all(gone.map((name) => fs.rm(path.join(cacheDir, name), { force: true })));
  } catch {
    // the next fingerprint starts from the repo's index
  }
}
