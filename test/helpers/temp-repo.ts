import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface TempRepo {
  root: string;
  remove(): void;
}

/**
 * Every temp folder a test makes is written to the run's list (`$ORCH_TEST_RUN_DIR/temp-dirs`,
 * made by scripts/jest-global-setup.mjs), and scripts/jest-global-teardown.mjs removes whatever is
 * still there at the end of the run (stopping its daemon first). Tests still remove their own
 * folders in afterEach/afterAll; the list catches those a failed or crashed test left behind.
 */
function registerTempDir(dir: string): void {
  const runDir = process.env.ORCH_TEST_RUN_DIR;
  if (runDir) appendFileSync(join(runDir, 'temp-dirs'), `${dir}\n`);
}

/** A fresh temp folder `/tmp/<prefix>XXXXXX` (real path), registered for removal at the end of the run. */
export function makeTempDir(prefix = 'orch-test-'): string {
  const dir = realpathSync(mkdtempSync(join('/tmp', prefix)));
  registerTempDir(dir);
  return dir;
}

/** A fresh temp directory (a git repo unless `git: false`) under /tmp, whose short path keeps sockets short. */
export function makeTempRepo(opts: { git?: boolean; prefix?: string } = {}): TempRepo {
  const root = makeTempDir(opts.prefix ?? 'orch-test-');
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    if (opts.git !== false) {
      execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: root });
      execFileSync('git', ['config', 'user.email', 'test@example.invalid'], { cwd: root });
      execFileSync('git', ['config', 'user.name', 'orch test'], { cwd: root });
    }
  } catch (err) {
    remove();
    throw err;
  }
  return { root, remove };
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}
