/**
 * Issue 12, sections 4 and 5: `orch wait` blocks until a person approves (woken by the daemon's own
 * change events), times out with exit 4 and the same NEXT_ACTION, ends with exit 1 when the
 * workflow is abandoned, survives a daemon restart and Ctrl-C; `orch who` lists who is connected
 * and `orch sessions` marks sessions clients are bound to. Spawned built orch, real daemon.
 * Approvals come from a person's terminal: ORCH_ACTOR_KIND=human, whatever runs the tests.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node.js';
import { GateWaitRequest, OrchClient, RosterChangedNotification, SessionStatusRequest, type RosterChangedEvent } from '../../client/lib.js';
import { REQUEST_CANCELLED } from '../../protocol/errors.js';
import { ORCH_CLI, isNoDaemonRun, orchEnv, runOrch, runOrchJson, AS_PERSON, AS_PERSON_WITH_DAEMON as DAEMON } from '../helpers/run-orch.js';
import { readRegistration } from '../helpers/daemons.js';
import { RawPeer, request } from '../helpers/wire.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';
import { waitFor } from '../helpers/wait-for.js';

/** A person's terminal: never taken for an agent, whatever environment runs the tests. */

const children: ChildProcess[] = [];
const clients: OrchClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
const { repo } = useRepoRegistry();

const WORKFLOW = `name: "Gates"
version: "1.0"
phases:
  - id: PLAN
    name: "Plan"
    exit_gate: human_approval
    items:
      - id: write_plan
        name: "Write the plan"
      - id: sign_off
        name: "Plan signed off"
        verification: { type: manual_gate, description: "A person reads the plan" }
  - id: DO
    name: "Do"
    items:
      - id: build
        name: "Build it"
`;

async function gatedRepo(env: NodeJS.ProcessEnv = AS_PERSON): Promise<{ root: string; sessionId: string }> {
  const r = repo();
  writeFileSync(join(r.root, 'workflow.yaml'), WORKFLOW);
  const { code, json } = await runOrchJson(['start', 'Wait for a person'], { cwd: r.root, env });
  expect(code).toBe(0);
  return { root: r.root, sessionId: json.sessionId };
}

interface Spawned {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; at: number }>;
}

function spawnOrch(args: string[], root: string, env: NodeJS.ProcessEnv = AS_PERSON): Spawned {
  const child = spawn(process.execPath, [ORCH_CLI, ...args], { cwd: root, env: orchEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('close', (code) => resolve({ code, at: performance.now() })));
  return { child, out: () => out, err: () => err, exited };
}

/** Resolves within `ms` or throws what was expected (a generous deadline, not a speed target). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The daemon's roster (orch who --json). */
async function who(root: string): Promise<{ connections: any[]; recent: any[]; daemon: { running: boolean; pid: number | null } }> {
  const r = await runOrchJson(['who'], { cwd: root, env: DAEMON });
  expect(r.code).toBe(0);
  return r.json;
}

/** Waits until process `pid` is connected and its last request was `method` (daemon mode). */
async function waitConnected(root: string, pid: number, method: string): Promise<void> {
  await waitFor(async () => (await who(root)).connections.some((c) => c.pid === pid && c.lastMethod === method), `pid ${pid} to be connected in ${method}`, 30_000, 50);
}

describe('orch wait', () => {
  test('orch wait --item started before the approval exits 0 once another client approves the item', async () => {
    const { root } = await gatedRepo();
    const waiting = spawnOrch(['wait', '--item', 'sign_off', '--timeout', '5m', '--json'], root);
    // With a daemon, approve only once the wait is parked in it (the roster shows its request).
    if (!isNoDaemonRun) await waitConnected(root, waiting.child.pid!, 'gate/wait');
    expect(waiting.child.exitCode).toBeNull();
    const approve = await runOrch(['approve-item', 'sign_off', '-q', '--by', 'Dana'], { cwd: root, env: AS_PERSON });
    expect(approve.code).toBe(0);
    const { code } = await within(waiting.exited, 30_000, 'orch wait to return after the approval');
    expect({ code, stderr: waiting.err() }).toEqual({ code: 0, stderr: '' });
    const doc = JSON.parse(waiting.out());
    expect(doc.outcome).toBe('open');
    expect(doc.itemId).toBe('sign_off');
    expect(doc.approvedBy).toEqual({ by: 'Dana', channel: 'cli' });
    expect(doc.status.items.find((i: { id: string }) => i.id === 'sign_off').status).toBe('completed');
  });

  test('orch wait --phase returns once a person approves the phase', async () => {
    const { root } = await gatedRepo();
    const waiting = spawnOrch(['wait', '--phase', '--timeout', '5m', '--json'], root);
    if (!isNoDaemonRun) await waitConnected(root, waiting.child.pid!, 'gate/wait');
    expect((await runOrch(['approve', '-q', '--by', 'Ada'], { cwd: root, env: AS_PERSON })).code).toBe(0);
    const { code } = await within(waiting.exited, 30_000, 'orch wait --phase to return after the approval');
    expect(code).toBe(0);
    const doc = JSON.parse(waiting.out());
    expect(doc).toMatchObject({ outcome: 'open', itemId: null, approvedBy: { by: 'Ada', channel: 'cli' } });
    expect(doc.status.blockers).not.toContain('Awaiting human approval');
  });

  test('orch wait exits 4 after its timeout and prints the same wait as NEXT_ACTION', async () => {
    const { root } = await gatedRepo();
    const started = performance.now();
    const r = await runOrch(['wait', '--item', 'sign_off', '--timeout', '1s'], { cwd: root, env: AS_PERSON });
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('Still waiting: sign_off is not approved yet');
    expect(r.stdout.trim().split('\n').at(-1)).toBe('NEXT_ACTION: orch wait --item sign_off --timeout 1s');
    const json = await runOrchJson(['wait', '--phase', '--timeout', '0', '--session', (await runOrchJson(['status'], { cwd: root, env: AS_PERSON })).json.sessionId], {
      cwd: root,
      env: AS_PERSON,
    });
    expect(json.code).toBe(4);
    expect(json.json.outcome).toBe('timeout');
    expect(json.json.nextAction).toMatch(/^orch wait --phase --timeout 0 --session [0-9a-f]{8}$/);
  });

  test('orch wait exits 1 when the workflow is abandoned while it waits', async () => {
    const { root } = await gatedRepo();
    const waiting = spawnOrch(['wait', '--item', 'sign_off', '--timeout', '5m', '--json'], root);
    if (!isNoDaemonRun) await waitConnected(root, waiting.child.pid!, 'gate/wait');
    expect((await runOrch(['finish', '--abandon', '--reason', 'The task was dropped'], { cwd: root, env: AS_PERSON })).code).toBe(0);
    const { code } = await within(waiting.exited, 30_000, 'orch wait to return after the abandon');
    expect(code).toBe(1);
    expect(JSON.parse(waiting.out()).outcome).toBe('abandoned');
  });

  test('orch wait on a gate that is open already returns at once', async () => {
    const { root } = await gatedRepo();
    expect((await runOrch(['approve-item', 'sign_off', '-q'], { cwd: root, env: AS_PERSON })).code).toBe(0);
    expect((await runOrch(['approve', '-q'], { cwd: root, env: AS_PERSON })).code).toBe(0);
    // An hour's timeout: only an answer at once finishes within the test's deadline.
    const item = await runOrch(['wait', '--item', 'sign_off', '--timeout', '1h'], { cwd: root, env: AS_PERSON, timeoutMs: 30_000 });
    expect(item.code).toBe(0);
    expect(item.stdout).toContain('✓ sign_off is approved');
    const phase = await runOrchJson(['wait', '--phase', '--timeout', '1h'], { cwd: root, env: AS_PERSON });
    expect(phase.code).toBe(0);
    expect(phase.json.outcome).toBe('open');
  });

  test('orch wait refuses without --item or --phase, a bad timeout, and an item the workflow lacks', async () => {
    const { root } = await gatedRepo();
    const neither = await runOrch(['wait'], { cwd: root, env: AS_PERSON });
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('--item <id>');
    expect((await runOrch(['wait', '--item', 'sign_off', '--timeout', 'soon'], { cwd: root, env: AS_PERSON })).code).toBe(2);
    const missing = await runOrch(['wait', '--item', 'no_such_item', '--timeout', '1h'], { cwd: root, env: AS_PERSON });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('write_plan, sign_off');
  });

  (isNoDaemonRun ? test.skip : test)('orch wait keeps waiting across orch daemon restart and returns on the approval', async () => {
    const { root } = await gatedRepo(DAEMON);
    const waiting = spawnOrch(['wait', '--item', 'sign_off', '--timeout', '5m', '--json'], root, DAEMON);
    await waitConnected(root, waiting.child.pid!, 'gate/wait');
    const before = (await who(root)).daemon.pid;
    expect((await runOrch(['daemon', 'restart'], { cwd: root, env: DAEMON })).code).toBe(0);
    // The same process asks the new daemon again.
    await waitFor(async () => {
      const w = await who(root);
      return w.daemon.pid !== before && w.connections.some((c) => c.pid === waiting.child.pid && c.lastMethod === 'gate/wait');
    }, 'orch wait to reconnect to the new daemon', 30_000, 50);
    expect(waiting.child.exitCode).toBeNull();
    expect((await runOrch(['approve-item', 'sign_off', '-q'], { cwd: root, env: DAEMON })).code).toBe(0);
    const { code } = await within(waiting.exited, 30_000, 'orch wait to return after the approval');
    expect(code).toBe(0);
    expect(JSON.parse(waiting.out()).outcome).toBe('open');
  });

  (isNoDaemonRun ? test.skip : test)('Ctrl-C ends orch wait with exit 130 and the daemon lets go of it', async () => {
    const { root } = await gatedRepo(DAEMON);
    const waiting = spawnOrch(['wait', '--item', 'sign_off', '--timeout', '5m'], root, DAEMON);
    await waitConnected(root, waiting.child.pid!, 'gate/wait');
    waiting.child.kill('SIGINT');
    const { code } = await within(waiting.exited, 30_000, 'orch wait to stop on Ctrl-C');
    expect(code).toBe(130);
    expect(waiting.err()).toContain('interrupted');
    await waitFor(async () => !(await who(root)).connections.some((c) => c.pid === waiting.child.pid), 'the roster to drop the wait', 30_000, 50);
  });
});

describe('gate/wait over the protocol', () => {
  (isNoDaemonRun ? test.skip : test)('$/cancelRequest answers a pending gate/wait with RequestCancelled', async () => {
    const { root } = await gatedRepo(DAEMON);
    const c = await OrchClient.connect({ root, env: orchEnv(DAEMON) });
    clients.push(c);
    const source = new CancellationTokenSource();
    const pending = c.connection.sendRequest(GateWaitRequest, { itemId: 'sign_off', timeoutMs: 300_000 }, source.token);
    await waitFor(async () => (await who(root)).connections.some((e) => e.pid === process.pid && e.lastMethod === 'gate/wait'), 'the wait to arrive', 30_000, 50);
    source.cancel();
    const err = await within(pending.then(() => null, (e: unknown) => e), 30_000, 'the cancelled wait to be answered');
    expect(err).toBeInstanceOf(ResponseError);
    expect((err as ResponseError<unknown>).code).toBe(REQUEST_CANCELLED);
  });

  (isNoDaemonRun ? test.skip : test)('waits do not hold the turns other requests need: 96 pending waits, and status still answers', async () => {
    const { root } = await gatedRepo(DAEMON);
    const waits: Promise<unknown>[] = [];
    const wait = (c: OrchClient) => c.connection.sendRequest(GateWaitRequest, { itemId: 'sign_off', timeoutMs: 300_000 });
    // 20 connections with 4 waits each would fill all 64 turns the daemon runs at once if waits took turns.
    for (let i = 0; i < 20; i++) {
      const c = await OrchClient.connect({ root, env: orchEnv(DAEMON) });
      clients.push(c);
      for (let j = 0; j < 4; j++) waits.push(wait(c).catch(() => 'closed'));
    }
    // One connection may have 16 pending; the seventeenth is refused.
    for (let j = 4; j < 16; j++) waits.push(wait(clients[0]!).catch(() => 'closed'));
    const refused = await wait(clients[0]!).then(
      () => null,
      (e: unknown) => e,
    );
    expect((refused as ResponseError<{ name: string }>).data?.name).toBe('ConnectionLimit');
    const other = await OrchClient.connect({ root, env: orchEnv(DAEMON) });
    clients.push(other);
    const status = await within(other.request(SessionStatusRequest, {}), 30_000, 'status while 96 waits are pending');
    expect(status.active).toBe(true);
    // One approval answers every one of them.
    expect((await runOrch(['approve-item', 'sign_off', '-q'], { cwd: root, env: DAEMON })).code).toBe(0);
    const answers = await within(Promise.all(waits), 30_000, 'all waits to be answered');
    expect(answers.every((a) => (a as { outcome?: string }).outcome === 'open')).toBe(true);
  });

  (isNoDaemonRun ? test.skip : test)('a request reusing the id of a pending gate/wait is refused, so every answer matches one request', async () => {
    const { root } = await gatedRepo(DAEMON);
    const peer = await RawPeer.connect(readRegistration(root)!.socketPath);
    try {
      await peer.hello();
      await peer.write(request(7, 'gate/wait', { itemId: 'sign_off', timeoutMs: 300_000 }));
      const dup = await peer.call(7, 'session/status', {});
      expect(dup.error?.data?.name).toBe('InvalidArgument');
      // The wait itself is still pending and is answered when the gate opens.
      expect((await runOrch(['approve-item', 'sign_off', '-q'], { cwd: root, env: DAEMON })).code).toBe(0);
      const answer = await waitFor(() => peer.messages.find((m) => m.id === 7 && m.result), 'the wait to be answered', 30_000);
      expect(answer.result.outcome).toBe('open');
    } finally {
      peer.destroy();
    }
  });
});

describe('orch who and the roster', () => {
  (isNoDaemonRun ? test.skip : test)('orch who --json lists a running orch watch with kind watch and its pid, and drops it when it exits', async () => {
    const { root } = await gatedRepo(DAEMON);
    const watch = spawnOrch(['watch', '--json'], root, DAEMON);
    await waitFor(() => watch.out().includes('client/subscribed'), 'watch to subscribe', 30_000);
    const listed = (await who(root)).connections.find((c) => c.pid === watch.child.pid);
    expect(listed).toMatchObject({ kind: 'watch', pid: watch.child.pid, agent: false, lastMethod: 'session/subscribe' });
    expect(Date.parse(listed.connectedAt)).not.toBeNaN();
    watch.child.kill('SIGINT');
    await within(watch.exited, 30_000, 'watch to exit');
    const after = await waitFor(async () => {
      const w = await who(root);
      return w.connections.some((c) => c.pid === watch.child.pid) ? null : w;
    }, 'the roster to drop the watch', 30_000, 50);
    expect(after.recent.find((c) => c.pid === watch.child.pid)).toMatchObject({ kind: 'watch' });
    // Short-lived commands are listed too, by pid, with their last request.
    expect(after.recent.some((c) => c.kind === 'cli' && c.lastMethod === 'session/start')).toBe(true);
  });

  (isNoDaemonRun ? test.skip : test)('a subscriber that asks for the roster is told when a client connects and disconnects', async () => {
    const { root } = await gatedRepo(DAEMON);
    const c = await OrchClient.connect({ root, env: orchEnv(DAEMON) });
    clients.push(c);
    const seen: RosterChangedEvent[] = [];
    c.onNotification(RosterChangedNotification, (e) => seen.push(e));
    await c.subscribe({ roster: true });
    const status = await runOrch(['status', '-q'], { cwd: root, env: DAEMON });
    expect(status.code).toBe(0);
    const changes = await waitFor(() => {
      const mine = seen.filter((e) => e.entry.kind === 'cli');
      return mine.some((e) => e.change === 'disconnected') ? mine : null;
    }, 'connected and disconnected notifications', 30_000);
    expect(changes.map((e) => e.change).slice(0, 2)).toEqual(['connected', 'disconnected']);
    expect(changes[1]!.entry.lastMethod).toBe('session/status');
  });

  (isNoDaemonRun ? test.skip : test)('orch sessions marks the session an orch watch --session is bound to', async () => {
    const { root, sessionId } = await gatedRepo(DAEMON);
    const watch = spawnOrch(['watch', '--json', '--session', sessionId], root, DAEMON);
    await waitFor(() => watch.out().includes('client/subscribed'), 'watch to subscribe', 30_000);
    const human = await runOrch(['sessions'], { cwd: root, env: DAEMON });
    expect(human.stdout).toContain(`[connected: watch ${watch.child.pid}]`);
    const json = await runOrchJson(['sessions'], { cwd: root, env: DAEMON });
    expect(json.json[0].connected).toEqual([{ kind: 'watch', pid: watch.child.pid }]);
  });

  test('orch who with no daemon running says nobody is connected and starts none', async () => {
    const r = repo();
    const res = await runOrchJson(['who'], { cwd: r.root, env: AS_PERSON });
    expect(res.code).toBe(0);
    expect(res.json).toEqual({ daemon: { running: false, pid: null }, connections: [], recent: [] });
    expect((await runOrchJson(['daemon', 'status'], { cwd: r.root, env: AS_PERSON })).json.running).toBe(false);
  });
});
