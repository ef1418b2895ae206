/**
 * The fingerprint of a working tree: the HEAD commit and a git tree id covering tracked, modified,
 * deleted and untracked-but-not-ignored files, computed by git itself without touching the
 * repository. A copy of the index and a temporary object directory (`GIT_INDEX_FILE`,
 * `GIT_OBJECT_DIRECTORY`, the repo's objects as `GIT_ALTERNATE_OBJECT_DIRECTORIES`) take
 * `git add -A` and `git write-tree`; on a clean tree the result equals `HEAD^{tree}`. Nothing is
 * written to the repo's index or object store, and the temporary folder is removed whatever
 * happens. A submodule counts by its commit (git records it as a gitlink).
 *
 * The tree objects a dirty tree produced are kept in orch's own store
 * (`.orchestrator/evidence/objects`, trees only, never blobs) so a later fingerprint can say which
 * files changed since. The daemon calls this with no lock held (it can take a second on a large
 * repository).
 */
import { spawn } from 'node:child_process';
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
 * `git add`/`commit` would pass for clean. The copy gets the original's mtime less a second, so
 * any entry git would content-check on the real index is content-checked here too.
 */
async function copyIndex(from: string, to: string): Promise<void> {
  // Stat first: an index replaced in between is then older than its mtime says (more checks, never fewer).
  const st = await fs.stat(from).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null; // no index yet: start from an empty one
    throw e;
  });
  if (st === null) return;
  await fs.copyFile(from, to);
  await fs.utimes(to, st.atimeMs / 1000, st.mtimeMs / 1000 - 1);
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
 * Fingerprints the working tree at `root`. Never throws for git's sake: outside git (or when git
 * fails) the evidence is `unbound` with the reason.
 */
export async function fingerprintTree(root: string, opts: FingerprintOptions = {}): Promise<Fingerprint> {
  const started = performance.now();
  const computedAt = utcOffset();
  const env = baseEnv();
  let tmp: string | null = null;
  try {
    const where = await gitPathsOf(root, env);
    // HEAD is read while `git add` runs: neither waits for the other.
    const headRun = git(['rev-parse', '-q', '--verify', 'HEAD^{commit}'], root, env);
    tmp = await fs.mkdtemp(path.join(tmpdir(), 'orch-fp-'));
    const tmpIndex = path.join(tmp, 'index');
    const tmpObjects = path.join(tmp, 'objects');
    await fs.mkdir(tmpObjects);
    await copyIndex(where.index, tmpIndex);
    const alternates = [where.objects];
    if (opts.storeDir !== undefined && (await fs.stat(opts.storeDir).then((s) => s.isDirectory(), () => false))) alternates.push(opts.storeDir);
    const tenv: NodeJS.ProcessEnv = {
      ...env,
      GIT_INDEX_FILE: tmpIndex,
      GIT_OBJECT_DIRECTORY: tmpObjects,
      GIT_ALTERNATE_OBJECT_DIRECTORIES: alternates.join(path.delimiter),
    };
    await must(git(['add', '-A', '--', '.', ...excludePathspecs(opts.ignore ?? [])], root, tenv), 'git add -A');
    const tree = (await must(git(['write-tree'], root, tenv), 'git write-tree')).trim();
    const [changes, headDone] = await Promise.all([
      Promise.all((opts.compare ?? []).map((c) => compareTrees(c, tree, root, tenv))),
      headRun,
      opts.storeDir !== undefined ? keepTrees(tmpObjects, opts.storeDir).catch(() => {}) : undefined,
    ]);
    const head = headDone.code === 0 ? headDone.stdout.trim() : null;
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
