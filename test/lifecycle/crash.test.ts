import { describe, expect, test } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { daemonLog, readRegistration } from '../helpers/daemons.js';
import { itemStatuses, manyItems, orch, orchJson, useTempRepos } from '../helpers/lifecycle.js';
import type { OrchResult } from '../helpers/run-orch.js';
import { isAlive, waitFor } from '../helpers/wait-for.js';

const repo = useTempRepos();

/** Every file orch keeps for a session parses: state.json, meta.json and each line of log.jsonl. */
function expectSessionFilesParse(root: string, sessionId: string): void {
  const dir = join(root, '.orchestrator', 'sessions', sessionId);
  expect(() => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))).not.toThrow();
  expect(() => JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'))).not.toThrow();
  const log = readFileSync(join(dir, 'log.jsonl'), 'utf8');
  expect(log.endsWith('\n')).toBe(true);
  for (const line of log.trimEnd().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  expect(readFileSync(join(root, '.orchestrator', 'current'), 'utf8')).toMatch(/^[0-9a-f]{8}$/);
}

function killDaemon(root: string): number {
  const pid = readRegistration(root)!.pid;
  process.kill(pid, 'SIGKILL');
  return pid;
}

describe('crash safety', () => {
  test('after kill -9 the next call recovers quickly, with every acknowledged write and no temp debris', async () => {
    const r = repo({ workflow: manyItems(20) });
    const { json } = await orchJson(['start', 'Crash me'], r.root);
    const dir = join(r.root, '.orchestrator', 'sessions', json.sessionId);
    const done = await Promise.all(Array.from({ length: 10 }, (_, i) => orch(['complete', `item_${i}`, '-q'], r.root)));
    for (const d of done) expect(d).toMatchObject({ code: 0, stderr: '' });
    // What write-file-atomic leaves behind when its writer is killed between write and rename.
    writeFileSync(join(dir, 'state.json.3735928559'), '{"half": ');
    writeFileSync(join(r.root, '.orchestrator', 'current.42'), 'dead');
    const killed = killDaemon(r.root);
    await waitFor(() => !isAlive(killed), 'the daemon to die');

    const started = Date.now();
    const status = await orchJson(['status'], r.root);
    const recoveryMs = Date.now() - started;
    expect(status.code).toBe(0);
    expect(status.json.progress.completed).toBe(10);
    // The daemon comes back for the next command; how fast ("within a second") is `npm run chaos`'s
    // recoveryMs figure, so this bound is only generous (a loaded machine is slow, not wrong).
    expect(recoveryMs).toBeLessThan(30_000);
    expect(itemStatuses(r.root, json.sessionId, 'WORK')).toMatchObject(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`item_${i}`, 'completed'])));
    // `.orchestrator/` itself is cleaned before the daemon listens; session folders in the background.
    expect(existsSync(join(r.root, '.orchestrator', 'current.42'))).toBe(false);
    await waitFor(() => !existsSync(join(dir, 'state.json.3735928559')), 'the background sweep to remove the session temp file', 30_000);
    await waitFor(
      () => daemonLog(r.root).some((e) => e.msg === 'removed stray temp files left by a killed writer' && JSON.stringify(e).includes('state.json.3735928559')),
      'the sweep to be logged',
      30_000,
    );
    expect((await orchJson(['daemon', 'status'], r.root)).json.lastExitReason).toContain(`pid ${killed} died without shutting down`);
    expectSessionFilesParse(r.root, json.sessionId);
  });

  test('a daemon that stops in order leaves daemon.clean, so the next one does not sweep the session folders; a killed one leaves none', async () => {
    const r = repo();
    const { json } = await orchJson(['start', 'Clean stops'], r.root);
    const mark = join(r.root, '.orchestrator', 'daemon.clean');
    const dir = join(r.root, '.orchestrator', 'sessions', json.sessionId);
    expect(existsSync(mark)).toBe(false); // taken away by the running daemon
    expect((await orch(['daemon', 'stop'], r.root)).code).toBe(0);
    expect(existsSync(mark)).toBe(true);

    // Only a killed writer leaves temp files: after an orderly stop the next daemon does not look
    // for them (this one was planted by hand), and takes the mark away before its first write.
    writeFileSync(join(dir, 'state.json.1234'), 'planted');
    utimesSync(join(dir, 'state.json.1234'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect((await orchJson(['status'], r.root)).code).toBe(0);
    expect(existsSync(mark)).toBe(false);
    const killed = killDaemon(r.root);
    await waitFor(() => !isAlive(killed), 'the daemon to die');
    expect(existsSync(join(dir, 'state.json.1234'))).toBe(true);
    expect(existsSync(mark)).toBe(false);

    // After the kill there is no mark: the next daemon sweeps, and stops in order with the mark again.
    expect((await orchJson(['status'], r.root)).code).toBe(0);
    await waitFor(() => !existsSync(join(dir, 'state.json.1234')), 'the sweep after a kill', 30_000);
    expect((await orch(['daemon', 'stop'], r.root)).code).toBe(0);
    expect(existsSync(mark)).toBe(true);
  });

  test('kill -9 in the middle of 30 concurrent writes: each acknowledged one is on disk, none hangs', async () => {
    const r = repo({ workflow: manyItems(30) });
    const { json } = await orchJson(['start', 'Storm'], r.root);
    const firstPid = readRegistration(r.root)!.pid;
    const results: (OrchResult | undefined)[] = new Array(30);
    const runs = Array.from({ length: 30 }, (_, i) =>
      orch(['complete', `item_${i}`, '-q'], r.root).then((res) => (results[i] = res)),
    );
    await waitFor(() => results.filter((x) => x?.code === 0).length >= 3, 'a few acknowledged completes', 30_000);
    process.kill(firstPid, 'SIGKILL');
    await Promise.all(runs);

    const statuses = itemStatuses(r.root, json.sessionId, 'WORK');
    const acknowledged = results.flatMap((res, i) => (res!.code === 0 ? [`item_${i}`] : []));
    for (const item of acknowledged) expect({ item, status: statuses[item] }).toEqual({ item, status: 'completed' });
    // The others were cut off by the kill: they say so and exit 3 (never hang, never claim success).
    for (const res of results) {
      if (res!.code !== 0) expect({ code: res!.code, stderr: res!.stderr }).toEqual({ code: 3, stderr: expect.stringMatching(/daemon/i) });
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(3);
    expectSessionFilesParse(r.root, json.sessionId);
    const after = await orchJson(['status'], r.root);
    expect(after.json.progress.completed).toBe(Object.values(statuses).filter((s) => s === 'completed').length);
  });

  test('a state.json that does not parse is moved aside, never overwritten, and the error says where', async () => {
    const r = repo();
    const { json } = await orchJson(['start', 'To be corrupted'], r.root);
    const dir = join(r.root, '.orchestrator', 'sessions', json.sessionId);
    const moved: string[] = [];
    for (const garbage of ['{"torn": tru', 'not json at all']) {
      writeFileSync(join(dir, 'state.json'), garbage);
      const res = await orchJson(['status'], r.root);
      expect(res.code).toBe(1);
      expect(res.json.error).toMatchObject({ name: 'StateCorrupt' });
      const movedTo = res.json.error.details.movedTo as string;
      expect(res.json.error.message).toContain(movedTo);
      expect(movedTo).toMatch(/state\.json\.corrupt-\d{8}T\d{6}\.\d{3}Z(-\d+)?$/);
      expect(readFileSync(movedTo, 'utf8')).toBe(garbage);
      expect(existsSync(join(dir, 'state.json'))).toBe(false);
      moved.push(movedTo);
    }
    expect(new Set(moved).size).toBe(2);
    expect(readdirSync(dir).filter((n) => n.startsWith('state.json.corrupt-'))).toHaveLength(2);
    // Human output names the file too.
    writeFileSync(join(dir, 'state.json'), '[');
    const human = await orch(['status'], r.root);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/moved it aside to .*state\.json\.corrupt-/);
  });
});
