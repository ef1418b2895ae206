import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface TempRepo {
  root: string;
  remove(): void;
}

/** A fresh temp directory (a git repo unless `git: false`) under /tmp, whose short path keeps sockets short. */
export function makeTempRepo(opts: { git?: boolean; prefix?: string } = {}): TempRepo {
  const root = realpathSync(mkdtempSync(join('/tmp', opts.prefix ?? 'orch-test-')));
  if (opts.git !== false) {
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: root });
    execFileSync('git', ['config', 'user.email', 'test@example.invalid'], { cwd: root });
    execFileSync('git', ['config', 'user.name', 'orch test'], { cwd: root });
  }
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}
