import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter } from 'vscode-jsonrpc/node.js';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ItemCompleteRequest,
  OrchClient,
  ResyncNotification,
  SessionChangedNotification,
  SessionRemovedNotification,
  SessionStatusRequest,
  SubscribeRequest,
  WorkflowFileChangedNotification,
  DaemonStatusRequest,
  DaemonHelloRequest,
  PROTOCOL_VERSION,
  type SessionChangedEvent,
} from '../../client/lib.js';
import type { TempRepo } from '../helpers/temp-repo.js';
import { ORCH_CLI, orchEnv, runOrch, runOrchJson } from '../helpers/run-orch.js';
import { waitFor } from '../helpers/wait-for.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const clients: OrchClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
// Declared after the clients' hook, so clients close before the daemons stop (hooks run in order).
const { repo } = useRepoRegistry();

function manyItems(n: number): string {
  const items = Array.from({ length: n }, (_, i) => `      - id: item_${i}\n        name: "Item ${i} ${'x'.repeat(40)}"\n`).join('');
  return `name: "Live"\nversion: "1.0"\nphases:\n  - id: WORK\n    name: "Work"\n    items:\n${items}`;
}

async function setup(items = 5, env: NodeJS.ProcessEnv = {}): Promise<{ r: TempRepo; sessionId: string }> {
  const r = repo();
  writeFileSync(join(r.root, 'workflow.yaml'), manyItems(items));
  const { json } = await runOrchJson(['start', 'Live updates'], { cwd: r.root, env });
  return { r, sessionId: json.sessionId };
}

async function client(root: string): Promise<OrchClient> {
  const c = await OrchClient.connect({ root, env: orchEnv() });
  clients.push(c);
  return c;
}

describe('live updates', () => {
  // How fast the notification arrives is measured by `npm run bench` (notification latency), not here.
  test('a subscriber sees a change made by another client', async () => {
    const { r, sessionId } = await setup();
    const watcher = await client(r.root);
    const writer = await client(r.root);
    const seen: { at: number; event: SessionChangedEvent }[] = [];
    watcher.onNotification(SessionChangedNotification, (event) => seen.push({ at: performance.now(), event }));
    await watcher.subscribe({});
    await writer.request(ItemCompleteRequest, { itemId: 'item_0' });
    const got = await waitFor(() => seen[0], 'the change notification');
    expect(got.event).toMatchObject({ sessionId, external: false, seq: 1 });
    expect(got.event.status?.items[0]).toMatchObject({ id: 'item_0', status: 'completed' });
  });

  test('a hand edit of state.json and a deleted session are noticed and reported', async () => {
    const { r, sessionId } = await setup();
    const c = await client(r.root);
    const changes: SessionChangedEvent[] = [];
    const removed: string[] = [];
    c.onNotification(SessionChangedNotification, (e) => changes.push(e));
    c.onNotification(SessionRemovedNotification, (e) => removed.push(e.sessionId));
    await c.subscribe({});
    const file = join(r.root, '.orchestrator', 'sessions', sessionId, 'state.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"Live updates"', '"Edited by hand"'));
    // A non-atomic write may first be seen half-written (reported with an error); the finished
    // edit is reported after it.
    const external = await waitFor(() => changes.find((e) => e.external && e.status), 'the outside edit to be reported', 30_000);
    expect(external.status?.task).toBe('Edited by hand');
    expect(external.status?.warnings.join(' ')).toMatch(/checksum/);
    rmSync(join(r.root, '.orchestrator', 'sessions', sessionId), { recursive: true });
    await waitFor(() => removed.includes(sessionId), 'the deletion to be reported', 30_000);
    expect((await c.request(DaemonStatusRequest, {})).running).toBe(true);
  });

  test('a workflow.yaml edit is notified, an invalid one reported without crashing anything', async () => {
    const { r } = await setup();
    const c = await client(r.root);
    const events: { valid: boolean; errors: string[] }[] = [];
    c.onNotification(WorkflowFileChangedNotification, (e) => events.push(e));
    await c.subscribe({});
    writeFileSync(join(r.root, 'workflow.yaml'), manyItems(7));
    await waitFor(() => events.find((e) => e.valid), 'a valid workflow.yaml change', 30_000).catch((err) => {
      throw new Error(`${err.message}; got ${JSON.stringify(events)}; log: ${readFileSync(join(r.root, '.orchestrator', 'daemon.log'), 'utf8').slice(-1500)}`);
    });
    writeFileSync(join(r.root, 'workflow.yaml'), 'name: broken\nphases: [{id: lower, name: x}]\n');
    const bad = await waitFor(() => events.find((e) => !e.valid), 'an invalid workflow.yaml change', 30_000).catch((err) => {
      throw new Error(`${err.message}; got ${JSON.stringify(events)}; log: ${readFileSync(join(r.root, '.orchestrator', 'daemon.log'), 'utf8').slice(-1500)}`);
    });
    expect(bad.errors.join('\n')).toMatch(/workflow\.yaml:\d+:\d+/);
    const status = await c.request(SessionStatusRequest, {});
    expect('items' in status && status.items.length).toBe(5); // the running session keeps its definition
  });

  test('a subscriber that stops reading gets a resync instead of silently missing events', async () => {
    const { r } = await setup(60, { ORCH_SUBSCRIBER_MAX_PENDING: '4' });
    const writer = await client(r.root);
    const { socketPath } = JSON.parse(readFileSync(join(r.root, '.orchestrator', 'daemon.json'), 'utf8'));
    const socket = connect(socketPath);
    await new Promise((resolve) => socket.once('connect', resolve));
    const slow = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    const seqs: number[] = [];
    let resync = false;
    slow.onNotification(SessionChangedNotification, (e) => seqs.push(e.seq));
    slow.onNotification(ResyncNotification, () => (resync = true));
    slow.listen();
    try {
      await slow.sendRequest(DaemonHelloRequest, { protocolVersion: PROTOCOL_VERSION, clientVersion: 'slow subscriber' });
      await slow.sendRequest(SubscribeRequest, {});
      // Stop reading: the daemon's writes back up in the kernel's socket buffer.
      socket.pause();
      for (let i = 0; i < 60; i++) await writer.request(ItemCompleteRequest, { itemId: `item_${i}` });
      socket.resume();
      await waitFor(() => resync, 'a resync notification', 30_000);
      expect(seqs.length).toBeLessThan(60);
    } finally {
      slow.dispose();
      socket.destroy();
    }
  });

  test('orch watch --json prints one line per change', async () => {
    const { r, sessionId } = await setup();
    const child = spawn(process.execPath, [ORCH_CLI, 'watch', '--json'], { cwd: r.root, env: orchEnv() });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      await waitFor(() => out.includes('client/subscribed'), 'watch to subscribe', 30_000);
      for (const item of ['item_0', 'item_1', 'item_2']) expect((await runOrch(['complete', item, '-q'], { cwd: r.root })).code).toBe(0);
      const lines = await waitFor(() => {
        const changed = out.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'session/didChange');
        return changed.length >= 3 ? changed : null;
      }, 'three change lines', 30_000);
      expect(lines.map((l) => l.sessionId)).toEqual([sessionId, sessionId, sessionId]);
    } finally {
      child.kill('SIGINT');
    }
  });

  test('the client library reconnects after a daemon restart and keeps its subscription', async () => {
    const { r } = await setup();
    const c = await client(r.root);
    const changes: SessionChangedEvent[] = [];
    c.onNotification(SessionChangedNotification, (e) => changes.push(e));
    await c.subscribe({});
    const before = c.instanceId;
    let reconnected: { restarted: boolean } | null = null;
    c.on('reconnected', (e) => (reconnected = e));
    expect((await runOrch(['daemon', 'restart'], { cwd: r.root })).code).toBe(0);
    await waitFor(() => reconnected, 'the library to reconnect', 30_000);
    expect(reconnected!.restarted).toBe(true);
    expect(c.instanceId).not.toBe(before);
    await runOrch(['complete', 'item_3', '-q'], { cwd: r.root });
    await waitFor(() => changes.find((e) => e.status?.items.some((i) => i.id === 'item_3' && i.status === 'completed')), 'a change after reconnecting', 30_000);
  });
});

