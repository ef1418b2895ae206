/**
 * Repo identity and the mode that decides what git may see.
 *
 * - `.orchestrator/meta.json`: this checkout's record of the repo (`created_at`, `repo_root`,
 *   `git_remote`, `orchestrator_version`, `mode`), the file older orch versions wrote, read as it
 *   is (never rewritten for the new layout). It names this checkout's folder, so it is never
 *   shared: the copied-or-moved check compares it with the folder orch runs in.
 * - `.orchestrator/repo.json` (portable mode): what every clone shares, `{"mode": "portable"}`,
 *   nothing machine-specific. Its content is fixed, so two clones that each switched to portable
 *   mode before they first pulled write the same file and git merges it without a conflict. A
 *   fresh clone reads its mode from here.
 * - `.orchestrator/clone.json` (portable mode): this clone's own id, recorded in each session it
 *   writes, so a change to a session another clone wrote last can be pointed out.
 *
 * Normal mode: `.orchestrator/.gitignore` is `*`, so nothing of orch's is ever committed.
 * Portable mode: git sees the session folders, repo.json, `.gitignore` and `.gitattributes`;
 * `.gitignore` keeps out everything that belongs to one checkout (see {@link PORTABLE_GITIGNORE}).
 */
import { execFile } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { relative } from 'node:path';
import type { RepoPaths } from '../../protocol/node/paths.js';
import { ORCH_VERSION } from '../../protocol/version.js';
import { writeDurable } from './durable-write.js';
import { utcOffset } from '../engine/time.js';
import { readFileNoFollow } from '../../protocol/node/safe-fs.js';
import { gitIndexPath, gitOutput } from './git-dir.js';
import { randomHex } from './ids.js';

export type RepoMode = 'normal' | 'portable';

export interface RepoMeta {
  created_at: string;
  repo_root: string;
  git_remote: string | null;
  orchestrator_version: string;
  mode: RepoMode;
}

/** `.orchestrator/repo.json`: what every clone of a portable repo shares (fixed content: see above). */
export interface RepoIdentity {
  mode: RepoMode;
}

export const PORTABLE_REPO_JSON = JSON.stringify({ mode: 'portable' }, null, 2) + '\n';

/** `.orchestrator/clone.json`: this checkout's id (a copy of the folder gets a new one). */
export interface CloneRecord {
  clone_id: string;
  repo_root: string;
  created_at: string;
}

export const NORMAL_GITIGNORE = '*\n';
export const PORTABLE_GITIGNORE =
  '# orch portable mode: git sees the session folders, repo.json, .gitignore and .gitattributes,\n' +
  '# which every clone shares. What belongs to one checkout never leaves it:\n' +
  '# its current session, its own record of the repo (root folder, remote) and its clone id,\n' +
  '/current\n/meta.json\n/clone.json\n' +
  '# the daemon and its locks,\n' +
  'daemon.*\n.migration.lock\n*.takeover\n' +
  '# temp files of atomic writes, crash bookkeeping and the evidence object store,\n' +
  '*.[0-9]*\ncommit.pending\nevidence/\n' +
  '# and rebuildable per-checkout caches: name a cache file *.cache or put it under cache/.\n' +
  '*.cache\n/cache/\n/session-index.jsonl\n';

/** What earlier orch versions wrote as the portable `.gitignore`: replaced by the current one (not a user's edit). */
const OLDER_PORTABLE_GITIGNORES = new Set([
  '# orch portable mode: sessions may be committed; runtime files never are.\ndaemon.*\n.migration.lock\n*.takeover\n*.[0-9]*\n',
  '# orch portable mode: sessions may be committed; runtime files never are.\ndaemon.*\n.migration.lock\n*.takeover\n*.[0-9]*\ncommit.pending\n',
  '# orch portable mode: sessions may be committed; runtime files never are.\ndaemon.*\n.migration.lock\n*.takeover\n*.[0-9]*\ncommit.pending\nevidence/\n',
]);

/**
 * How git merges session files that two clones changed. Each session is written in one clone at
 * a time, so its files normally arrive whole; when two clones did append to one session, its
 * logs (one whole JSON event per line) combine instead of conflicting, and orch detects the
 * mixed session (see daemon/store/session-conflict.ts).
 */
export const PORTABLE_GITATTRIBUTES =
  '# orch portable mode: how git merges session files written in two clones.\n' +
  'sessions/*/log.jsonl merge=union eol=lf\n' +
  'sessions/*/feedback/*.jsonl merge=union eol=lf\n' +
  'sessions/*/*.json eol=lf\n' +
  'sessions/*/checkpoints/*.json eol=lf\n';

function gitRemote(root: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['config', '--get', 'remote.origin.url'], { cwd: root, timeout: 5000 }, (err, stdout) => {
      resolve(err ? null : stdout.trim() || null);
    });
  });
}

type ReadText = (path: string) => string | Promise<string>;

async function readObject(path: string, readText: ReadText): Promise<Record<string, unknown> | null> {
  try {
    const parsed = JSON.parse(await readText(path)) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The shared identity (repo.json), or null. */
export async function readRepoIdentity(paths: RepoPaths, readText: ReadText = readFileNoFollow): Promise<RepoIdentity | null> {
  const parsed = await readObject(paths.repoJson, readText);
  if (!parsed) return null;
  return { mode: parsed.mode === 'portable' ? 'portable' : 'normal' };
}

/**
 * This checkout's view of the repo: meta.json as written (by this or an older orch), with the
 * mode repo.json shares winning. Without meta.json but with repo.json (a fresh clone of a portable
 * repo) it has no `repo_root` yet, so nothing is "copied". `readText` reads a file (default:
 * fresh, without following links).
 */
export async function readRepoMeta(paths: RepoPaths, readText: ReadText = readFileNoFollow): Promise<RepoMeta | null> {
  const [parsed, shared] = await Promise.all([readObject(paths.meta, readText), readRepoIdentity(paths, readText)]);
  if (!parsed && !shared) return null;
  const mode: RepoMode = shared?.mode === 'portable' || parsed?.mode === 'portable' ? 'portable' : 'normal';
  if (!parsed) return { created_at: '', repo_root: '', git_remote: null, orchestrator_version: '', mode };
  return {
    created_at: String(parsed.created_at ?? ''),
    repo_root: String(parsed.repo_root ?? ''),
    git_remote: typeof parsed.git_remote === 'string' ? parsed.git_remote : null,
    orchestrator_version: String(parsed.orchestrator_version ?? ''),
    mode,
  };
}

/**
 * True in portable mode, read synchronously through a cache of unchanged small files (every
 * save asks).
 */
export function isPortable(paths: RepoPaths, readSmall: (path: string) => string): boolean {
  for (const file of [paths.repoJson, paths.meta]) {
    try {
      if ((JSON.parse(readSmall(file)) as { mode?: unknown }).mode === 'portable') return true;
    } catch {
      // missing or unreadable: not portable by this file
    }
  }
  return false;
}

/** A warning when meta.json was written for another folder (the folder was copied or moved). */
export function copiedRepoWarning(meta: RepoMeta | null, root: string): string | null {
  if (!meta || !meta.repo_root || meta.repo_root === root) return null;
  return `.orchestrator/meta.json says this state belongs to ${meta.repo_root}, but this repository is ${root}: the folder was copied or moved. orch uses it as it is; delete .orchestrator/meta.json to adopt it here.`;
}

/** Files under `.orchestrator/` (relative, `/`-separated) that belong to one checkout and must never be committed. */
export function isPerCheckout(rel: string): boolean {
  return (
    rel === 'current' ||
    rel === 'meta.json' ||
    rel === 'clone.json' ||
    rel === '.migration.lock' ||
    /^daemon\./.test(rel) ||
    /\.takeover$/.test(rel) ||
    /(^|\/)commit\.pending$/.test(rel) ||
    rel.startsWith('evidence/') ||
    rel.startsWith('cache/') ||
    /\.cache$/.test(rel)
  );
}

/** Per-checkout files git tracks, by repo: recomputed only when git's index changed. */
const trackedCache = new WeakMap<object, { key: string; files: string[] }>();

function indexKey(paths: RepoPaths): string | null {
  const index = gitIndexPath(paths.root);
  if (index === null) return null;
  try {
    const st = lstatSync(index, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}`;
  } catch {
    return null;
  }
}

/** The per-checkout files under `.orchestrator/` that git tracks (paths relative to the repo root). */
export async function trackedPerCheckoutFiles(paths: RepoPaths, cacheOwner?: object): Promise<string[]> {
  const key = indexKey(paths);
  if (key === null) return [];
  const cached = cacheOwner ? trackedCache.get(cacheOwner) : undefined;
  if (cached && cached.key === key) return cached.files;
  const out = await gitOutput(paths.root, ['ls-files', '-z', '--', `./${relative(paths.root, paths.orchDir)}`]);
  const prefix = `${relative(paths.root, paths.orchDir)}/`;
  const files =
    out === null
      ? []
      : out
          .toString('utf8')
          .split('\0')
          .filter((f) => f.startsWith(prefix) && isPerCheckout(f.slice(prefix.length)));
  if (cacheOwner) trackedCache.set(cacheOwner, { key, files });
  return files;
}

/** The warning for per-checkout files git tracks, with the command that stops tracking them; null when there are none. */
export function trackedFilesWarning(files: string[]): string | null {
  if (files.length === 0) return null;
  const shown = files.slice(0, 8).join(' ') + (files.length > 8 ? ` (and ${files.length - 8} more)` : '');
  const quoted = files.length <= 8 ? files.join(' ') : '.orchestrator/current .orchestrator/meta.json .orchestrator/clone.json';
  return (
    `git tracks files that belong to this checkout only: ${shown}. Every other clone would get them ` +
    `(a conflict in current on the first pull, a wrong "copied or moved" warning from meta.json). ` +
    `Stop tracking them (the files stay on disk): git rm --cached -q -- ${quoted} && git commit -m "orch: stop tracking per-checkout files"`
  );
}

/**
 * The warnings about this repository's `.orchestrator/` that status and every change repeat: the
 * folder was copied or moved, or (portable mode) git tracks per-checkout files. An old meta.json
 * that git tracks names the first clone's folder: that is the tracking problem, not a copy.
 * `ctx.store` (when given) caches unchanged small files.
 */
export async function repoWarnings(ctx: { paths: RepoPaths; store?: { readSmall(path: string): string } }): Promise<string[]> {
  const store = ctx.store;
  const meta = await readRepoMeta(ctx.paths, store ? (p) => store.readSmall(p) : undefined);
  const tracked = meta?.mode === 'portable' ? await trackedPerCheckoutFiles(ctx.paths, store) : [];
  const metaTracked = tracked.some((f) => f.endsWith('/meta.json') && !f.includes('/sessions/'));
  const copied = metaTracked ? null : copiedRepoWarning(meta, ctx.paths.root);
  const trackedWarning = trackedFilesWarning(tracked);
  return [...(copied ? [copied] : []), ...(trackedWarning ? [trackedWarning] : [])];
}

/** The copied-or-moved warning alone (daemon start-up log). */
export async function repoCopiedWarning(ctx: { paths: RepoPaths; store?: { readSmall(path: string): string } }): Promise<string | null> {
  const store = ctx.store;
  return copiedRepoWarning(await readRepoMeta(ctx.paths, store ? (p) => store.readSmall(p) : undefined), ctx.paths.root);
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await readFileNoFollow(path);
  } catch {
    return null;
  }
}

/**
 * Writes the mode's `.gitignore` when there is none, when the mode just changed, or when it is one
 * an earlier orch wrote. Otherwise an existing file is left alone: the user may have edited it.
 */
async function writeGitignore(paths: RepoPaths, mode: RepoMode, modeChanged: boolean): Promise<void> {
  const wanted = mode === 'portable' ? PORTABLE_GITIGNORE : NORMAL_GITIGNORE;
  const existing = await readOrNull(paths.gitignore);
  const outdated = mode === 'portable' && existing !== null && OLDER_PORTABLE_GITIGNORES.has(existing);
  if (existing === null || outdated || (modeChanged && existing !== wanted)) await writeDurable(paths.gitignore, wanted);
}

/** Portable mode's shared files: repo.json and `.gitattributes`, each written once when missing. */
async function ensurePortableFiles(paths: RepoPaths): Promise<void> {
  if ((await readRepoIdentity(paths))?.mode !== 'portable') await writeDurable(paths.repoJson, PORTABLE_REPO_JSON);
  if ((await readOrNull(paths.gitattributes)) === null) await writeDurable(paths.gitattributes, PORTABLE_GITATTRIBUTES);
}

/**
 * Makes sure meta.json, the `.gitignore` and (portable mode) repo.json and `.gitattributes` exist
 * and match the mode. `portable: true` switches the repo to portable mode (remembered); otherwise
 * the recorded mode is kept, repo.json's (shared by every clone) first.
 */
export async function ensureRepoMeta(paths: RepoPaths, portable: boolean | undefined): Promise<{ meta: RepoMeta; warnings: string[] }> {
  const own = await readObject(paths.meta, readFileNoFollow);
  const existing = await readRepoMeta(paths);
  const warnings = await repoWarnings({ paths });
  let meta: RepoMeta;
  let modeChanged = false;
  if (!own) {
    meta = {
      created_at: existing?.created_at || utcOffset(),
      repo_root: paths.root,
      git_remote: await gitRemote(paths.root),
      orchestrator_version: ORCH_VERSION,
      mode: portable || existing?.mode === 'portable' ? 'portable' : 'normal',
    };
    await writeDurable(paths.meta, JSON.stringify(meta, null, 2) + '\n');
    modeChanged = meta.mode === 'portable' && existing === null;
  } else {
    meta = existing!;
    if (portable && own.mode !== 'portable') {
      meta = { ...meta, mode: 'portable' };
      modeChanged = existing!.mode !== 'portable';
      await writeDurable(paths.meta, JSON.stringify({ ...own, mode: 'portable' }, null, 2) + '\n');
    }
  }
  if (meta.mode === 'portable') await ensurePortableFiles(paths);
  await writeGitignore(paths, meta.mode, modeChanged);
  return { meta, warnings };
}

/**
 * At daemon start, before any other file exists in `.orchestrator/`: make sure git ignores what
 * it must (and a portable repo has its shared files). Without meta.json or repo.json the mode is
 * normal, so a bare `orch status` never leaves daemon files for git to show.
 */
export async function ensureGitignoreAtStart(paths: RepoPaths): Promise<void> {
  const meta = await readRepoMeta(paths);
  if (meta?.mode === 'portable') await ensurePortableFiles(paths);
  await writeGitignore(paths, meta?.mode ?? 'normal', false);
}

/**
 * This clone's id, from clone.json; made (and written) when there is none, or when the file was
 * made for another folder (a copy of a checkout is another clone).
 */
export async function cloneId(paths: RepoPaths, readSmall: (path: string) => string): Promise<string> {
  try {
    const rec = JSON.parse(readSmall(paths.cloneJson)) as Partial<CloneRecord>;
    if (typeof rec.clone_id === 'string' && /^[0-9a-f]{8,32}$/.test(rec.clone_id) && rec.repo_root === paths.root) return rec.clone_id;
  } catch {
    // missing or unreadable: make one
  }
  const rec: CloneRecord = { clone_id: randomHex(8), repo_root: paths.root, created_at: utcOffset() };
  await writeDurable(paths.cloneJson, JSON.stringify(rec, null, 2) + '\n');
  return rec.clone_id;
}
