import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { daemonPidsFor, readRegistration } from '../helpers/daemons.js';
import { orch, orchJson, useTempRepos } from '../helpers/lifecycle.js';
import { isAlive, waitFor } from '../helpers/wait-for.js';

const repo = useTempRepos();
const FAST_CHECK = { ORCH_OWNERSHIP_CHECK_MS: '100' };

function exitNote(root: string): { reason: string; pid: number } {
  return JSON.parse(readFileSync(join(root, '.orchestrator', 'daemon.exit.json'), 'utf8'));
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
}

describe('exactly one daemon', () => {
  test('16 clients racing over a killed daemon’s lock, socket and registration get one new daemon', async () => {
    const r = repo();
    expect((await orch(['start', 'Before the crash', '-q'], r.root)).code).toBe(0);
    const old = readRegistration(r.root)!;
    process.kill(old.pid, 'SIGKILL');
    await waitFor(() => !isAlive(old.pid), 'the daemon to die');
    // Everything a crashed daemon leaves behind is still there.
    expect(lstatSync(old.socketPath).isSocket()).toBe(true);
    expect(existsSync(join(r.root, '.orchestrator', 'daemon.lock'))).toBe(true);
    expect(readRegistration(r.root)?.pid).toBe(old.pid);

    const results = await Promise.all(Array.from({ length: 16 }, () => orchJson(['status'], r.root)));
    for (const res of results) expect({ code: res.code, task: res.json.task, stderr: res.stderr }).toEqual({ code: 0, task: 'Before the crash', stderr: '' });
    const pids = await waitFor(() => {
      const p = daemonPidsFor(r.root);
      return p.length === 1 ? p : null;
    }, 'exactly one daemon process', 30_000);
    const status = await orchJson(['daemon', 'status'], r.root);
    expect(status.json).toMatchObject({ pid: pids[0], socket: old.socketPath });
    expect(status.json.lastExitReason).toContain(`pid ${old.pid} died without shutting down`);
    expect(readRegistration(r.root)?.pid).toBe(pids[0]);
  });

  test('a daemon whose socket is replaced exits, and leaves the new socket alone', async () => {
    const r = repo();
    await orch(['status'], r.root, FAST_CHECK);
    const reg = readRegistration(r.root)!;
    const thief = createServer((s) => s.end('thief\n'));
    const temp = `${reg.socketPath}.thief`;
    await listen(thief, temp);
    try {
      renameSync(temp, reg.socketPath);
      await waitFor(() => !isAlive(reg.pid), 'the daemon to notice and exit', 30_000);
      expect(exitNote(r.root).reason).toMatch(/socket .* was replaced/);
      expect(lstatSync(reg.socketPath).isSocket()).toBe(true);
      const answer = await new Promise<string>((resolve) => {
        const c = connect(reg.socketPath);
        let text = '';
        c.on('data', (d: Buffer) => (text += d.toString()));
        c.on('close', () => resolve(text));
      });
      expect(answer).toBe('thief\n');
      // Its own registration and lock are gone, so the next client starts a fresh daemon.
      expect(existsSync(join(r.root, '.orchestrator', 'daemon.json'))).toBe(false);
      expect(existsSync(join(r.root, '.orchestrator', 'daemon.lock'))).toBe(false);
    } finally {
      thief.close();
    }
  });

  test('a daemon whose registration names another daemon exits without removing it', async () => {
    const r = repo();
    await orch(['status'], r.root, FAST_CHECK);
    const reg = readRegistration(r.root)!;
    const foreign = { ...reg, pid: reg.pid + 1, instanceId: 'someone-else' };
    // Replaced atomically, as another daemon would: a plain write truncates first, and a daemon
    // checking in between rightly sees the registration removed (seen on a loaded machine).
    const file = join(r.root, '.orchestrator', 'daemon.json');
    writeFileSync(`${file}.test-tmp`, JSON.stringify(foreign));
    renameSync(`${file}.test-tmp`, file);
    await waitFor(() => !isAlive(reg.pid), 'the daemon to notice and exit', 30_000);
    expect(exitNote(r.root).reason).toMatch(/registration now names another daemon/);
    expect(readRegistration(r.root)).toMatchObject({ instanceId: 'someone-else' });
    expect(existsSync(reg.socketPath)).toBe(false);
  });

  test('a repository whose path is over 150 bytes gets a short socket outside it', async () => {
    const r = repo({ git: false });
    const deep = join(r.root, ...Array.from({ length: 8 }, (_, i) => `a-rather-long-directory-name-${i}`));
    mkdirSync(deep, { recursive: true });
    execFileSync('git', ['init', '-q'], { cwd: deep });
    expect(Buffer.byteLength(deep)).toBeGreaterThan(150);
    const start = await orchJson(['start', 'Deep repo'], deep);
    expect(start.code).toBe(0);
    const reg = readRegistration(deep)!;
    expect(Buffer.byteLength(reg.socketPath)).toBeLessThanOrEqual(100);
    expect(reg.socketPath.startsWith(deep)).toBe(false);
    expect((await orchJson(['status'], deep)).json.task).toBe('Deep repo');
    await orch(['daemon', 'stop'], deep);
  });
});
