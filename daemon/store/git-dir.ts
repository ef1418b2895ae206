/**
 * The git side of a repository, as portable mode needs it: where its index is (a pull or a
 * checkout rewrites it, so the daemon watches it), which of orch's per-checkout files git tracks,
 * and the versions of a file git holds during a merge. Every git call is read-only, has a
 * deadline, and answers null (or nothing) when git is missing or the folder is no repository.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

/** The folder holding `.git` (dir or file) at or above `root`, and the git directory it names; null outside git. */
export function findGitDir(root: string): { top: string; gitDir: string } | null {
  let dir = root;
  for (;;) {
    const dotGit = join(dir, '.git');
    try {
      const st = statSync(dotGit);
      if (st.isDirectory()) return { top: dir, gitDir: dotGit };
      if (st.isFile()) {
        // A worktree or submodule: `.git` is a file `gitdir: <path>`.
        const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
        if (m) return { top: dir, gitDir: isAbsolute(m[1]!.trim()) ? m[1]!.trim() : resolve(dir, m[1]!.trim()) };
      }
    } catch {
      // not here: look further up
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The index file git rewrites on every pull, merge, checkout and reset; null outside git. */
export function gitIndexPath(root: string): string | null {
  const found = findGitDir(root);
  return found ? join(found.gitDir, 'index') : null;
}

/** Runs git read-only in `cwd`; its stdout as a Buffer, or null when it fails. */
export function gitOutput(cwd: string, args: string[], timeoutMs = 10_000): Promise<Buffer | null> {
  return new Promise((done) => {
    execFile('git', args, { cwd, timeout: timeoutMs, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (err, stdout) => {
      done(err ? null : stdout);
    });
  });
}

/** `path` (absolute) as git names it from `cwd`: `./sessions/…`, so it works below the top level too. */
function pathspec(cwd: string, path: string): string {
  return `./${relative(cwd, path)}`;
}

/** Which of `paths` (absolute) git tracks; empty outside git. */
export async function trackedAmong(root: string, paths: string[]): Promise<string[]> {
  const out = await gitOutput(root, ['ls-files', '-z', '--', ...paths.map((p) => pathspec(root, p))]);
  if (out === null) return [];
  const tracked = new Set(out.toString('utf8').split('\0').filter(Boolean).map((p) => resolve(root, p)));
  return paths.filter((p) => tracked.has(p));
}

/**
 * The versions of a file git holds while it is unmerged (a merge, rebase or cherry-pick stopped
 * on it): stage 2 (`ours`) and stage 3 (`theirs`), in git's own meaning of the words. Null when the
 * file is not unmerged.
 */
export async function unmergedVersions(root: string, path: string): Promise<{ ours: string | null; theirs: string | null } | null> {
  const out = await gitOutput(root, ['ls-files', '-u', '-z', '--', pathspec(root, path)]);
  if (out === null) return null;
  const stages = new Map<string, string>();
  for (const entry of out.toString('utf8').split('\0').filter(Boolean)) {
    const m = /^\d+ ([0-9a-f]+) ([123])\t/.exec(entry);
    if (m) stages.set(m[2]!, m[1]!);
  }
  if (stages.size === 0) return null;
  const blob = async (stage: string) => {
    const sha = stages.get(stage);
    if (sha === undefined) return null;
    const text = await gitOutput(root, ['cat-file', 'blob', sha]);
    return text === null ? null : text.toString('utf8');
  };
  return { ours: await blob('2'), theirs: await blob('3') };
}

/** The file as the commit being merged in (`MERGE_HEAD`) has it, or null. */
export async function mergeHeadVersion(root: string, path: string): Promise<string | null> {
  const out = await gitOutput(root, ['show', `MERGE_HEAD:${pathspec(root, path)}`]);
  return out === null ? null : out.toString('utf8');
}
