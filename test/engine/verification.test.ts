import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OrchError } from '../../daemon/errors.js';
import {
  checkFileExists,
  commandVerificationResult,
  gateResult,
  parseCommand,
  runCommand,
} from '../../daemon/engine/verification.js';
import { makeTempDir } from '../helpers/temp-repo.js';

let base = '';
let repo = '';
let outside = '';

beforeAll(async () => {
  base = makeTempDir('orch-verify-');
  repo = path.join(base, 'repo');
  outside = path.join(base, 'outside');
  await mkdir(path.join(repo, 'docs'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(repo, 'docs', 'plan.md'), '# plan\n');
  await writeFile(path.join(outside, 'secret.txt'), 'secret\n');
  await symlink(path.join(outside, 'secret.txt'), path.join(repo, 'leak.txt'));
  await symlink(outside, path.join(repo, 'leakdir'));
  await symlink(path.join(outside, 'missing.txt'), path.join(repo, 'dangling.txt'));
  await symlink(path.join(repo, 'docs', 'plan.md'), path.join(repo, 'plan-link.md'));
});
afterAll(async () => rm(base, { recursive: true, force: true }));

async function rejection(p: Promise<unknown>): Promise<OrchError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof OrchError) return err;
    throw err;
  }
  throw new Error('expected an OrchError');
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('checkFileExists', () => {
  test('reports an existing file with its absolute path and a +00:00 timestamp', async () => {
    const r = await checkFileExists(repo, 'docs/plan.md');
    expect(r).toEqual({ type: 'file_exists', timestamp: expect.stringMatching(/\+00:00$/), path: path.join(repo, 'docs', 'plan.md'), exists: true });
  });

  test('reports a missing file (even under missing folders) as not existing', async () => {
    expect((await checkFileExists(repo, 'docs/risk.md')).exists).toBe(false);
    expect((await checkFileExists(repo, 'no/such/dir/file.md')).exists).toBe(false);
  });

  test('accepts an absolute path inside the repo and a symlink that stays inside', async () => {
    expect((await checkFileExists(repo, path.join(repo, 'docs', 'plan.md'))).exists).toBe(true);
    expect((await checkFileExists(repo, 'plan-link.md')).exists).toBe(true);
  });

  test.each(['../../etc/passwd', '/etc/passwd', '../outside/secret.txt', 'docs/../../outside/secret.txt'])(
    'refuses %s as PathOutsideRepo',
    async (p) => {
      expect((await rejection(checkFileExists(repo, p))).errorName).toBe('PathOutsideRepo');
    },
  );

  test.each(['leak.txt', 'leakdir/secret.txt', 'leakdir/missing.txt', 'dangling.txt'])(
    'refuses the symlink path %s that points outside the repo',
    async (p) => {
      expect((await rejection(checkFileExists(repo, p))).errorName).toBe('PathOutsideRepo');
    },
  );
});

describe('parseCommand', () => {
  test('splits argv like a shell, keeps $VAR literal, and refuses shell syntax', () => {
    expect(parseCommand('npm run "my script"')).toEqual({ file: 'npm', args: ['run', 'my script'] });
    expect(parseCommand('echo $HOME')).toEqual({ file: 'echo', args: ['$HOME'] });
    expect(parseCommand("bash -c 'exit 0; echo x'")).toEqual({ file: 'bash', args: ['-c', 'exit 0; echo x'] });
    for (const bad of ['a; b', 'a | b', 'a && b', 'a > out', 'ls *.ts', 'a # note', '']) {
      let caught: unknown;
      try {
        parseCommand(bad);
      } catch (err) {
        caught = err;
      }
      expect((caught as OrchError).errorName).toBe('InvalidWorkflow');
    }
  });
});

describe('runCommand', () => {
  const opts = (timeoutMs = 30_000): { cwd: string; timeoutMs: number } => ({ cwd: repo, timeoutMs });

  test('reports a non-zero exit code and captures stderr', async () => {
    const r = await runCommand("bash -c 'echo oops >&2; exit 3'", opts());
    expect([r.exitCode, r.stderr, r.timedOut, r.error]).toEqual([3, 'oops\n', false, undefined]);
  });

  test('runs bash -c with its script and in the repo root', async () => {
    expect((await runCommand("bash -c 'exit 0'", opts())).exitCode).toBe(0);
    expect((await runCommand('pwd', opts())).stdout.trim()).toBe(repo);
    expect((await runCommand('echo $HOME', opts())).stdout).toBe('$HOME\n');
  });

  test('a missing executable gives exitCode null and "Command not found"', async () => {
    const r = await runCommand('definitely-not-a-command-orch --x', opts());
    expect(r.exitCode).toBeNull();
    expect(r.error).toBe('Command not found: definitely-not-a-command-orch');
  });

  test('refuses a command with a ; operator without running it', async () => {
    const marker = path.join(repo, 'should-not-exist');
    expect((await rejection(runCommand(`true ; touch ${marker}`, opts()))).errorName).toBe('InvalidWorkflow');
    await expect(readFile(marker)).rejects.toThrow();
  });

  // The commands would run 60 s; "killed" means well before that (a generous 30 s on a loaded machine).
  test('kills the whole process group on timeout', async () => {
    const started = Date.now();
    const r = await runCommand("bash -c 'sleep 60 & echo $! > child.pid; wait'", opts(300));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect([r.exitCode, r.timedOut]).toEqual([null, true]);
    expect(r.error).toBe('Command timed out after 0.3 seconds');
    const childPid = Number((await readFile(path.join(repo, 'child.pid'), 'utf8')).trim());
    expect(await waitFor(() => !isAlive(childPid), 30_000)).toBe(true);
  });

  test('a plain sleep 60 with a 300 ms timeout is killed', async () => {
    const started = Date.now();
    const r = await runCommand('sleep 60', opts(300));
    expect(r.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  test('an abort signal cancels the command', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await runCommand('sleep 5', { ...opts(), signal: ac.signal });
    expect([r.exitCode, r.error]).toEqual([null, 'Command was cancelled']);
  });

  test('keeps only the first 1000 characters of large output', async () => {
    const r = await runCommand("bash -c 'head -c 300000 /dev/zero | tr \"\\\\0\" a'", opts());
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('a'.repeat(1000));
  });

  test('does not block the event loop while the command runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 10);
    await runCommand('sleep 0.5', opts());
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(10);
  });
});

describe('stored result shapes', () => {
  const run = { exitCode: 2, stdout: 'x'.repeat(1500), stderr: 'bad', durationSeconds: 1.25, timedOut: false };

  test('commandVerificationResult has the Python tool keys in order, output cut to 1000', () => {
    const r = commandVerificationResult({ command: 'npm test', originalCommand: '{{test_command}}', run, timestamp: 'T' });
    expect(Object.keys(r)).toEqual(['type', 'timestamp', 'command', 'command_args', 'original_command', 'exit_code', 'stdout', 'stderr']);
    expect(r).toMatchObject({ type: 'command', command_args: ['npm', 'test'], original_command: '{{test_command}}', exit_code: 2 });
    expect((r['stdout'] as string).length).toBe(1000);
  });

  test('gateResult has the Python tool keys and -1 for a command that did not exit', () => {
    const r = gateResult({ command: 'npm test', run: { ...run, exitCode: null, error: 'Command timed out after 300 seconds' }, success: false });
    expect(Object.keys(r)).toEqual(['success', 'exit_code', 'stdout', 'stderr', 'command', 'duration_seconds', 'error']);
    expect(r).toMatchObject({ success: false, exit_code: -1, duration_seconds: 1.25, error: 'Command timed out after 300 seconds' });
  });
});
