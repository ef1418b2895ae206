/**
 * Repo identity (`.orchestrator/meta.json`) and the mode that decides what git may see.
 * Normal mode: `.orchestrator/.gitignore` is `*`, so nothing of orch's is ever committed.
 * Portable mode: sessions may be committed; the `.gitignore` lists only runtime files.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { RepoPaths } from '../../protocol/node/paths.js';
import { ORCH_VERSION } from '../../protocol/version.js';
import { writeDurable } from './durable-write.js';
import { utcOffset } from '../engine/time.js';
import { readFileNoFollow } from '../../protocol/node/safe-fs.js';

export type RepoMode = 'normal' | 'portable';

export interface RepoMeta {
  created_at: string;
  repo_root: string;
  git_remote: string | null;
  orchestrator_version: string;
  mode: RepoMode;
}

export const NORMAL_GITIGNORE = '*\n';
export const PORTABLE_GITIGNORE =
  '# orch portable mode: sessions may be committed; runtime files never are.\n' +
  'daemon.*\n.migration.lock\n*.takeover\n*.[0-9]*\ncommit.pending\nevidence/\nsession-index.jsonl\n';

function gitRemote(root: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['config', '--get', 'remote.origin.url'], { cwd: root, timeout: 5000 }, (err, stdout) => {
      resolve(err ? null : stdout.trim() || null);
    });
  });
}

/** `readText` reads the file (default: fresh, without following links). */
export async function readRepoMeta(
  paths: RepoPaths,
  readText: (path: string) => string | Promise<string> = readFileNoFollow,
): Promise<RepoMeta | null> {
  try {
    const parsed = JSON.parse(await readText(paths.meta)) as Partial<RepoMeta>;
    if (typeof parsed !== 'object' || parsed === null) return null;
    return {
      created_at: String(parsed.created_at ?? ''),
      repo_root: String(parsed.repo_root ?? ''),
      git_remote: parsed.git_remote ?? null,
      orchestrator_version: String(parsed.orchestrator_version ?? ''),
      mode: parsed.mode === 'portable' ? 'portable' : 'normal',
    };
  } catch {
    return null;
  }
}

/** A warning when meta.json was written for another folder (the folder was copied or moved). */
export function copiedRepoWarning(meta: RepoMeta | null, root: string): string | null {
  if (!meta || !meta.repo_root || meta.repo_root === root) return null;
  return `.orchestrator/meta.json says this state belongs to ${meta.repo_root}, but this repository is ${root}: the folder was copied or moved. orch uses it as it is; delete .orchestrator/meta.json to adopt it here.`;
}

/**
 * The copied-or-moved warning for this repository, or null; checked on each status and change (so
 * status, every change and the daemon log say it, not only `orch start`), through the store's
 * cache of unchanged small files when there is one.
 */
export async function repoCopiedWarning(ctx: { paths: RepoPaths; store?: { readSmall(path: string): string } }): Promise<string | null> {
  const store = ctx.store;
  return copiedRepoWarning(await readRepoMeta(ctx.paths, store ? (p) => store.readSmall(p) : undefined), ctx.paths.root);
}

/**
 * Writes the mode's `.gitignore` when there is none, or when the mode just changed. An existing
 * file is otherwise left alone: the user may have edited it on purpose.
 */
async function writeGitignore(paths: RepoPaths, mode: RepoMode, modeChanged: boolean): Promise<void> {
  const wanted = mode === 'portable' ? PORTABLE_GITIGNORE : NORMAL_GITIGNORE;
  let existing: string | null = null;
  try {
    existing = await readFileNoFollow(paths.gitignore);
  } catch {
    existing = null;
  }
  if (existing === null || (modeChanged && existing !== wanted)) await writeDurable(paths.gitignore, wanted);
}

/**
 * Makes sure meta.json and the `.gitignore` exist and match the mode. `portable: true` switches
 * the repo to portable mode (remembered); otherwise the recorded mode is kept.
 */
export async function ensureRepoMeta(paths: RepoPaths, portable: boolean | undefined): Promise<{ meta: RepoMeta; warnings: string[] }> {
  const existing = await readRepoMeta(paths);
  const warnings: string[] = [];
  const copied = copiedRepoWarning(existing, paths.root);
  if (copied) warnings.push(copied);
  let meta = existing;
  let modeChanged = false;
  if (!meta) {
    meta = {
      created_at: utcOffset(),
      repo_root: paths.root,
      git_remote: await gitRemote(paths.root),
      orchestrator_version: ORCH_VERSION,
      mode: portable ? 'portable' : 'normal',
    };
    await writeDurable(paths.meta, JSON.stringify(meta, null, 2) + '\n');
  } else if (portable && meta.mode !== 'portable') {
    meta = { ...meta, mode: 'portable' };
    modeChanged = true;
    await writeDurable(paths.meta, JSON.stringify(meta, null, 2) + '\n');
  }
  await writeGitignore(paths, meta.mode, modeChanged || (existing === null && meta.mode === 'portable'));
  return { meta, warnings };
}

/**
 * At daemon start, before any other file exists in `.orchestrator/`: make sure git ignores what
 * it must. Without meta.json the mode is normal, so a bare `orch status` never leaves daemon
 * files for git to show.
 */
export async function ensureGitignoreAtStart(paths: RepoPaths): Promise<void> {
  const meta = await readRepoMeta(paths);
  await writeGitignore(paths, meta?.mode ?? 'normal', false);
}
