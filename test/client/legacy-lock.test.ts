import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { repoPaths } from '../../protocol/node/paths.js';
import { processStartTime } from '../../daemon/runtime/lock-file.js';
import { hashLegacy, makeLegacyRepo, sessionDirs } from '../helpers/legacy-repo.js';
import { runOrchJson } from '../helpers/run-orch.js';
import type { TempRepo } from '../helpers/temp-repo.js';
import { isAlive } from '../helpers/wait-for.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const { track } = useRepoRegistry();
function legacyRepo(): TempRepo {
  return track(makeLegacyRepo());
}

/** Writes a migration lock as another orch process would hold it (lock.ts's holder format). */
function holdMigrationLock(root: string, pid: number): string {
  const { orchDir, migrationLock: path } = repoPaths(root);
  mkdirSync(orchDir, { recursive: true });
  const holder = { pid, nonce: `test${pid}`, procStart: processStartTime(pid), kind: 'migration', since: new Date().toISOString() };
  writeFileSync(path, JSON.stringify(holder));
  return path;
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(child.stdout);
  expect(isAlive(pid)).toBe(false);
  return pid;
}

/** Starts the repo's daemon with `env` (it keeps the environment of the client that spawned it). */
async function startDaemonWith(root: string, env: NodeJS.ProcessEnv): Promise<void> {
  const started = await runOrchJson(['daemon', 'start'], { cwd: root, env });
  expect(started.code).toBe(0);
}

describe('the migration lock', () => {
  test('a change waits for a lock held by a live process, then fails naming the lock file and its holder', async () => {
    const r = legacyRepo();
    await startDaemonWith(r.root, { ORCH_MIGRATION_LOCK_TIMEOUT_MS: '400' });
    const before = hashLegacy(r.root);
    const lock = holdMigrationLock(r.root, process.pid);
    const held = readFileSync(lock, 'utf8');

    const t0 = Date.now();
    const refused = await runOrchJson(['complete', 'write_tests'], { cwd: r.root });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(refused.code).toBe(1);
    expect(refused.json.error).toMatchObject({ name: 'LockTimeout', details: { lock, holderPid: process.pid } });
    expect(refused.json.error.message).toContain(lock);
    expect(refused.json.error.message).toContain(`pid ${process.pid}`);
    expect(readFileSync(lock, 'utf8')).toBe(held);
    expect(sessionDirs(r.root)).toEqual([]);
    expect(existsSync(repoPaths(r.root).migrationMarker)).toBe(false);

    // Once the holder lets go, the same change goes through.
    rmSync(lock);
    const done = await runOrchJson(['complete', 'write_tests'], { cwd: r.root });
    expect(done.code).toBe(0);
    expect(sessionDirs(r.root)).toEqual([done.json.sessionId]);
    expect(hashLegacy(r.root)).toEqual(before);
  });

  test('a change waits while the lock is held and proceeds as soon as it is released', async () => {
    const r = legacyRepo();
    await startDaemonWith(r.root, { ORCH_MIGRATION_LOCK_TIMEOUT_MS: '20000' });
    const lock = holdMigrationLock(r.root, process.pid);
    const t0 = Date.now();
    const pending = runOrchJson(['complete', 'write_tests'], { cwd: r.root });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sessionDirs(r.root)).toEqual([]);
    rmSync(lock);
    const done = await pending;
    expect(done.code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(sessionDirs(r.root)).toEqual([done.json.sessionId]);
  });

  test('a lock left by a dead process is taken over and the adoption completes', async () => {
    const r = legacyRepo();
    const pid = deadPid();
    const lock = holdMigrationLock(r.root, pid);
    const done = await runOrchJson(['complete', 'write_tests'], { cwd: r.root, env: { ORCH_MIGRATION_LOCK_TIMEOUT_MS: '30000' } });
    expect(done.code).toBe(0);
    expect(sessionDirs(r.root)).toEqual([done.json.sessionId]);
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(`${lock}.takeover`)).toBe(false);
    const log = readFileSync(repoPaths(r.root).daemonLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.some((l) => l.msg === 'taking over a migration lock left by a dead process' && l.holder?.pid === pid)).toBe(true);
  });
});

describe('adoption across processes', () => {
  test('a no-daemon command and a daemon changing the legacy workflow at the same moment adopt it once', async () => {
    const r = legacyRepo();
    const before = hashLegacy(r.root);
    const [a, b] = await Promise.all([
      runOrchJson(['complete', 'write_tests'], { cwd: r.root, env: { ORCH_DAEMON: '0' } }),
      runOrchJson(['complete', 'implement_code'], { cwd: r.root, env: { ORCH_DAEMON: '1' } }),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.json.sessionId).toBe(b.json.sessionId);
    expect(sessionDirs(r.root)).toEqual([a.json.sessionId]);
    const again = await runOrchJson(['skip', 'all_tests_pass', '--force', '--reason', 'No test command configured in this demo repository yet, so the gate cannot run'], {
      cwd: r.root,
      env: { ORCH_DAEMON: '0' },
    });
    expect(again.json.sessionId).toBe(a.json.sessionId);
    expect(sessionDirs(r.root)).toEqual([a.json.sessionId]);
    expect(hashLegacy(r.root)).toEqual(before);
  });
});
