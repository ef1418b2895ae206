import { describe, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { daemonPidsFor } from '../helpers/daemons.js';
import { runOrch as runAny, runOrchJson as runAnyJson } from '../helpers/run-orch.js';
import { DAEMON_ENV } from '../helpers/lifecycle.js';
import { waitFor } from '../helpers/wait-for.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

// These are about the daemon: force it on even when the suite runs without one.
const runOrch = (args: string[], opts: { cwd: string }) => runAny(args, { ...opts, env: DAEMON_ENV });
const runOrchJson = (args: string[], opts: { cwd: string }) => runAnyJson(args, { ...opts, env: DAEMON_ENV });

const { repo } = useRepoRegistry();

describe('cold start', () => {
  test('20 orch start at once on a repo with no daemon give one daemon and 20 sessions', async () => {
    const r = repo();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runOrchJson(['start', `Parallel task ${i}`], { cwd: r.root })),
    );
    for (const res of results) expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    const ids = new Set(results.map((res) => res.json.sessionId));
    expect(ids.size).toBe(20);
    // Losing starters exit on their own once they see the winner; wait for that, then count.
    const pids = await waitFor(() => {
      const p = daemonPidsFor(r.root);
      return p.length === 1 ? p : null;
    }, 'exactly one daemon process for the repo', 30_000);
    const status = await runOrchJson(['daemon', 'status'], { cwd: r.root });
    expect(status.json.pid).toBe(pids[0]);
    const listed = await runOrchJson(['sessions'], { cwd: r.root });
    expect(new Set(listed.json.map((s: { sessionId: string }) => s.sessionId))).toEqual(ids);
  });

  test('daemon status does not start a daemon, and daemon stop removes socket and registration', async () => {
    const r = repo();
    const none = await runOrchJson(['daemon', 'status'], { cwd: r.root });
    expect(none).toMatchObject({ code: 0, json: { running: false } });
    expect(daemonPidsFor(r.root)).toEqual([]);
    await runOrch(['status'], { cwd: r.root });
    const up = await runOrchJson(['daemon', 'status'], { cwd: r.root });
    expect(up.json).toMatchObject({ running: true, version: expect.any(String) });
    expect(Object.keys(up.json)).toEqual(expect.arrayContaining(['running', 'pid', 'version', 'socket', 'uptimeMs']));
    expect(existsSync(up.json.socket)).toBe(true);
    const stop = await runOrch(['daemon', 'stop'], { cwd: r.root });
    expect(stop.code).toBe(0);
    expect(existsSync(up.json.socket)).toBe(false);
    expect(existsSync(join(r.root, '.orchestrator', 'daemon.json'))).toBe(false);
    expect(existsSync(join(r.root, '.orchestrator', 'daemon.lock'))).toBe(false);
    expect(daemonPidsFor(r.root)).toEqual([]);
  });
});
