/**
 * Portable-mode fixtures: a bare remote and clones of it in one temp folder, driven with real
 * git. Commits carry their identity through `-c` (never the user's global config). Every clone's
 * daemon is stopped and the whole folder removed after each test, pass or fail.
 */
import { afterEach } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killDaemonsOf } from './daemons.js';
import { runOrch, runOrchJson, type OrchResult } from './run-orch.js';
import { makeTempDir } from './temp-repo.js';

const IDENTITY = ['-c', 'user.name=orch test', '-c', 'user.email=test@example.invalid', '-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main'];

/** Runs git in `cwd` with a test identity; throws (with git's output) on failure unless `allowFail`. */
export function git(cwd: string, args: string[], allowFail = false): { code: number; out: string } {
  try {
    const out = execFileSync('git', [...IDENTITY, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    if (!allowFail) throw new Error(`git ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    return { code: e.status ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Two phases, three plain items: small, with a phase to advance into. */
export const TWO_PHASES = `name: "Shared"
version: "1.0"
phases:
  - id: ONE
    name: "One"
    items:
      - id: a1
        name: "A1"
      - id: a2
        name: "A2"
  - id: TWO
    name: "Two"
    items:
      - id: b1
        name: "B1"
`;

export interface Team {
  dir: string;
  remote: string;
  /** A new clone of the remote named `name` (folder `<dir>/<name>`). */
  clone(name: string): string;
  /** orch in clone `root`, in this test's daemon mode. */
  orch(root: string, args: string[], env?: NodeJS.ProcessEnv): Promise<OrchResult>;
  orchJson<T = any>(root: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; json: T; stderr: string }>;
}

/**
 * Registers the teardown and returns `team(daemon)`: a remote whose `main` holds workflow.yaml,
 * plus clones. `daemon` is the ORCH_DAEMON value every orch of the test gets.
 */
export function useTeams(): (daemon: '0' | '1') => Team {
  const made: { dir: string; clones: string[] }[] = [];
  afterEach(async () => {
    for (const t of made.splice(0)) {
      for (const c of t.clones) {
        await runOrch(['daemon', 'stop', '--root', c], { cwd: c, env: { ORCH_DAEMON: '1' } }).catch(() => undefined);
        killDaemonsOf(c);
      }
      rmSync(t.dir, { recursive: true, force: true });
    }
  });
  return (daemon) => {
    const dir = makeTempDir('orch-team-');
    const entry = { dir, clones: [] as string[] };
    made.push(entry);
    const remote = join(dir, 'remote.git');
    git(dir, ['init', '-q', '--bare', '-b', 'main', remote]);
    const seed = join(dir, 'seed');
    git(dir, ['init', '-q', '-b', 'main', seed]);
    writeFileSync(join(seed, 'workflow.yaml'), TWO_PHASES);
    git(seed, ['add', '-A']);
    git(seed, ['commit', '-q', '-m', 'workflow']);
    git(seed, ['push', '-q', remote, 'main']);
    rmSync(seed, { recursive: true, force: true });
    const env = (extra: NodeJS.ProcessEnv = {}) => ({ ORCH_DAEMON: daemon, ...extra });
    return {
      dir,
      remote,
      clone(name) {
        const root = join(dir, name);
        git(dir, ['clone', '-q', remote, root]);
        entry.clones.push(root);
        return root;
      },
      orch: (root, args, extra) => runOrch(args, { cwd: root, env: env(extra) }),
      orchJson: (root, args, extra) => runOrchJson(args, { cwd: root, env: env(extra) }),
    };
  };
}

/** Commits everything in the clone (nothing to commit is fine). */
export function commitAll(root: string, message: string): void {
  git(root, ['add', '-A']);
  git(root, ['commit', '-q', '-m', message], true);
}

/** `git pull` (merge, not rebase): returns git's exit code and output. */
export function pull(root: string): { code: number; out: string } {
  return git(root, ['pull', '--no-rebase', '--no-edit', 'origin', 'main'], true);
}

export function push(root: string): void {
  git(root, ['push', '-q', 'origin', 'main']);
}
