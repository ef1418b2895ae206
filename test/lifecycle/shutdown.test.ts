import { describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { daemonLog, readRegistration } from '../helpers/daemons.js';
import { gateWorkflow, itemStatuses, orch, orchJson, useTempRepos } from '../helpers/lifecycle.js';
import { isAlive, waitFor } from '../helpers/wait-for.js';
import { RawPeer, request } from '../helpers/wire.js';

const repo = useTempRepos();
const SLOW_GATE = gateWorkflow("bash -c 'touch gate-started && sleep 1.5'");

function exitNote(root: string): { reason: string; pid: number; at: string } {
  return JSON.parse(readFileSync(join(root, '.orchestrator', 'daemon.exit.json'), 'utf8'));
}

/** Everything a daemon owns is gone once it has stopped in order. */
function expectWithdrawn(root: string, socketPath: string): void {
  expect(existsSync(socketPath)).toBe(false);
  expect(existsSync(join(root, '.orchestrator', 'daemon.json'))).toBe(false);
  expect(existsSync(join(root, '.orchestrator', 'daemon.lock'))).toBe(false);
}

/** Asserts that `pid` is still running after `ms` (waiting for an exit that must not come). */
async function expectStillRunningAfter(pid: number, ms: number): Promise<void> {
  await expect(waitFor(() => !isAlive(pid), `pid ${pid} to exit`, ms)).rejects.toThrow(/timed out/);
}

async function hello(peer: RawPeer): Promise<void> {
  const reply = await peer.call(1, 'daemon/hello', { protocolVersion: 1, clientVersion: 'test' });
  expect(reply.result).toBeDefined();
}

describe('shutdown', () => {
  test('an idle daemon exits after ORCH_IDLE_TIMEOUT_MS and withdraws everything it owned', async () => {
    const r = repo();
    await orch(['status'], r.root, { ORCH_IDLE_TIMEOUT_MS: '400' });
    const reg = readRegistration(r.root)!;
    await waitFor(() => !isAlive(reg.pid), 'the idle daemon to exit', 30_000);
    expect(exitNote(r.root)).toMatchObject({ pid: reg.pid, reason: 'idle for 400 ms' });
    expectWithdrawn(r.root, reg.socketPath);
    expect(daemonLog(r.root).at(-1)?.msg).toBe('daemon stopped');
  });

  test('it does not idle out while a client is connected', async () => {
    const r = repo();
    await orch(['status'], r.root, { ORCH_IDLE_TIMEOUT_MS: '300' });
    const reg = readRegistration(r.root)!;
    const peer = await RawPeer.connect(reg.socketPath);
    await hello(peer);
    await expectStillRunningAfter(reg.pid, 1500);
    const closedAt = Date.now();
    peer.destroy();
    await waitFor(() => !isAlive(reg.pid), 'the daemon to exit once the client left', 30_000);
    expect(Date.parse(exitNote(r.root).at)).toBeGreaterThanOrEqual(closedAt);
  });

  test('it does not idle out while work runs, even when the client vanished mid-request; the work completes', async () => {
    const r = repo({ workflow: SLOW_GATE });
    const { json } = await orchJson(['start', 'Gate work'], r.root, { ORCH_IDLE_TIMEOUT_MS: '300' });
    const reg = readRegistration(r.root)!;
    const peer = await RawPeer.connect(reg.socketPath);
    await hello(peer);
    await peer.write(request(2, 'item/complete', { itemId: 'gate', sessionId: json.sessionId }));
    await waitFor(() => existsSync(join(r.root, 'gate-started')), 'the gate command to start', 30_000);
    peer.destroy();
    await waitFor(() => !isAlive(reg.pid), 'the daemon to exit after the work', 30_000);
    expect(itemStatuses(r.root, json.sessionId, 'BUILD').gate).toBe('completed');
    const log = daemonLog(r.root);
    const changed = log.find((e) => e.msg === 'session changed')!;
    const stopping = log.find((e) => e.msg === 'shutting down')!;
    expect(changed.time!).toBeLessThanOrEqual(stopping.time!);
    expect(stopping.reason).toBe('idle for 300 ms');
  });

  test('SIGTERM drains a request in flight: the client gets its answer, the change is on disk, the daemon withdraws', async () => {
    const r = repo({ workflow: SLOW_GATE });
    const { json } = await orchJson(['start', 'Terminate me'], r.root);
    const reg = readRegistration(r.root)!;
    const completing = orch(['complete', 'gate', '-q'], r.root);
    await waitFor(() => existsSync(join(r.root, 'gate-started')), 'the gate command to start', 30_000);
    process.kill(reg.pid, 'SIGTERM');
    // A client that arrives during the drain is served by the next daemon, not refused.
    const during = orchJson(['status'], r.root);
    const done = await completing;
    expect(done).toMatchObject({ code: 0, stderr: '' });
    expect(itemStatuses(r.root, json.sessionId, 'BUILD').gate).toBe('completed');
    await waitFor(() => !isAlive(reg.pid), 'the daemon to exit', 30_000);
    const next = await during;
    expect(next.code).toBe(0);
    expect(next.json.items.find((i: { id: string }) => i.id === 'gate').status).toBe('completed');
    expect(readRegistration(r.root)?.pid).not.toBe(reg.pid);
    expect(exitNote(r.root)).toMatchObject({ pid: reg.pid, reason: 'signal SIGTERM' });
    const mine = daemonLog(r.root).filter((e) => e.pid === reg.pid);
    expect(mine.at(-1)?.msg).toBe('daemon stopped');
    expect(mine.find((e) => e.msg === 'shutting down')?.running).toBe(1);
  });

  test.each(['SIGINT', 'SIGHUP'] as const)('%s stops an idle daemon in order', async (signal) => {
    const r = repo();
    await orch(['status'], r.root);
    const reg = readRegistration(r.root)!;
    process.kill(reg.pid, signal);
    await waitFor(() => !isAlive(reg.pid), 'the daemon to exit', 30_000);
    expect(exitNote(r.root)).toMatchObject({ pid: reg.pid, reason: `signal ${signal}` });
    expectWithdrawn(r.root, reg.socketPath);
    const status = await orchJson(['daemon', 'status'], r.root);
    expect(status.json.running).toBe(false);
  });

  test('a request that arrives on an open connection during the drain is refused with ShuttingDown', async () => {
    const r = repo({ workflow: SLOW_GATE });
    const { json } = await orchJson(['start', 'Drain'], r.root);
    const reg = readRegistration(r.root)!;
    const peer = await RawPeer.connect(reg.socketPath);
    await hello(peer);
    await peer.write(request(2, 'item/complete', { itemId: 'gate', sessionId: json.sessionId }));
    await waitFor(() => existsSync(join(r.root, 'gate-started')), 'the gate command to start', 30_000);
    process.kill(reg.pid, 'SIGTERM');
    await waitFor(() => daemonLog(r.root).some((e) => e.msg === 'shutting down'), 'the shutdown to begin');
    const refused = await peer.call(3, 'session/status', {});
    expect(refused.error).toMatchObject({ code: 1301, data: { name: 'ShuttingDown' } });
    expect((await peer.reply(2, 30_000)).result.sessionId).toBe(json.sessionId);
    await peer.closedByDaemon(30_000);
  });
});
