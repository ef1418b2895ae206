import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InProcessModule } from '../../client/no-daemon.js';
import * as inprocess from '../../daemon/runtime/in-process.js';
import { daemonLog, daemonPidsFor, procStart, readRegistration } from '../helpers/daemons.js';
import { gateWorkflow, itemStatuses, manyItems, useTempRepos } from '../helpers/lifecycle.js';
import { ORCH_CLI, orchEnv, runOrch, runOrchJson } from '../helpers/run-orch.js';
import { isAlive, waitFor } from '../helpers/wait-for.js';

// The client loads daemon/inprocess.js by path, so only this line checks the two agree on its shape.
const contract: InProcessModule = inprocess;
void contract;

const repo = useTempRepos();
const NO_DAEMON = { ORCH_DAEMON: '0' };
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

const nd = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) => runOrch(args, { cwd, env: { ...NO_DAEMON, ...env } });
const ndJson = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) => runOrchJson(args, { cwd, env: { ...NO_DAEMON, ...env } });

function lockFile(root: string): string {
  return join(root, '.orchestrator', 'daemon.lock');
}

/** A live process that holds the repo's lock as a no-daemon command would. */
async function holdLock(root: string): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  const pid = child.pid!;
  await waitFor(() => procStart(pid), 'the holder to start');
  writeFileSync(lockFile(root), JSON.stringify({ pid, nonce: 'held', procStart: procStart(pid), kind: 'cli', since: new Date().toISOString() }));
  return pid;
}

describe('no-daemon mode', () => {
  test('ORCH_DAEMON=0: start, status, complete and sessions work in-process and leave no daemon behind', async () => {
    const r = repo({ workflow: manyItems(3) });
    const start = await ndJson(['start', 'No daemon here'], r.root);
    expect(start.code).toBe(0);
    expect((await nd(['complete', 'item_0', '-q'], r.root)).code).toBe(0);
    const status = await ndJson(['status'], r.root);
    expect(status.json).toMatchObject({ sessionId: start.json.sessionId, progress: { completed: 1 } });
    expect((await ndJson(['sessions'], r.root)).json).toHaveLength(1);
    expect(await ndJson(['daemon', 'status'], r.root)).toMatchObject({ code: 0, json: { running: false } });
    expect(daemonPidsFor(r.root)).toEqual([]);
    for (const f of ['daemon.json', 'daemon.lock']) expect(existsSync(join(r.root, '.orchestrator', f))).toBe(false);
    expect(itemStatuses(r.root, start.json.sessionId, 'WORK').item_0).toBe('completed');
    expect(daemonLog(r.root).some((e) => e.msg === 'session changed' && e.mode === 'no-daemon')).toBe(true);
  });

  test('CI switches the daemon off unless ORCH_DAEMON=1', async () => {
    const r = repo();
    expect((await runOrch(['status'], { cwd: r.root, env: { CI: 'true', ORCH_DAEMON: undefined } })).code).toBe(0);
    expect(daemonPidsFor(r.root)).toEqual([]);
    expect((await runOrch(['status'], { cwd: r.root, env: { CI: 'true', ORCH_DAEMON: '1' } })).code).toBe(0);
    expect(daemonPidsFor(r.root)).toHaveLength(1);
    const bad = await runOrch(['status'], { cwd: r.root, env: { ORCH_DAEMON: 'maybe' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ORCH_DAEMON must be 1');
  });

  test('concurrent commands without a daemon take turns on the lock and lose nothing', async () => {
    const r = repo({ workflow: manyItems(12) });
    const { json } = await ndJson(['start', 'Taking turns'], r.root);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => nd(['complete', `item_${i}`, '-q'], r.root)));
    for (const res of results) expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    expect(Object.values(itemStatuses(r.root, json.sessionId, 'WORK'))).toEqual(Array(12).fill('completed'));
  });

  test('a live holder of the lock is respected by in-process commands and by a daemon alike', async () => {
    const r = repo();
    await ndJson(['start', 'Locked out'], r.root);
    const holder = await holdLock(r.root);
    const nd1 = await nd(['status'], r.root, { ORCH_CLI_LOCK_TIMEOUT_MS: '400' });
    expect(nd1.code).toBe(1);
    expect(nd1.stderr).toMatch(new RegExp(`Could not take the lock .*daemon\\.lock.* held by pid ${holder} \\(cli`));
    const withDaemon = await runOrch(['status'], { cwd: r.root, env: { ORCH_DAEMON: '1', ORCH_LOCK_TIMEOUT_MS: '400' } });
    expect(withDaemon.code).toBe(3);
    expect(withDaemon.stderr).toContain(`held by pid ${holder}`);
    expect(JSON.parse(readFileSync(lockFile(r.root), 'utf8')).pid).toBe(holder);
    process.kill(holder, 'SIGKILL');
    await waitFor(() => !isAlive(holder), 'the holder to die');
    // Its lock is now stale and is taken over.
    expect((await nd(['status'], r.root)).code).toBe(0);
  });

  test('a daemon that starts while an in-process command runs waits for it, then serves', async () => {
    const r = repo({ workflow: gateWorkflow("bash -c 'touch gate-started && sleep 1'") });
    const { json } = await ndJson(['start', 'Gate without daemon'], r.root);
    const completing = nd(['complete', 'gate', '-q'], r.root);
    await waitFor(() => existsSync(join(r.root, 'gate-started')), 'the gate to start', 30_000);
    expect(JSON.parse(readFileSync(lockFile(r.root), 'utf8')).kind).toBe('cli');
    const viaDaemon = await runOrchJson(['status'], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
    expect((await completing).code).toBe(0);
    expect(viaDaemon.code).toBe(0);
    expect(viaDaemon.json.items[0]).toMatchObject({ id: 'gate', status: 'completed' });
    expect(itemStatuses(r.root, json.sessionId, 'BUILD').gate).toBe('completed');
  });

  test('with a daemon running, ORCH_DAEMON=0 commands go to it (it is the single writer)', async () => {
    const r = repo({ workflow: manyItems(2) });
    await runOrch(['daemon', 'start'], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
    const pid = readRegistration(r.root)!.pid;
    await ndJson(['start', 'Through the daemon'], r.root);
    expect((await nd(['complete', 'item_1', '-q'], r.root)).code).toBe(0);
    const changed = daemonLog(r.root).filter((e) => e.msg === 'session changed');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ pid });
    expect(changed[0].mode).toBeUndefined();
  });

  test('a command killed mid-write leaves a stale lock that the next command takes over at once', async () => {
    const r = repo({ workflow: gateWorkflow("bash -c 'touch gate-started && sleep 5'") });
    await ndJson(['start', 'Killed mid-command'], r.root);
    const cli = spawn(process.execPath, [ORCH_CLI, 'complete', 'gate'], { cwd: r.root, env: orchEnv(NO_DAEMON), stdio: 'ignore' });
    children.push(cli);
    await waitFor(() => existsSync(join(r.root, 'gate-started')), 'the gate to start', 30_000);
    cli.kill('SIGKILL');
    await waitFor(() => !isAlive(cli.pid!), 'the command to die');
    expect(JSON.parse(readFileSync(lockFile(r.root), 'utf8')).pid).toBe(cli.pid);
    // Waiting for the lock instead of taking it over would take the (raised) lock timeout, 10 minutes.
    const started = Date.now();
    const status = await ndJson(['status'], r.root, { ORCH_CLI_LOCK_TIMEOUT_MS: '600000' });
    expect(status.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(status.json.items[0]).toMatchObject({ id: 'gate', status: 'pending' });
  });
});
