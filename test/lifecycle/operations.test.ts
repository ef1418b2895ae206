import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { daemonPidsFor, readRegistration } from '../helpers/daemons.js';
import { DAEMON_ENV, orch, orchJson, useTempRepos } from '../helpers/lifecycle.js';
import { ORCH_CLI, orchEnv } from '../helpers/run-orch.js';
import { isAlive, waitFor } from '../helpers/wait-for.js';

const repo = useTempRepos();
const followers: ChildProcess[] = [];
afterEach(() => {
  for (const f of followers.splice(0)) f.kill('SIGKILL');
});

describe('orch daemon start | stop | restart | status | logs', () => {
  test('start, status, restart and stop, with pid, uptime, versions, socket, log path and reasons', async () => {
    const r = repo();
    const started = await orchJson(['daemon', 'start'], r.root);
    expect(started).toMatchObject({ code: 0, json: { running: true, pid: expect.any(Number) } });
    const status = await orchJson(['daemon', 'status'], r.root);
    expect(status.json).toMatchObject({
      running: true,
      pid: started.json.pid,
      version: expect.any(String),
      protocolVersion: expect.any(Number),
      socket: readRegistration(r.root)!.socketPath,
      logPath: join(r.root, '.orchestrator', 'daemon.log'),
      uptimeMs: expect.any(Number),
      startReason: 'orch daemon start',
      lastExitReason: null,
    });
    const human = await orch(['daemon', 'status'], r.root);
    for (const label of ['Uptime:', 'Socket:', 'Log:', 'Started:     orch daemon start', 'Last exit:']) expect(human.stdout).toContain(label);

    const restarted = await orchJson(['daemon', 'restart'], r.root);
    expect(restarted.json).toMatchObject({ running: true, previousPid: started.json.pid });
    expect(restarted.json.pid).not.toBe(started.json.pid);
    expect(isAlive(started.json.pid)).toBe(false);
    const after = await orchJson(['daemon', 'status'], r.root);
    expect(after.json).toMatchObject({ pid: restarted.json.pid, startReason: 'orch daemon restart', lastExitReason: 'orch daemon restart' });

    const stopped = await orchJson(['daemon', 'stop'], r.root);
    expect(stopped.json).toMatchObject({ stopped: true, pid: restarted.json.pid });
    expect(daemonPidsFor(r.root)).toEqual([]);
    expect((await orchJson(['daemon', 'status'], r.root)).json).toMatchObject({ running: false });
    expect((await orchJson(['daemon', 'stop'], r.root)).json).toMatchObject({ stopped: false, running: false });
  });

  test('logs prints the daemon log readably, and --json as entries', async () => {
    const r = repo();
    await orch(['start', 'Logged task', '-q'], r.root);
    const human = await orch(['daemon', 'logs'], r.root);
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z INFO  \[\d+\] daemon listening socketPath=\S+/);
    expect(lines.some((l) => / INFO  \[\d+\] session started session=[0-9a-f]{8}/.test(l))).toBe(true);
    const last = await orchJson(['daemon', 'logs', '-n', '1'], r.root);
    expect(last.json.entries).toHaveLength(1);
    expect(last.json.entries[0]).toMatchObject({ msg: 'session started', level: 30 });
    expect((await orch(['daemon', 'status', '-f'], r.root)).code).toBe(2);
  });

  test('logs -f follows new entries until interrupted', async () => {
    const r = repo();
    await orch(['status'], r.root);
    const follower = spawn(process.execPath, [ORCH_CLI, 'daemon', 'logs', '-f'], { cwd: r.root, env: orchEnv(DAEMON_ENV) });
    followers.push(follower);
    let out = '';
    follower.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => follower.on('exit', (code) => resolve(code)));
    await waitFor(() => out.includes('daemon listening'), 'the existing entries', 30_000);
    await orch(['start', 'Followed task', '-q'], r.root);
    await waitFor(() => out.includes('session started'), 'the new entry to be followed', 30_000);
    follower.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  test('the daemon log is capped: rotated to daemon.log.1 at start and while running', async () => {
    const r = repo();
    const log = join(r.root, '.orchestrator', 'daemon.log');
    mkdirSync(join(r.root, '.orchestrator'));
    writeFileSync(log, `${JSON.stringify({ level: 30, time: Date.now(), msg: 'old entry' })}\n`.repeat(100));
    const env = { ORCH_LOG_MAX_BYTES: '3000', ORCH_LOG_LEVEL: 'debug' };
    await orch(['status'], r.root, env);
    expect(readFileSync(`${log}.1`, 'utf8')).toContain('old entry');
    expect(readFileSync(log, 'utf8')).not.toContain('old entry');
    // Debug level logs every request; enough requests take the live log over the cap.
    for (let i = 0; i < 8; i++) await orch(['status'], r.root, env);
    await waitFor(() => !readFileSync(`${log}.1`, 'utf8').includes('old entry'), 'a rotation while running', 30_000);
    expect(statSync(log).size).toBeLessThan(3000 + 2000);
    expect(existsSync(`${log}.2`)).toBe(false);
    const human = await orch(['daemon', 'logs'], r.root);
    expect(human.code).toBe(0);
  });
});
