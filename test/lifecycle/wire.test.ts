import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRegistration } from '../helpers/daemons.js';
import { DAEMON_ENV, gateWorkflow } from '../helpers/lifecycle.js';
import { runOrch, runOrchJson } from '../helpers/run-orch.js';
import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';
import { isAlive, waitFor } from '../helpers/wait-for.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { frame, RawPeer, request } from '../helpers/wire.js';

// One daemon for the whole file: the point is that it survives everything below, serving a
// well-behaved bystander all along.
let r: TempRepo;
let socketPath: string;
let daemonPid: number;
let bystander: RawPeer;
let nextId = 100;

beforeAll(async () => {
  r = makeTempRepo();
  writeFileSync(join(r.root, 'workflow.yaml'), gateWorkflow("bash -c 'touch gate-started && sleep 1'"));
  await runOrch(['start', 'Wire target', '-q'], { cwd: r.root, env: DAEMON_ENV });
  ({ socketPath, pid: daemonPid } = readRegistration(r.root)!);
  bystander = await RawPeer.connect(socketPath);
  await bystander.call(1, 'daemon/hello', { protocolVersion: 1, clientVersion: 'bystander' });
});

afterAll(async () => {
  const final = await bystander.call(nextId++, 'session/status', {});
  bystander.destroy();
  await runOrch(['daemon', 'stop'], { cwd: r.root, env: DAEMON_ENV });
  r.remove();
  expect(final.result.task).toBe('Wire target');
});

async function bystanderStillServed(): Promise<void> {
  const reply = await bystander.call(nextId++, 'session/status', {});
  expect(reply.result.task).toBe('Wire target');
  expect(isAlive(daemonPid)).toBe(true);
}

const HUGE = 2 * 1024 * 1024;
const closing: [string, () => Buffer][] = [
  ['a header without Content-Length', () => Buffer.from('Content-Type: application/json\r\n\r\n{}')],
  ['a Content-Length that is not a number', () => Buffer.from('Content-Length: many\r\n\r\n{}')],
  ['a header line without a colon', () => Buffer.from('hello there\r\n\r\n{}')],
  ['a negative Content-Length', () => Buffer.from('Content-Length: -5\r\n\r\nhello')],
  ['a body that is not JSON', () => frame('{"jsonrpc": "2.0", "id": 1, "method": ')],
  ['a header that never ends (over 8 KiB)', () => Buffer.from('X-Padding: ' + 'a'.repeat(9000))],
  ['a message announced at 2 MiB', () => Buffer.concat([Buffer.from(`Content-Length: ${HUGE}\r\n\r\n`), Buffer.alloc(64 * 1024, 0x20)])],
  ['a message of 1 MiB + 1 byte', () => frame(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'session/status', params: { pad: 'x'.repeat(1024 * 1024 - 60) } }).padEnd(1024 * 1024 + 1))],
];

describe('bad input on the wire', () => {
  test.each(closing)('%s closes that connection only', async (_name, bytes) => {
    const peer = await RawPeer.connect(socketPath);
    await peer.write(bytes()).catch(() => undefined);
    await peer.closedByDaemon();
    expect(peer.messages).toEqual([]);
    await bystanderStillServed();
  });

  test.each([
    ['JSON that is not a JSON-RPC message', '[1, 2, 3]', null],
    ['a request whose id is an object', '{"jsonrpc": "2.0", "id": {"a": 1}, "method": "session/status"}', null],
    ['a number', '42', null],
  ])('%s gets InvalidRequest, then the connection closes', async (_name, body, id) => {
    const peer = await RawPeer.connect(socketPath);
    await peer.write(frame(body));
    await peer.closedByDaemon();
    expect(peer.messages).toEqual([{ jsonrpc: '2.0', id, error: { code: -32600, message: expect.any(String) } }]);
    await bystanderStillServed();
  });

  test('unknown methods and wrong parameter types get JSON-RPC errors and the connection keeps working', async () => {
    const peer = await RawPeer.connect(socketPath);
    await peer.hello();
    expect((await peer.call(1, 'no/such/method', {})).error.code).toBe(-32601);
    const wrong: [string, unknown][] = [
      ['session/status', 5],
      ['session/status', ['a', 'b']],
      ['session/status', { sessionId: 42 }],
      ['item/complete', { itemId: { id: 'x' } }],
      ['session/start', { task: ['a list'] }],
      ['session/start', { task: 't', constraints: 'not a list' }],
      ['daemon/shutdown', { reason: 7 }],
    ];
    let id = 2;
    for (const [method, params] of wrong) {
      const reply = await peer.call(id++, method, params);
      expect({ method, params, code: reply.error?.code }).toEqual({ method, params, code: -32602 });
    }
    // Still usable, and the daemon did not shut down on the bad daemon/shutdown.
    expect((await peer.call(id++, 'daemon/hello', { protocolVersion: 1, clientVersion: 'after' })).result.pid).toBe(daemonPid);
    peer.destroy();
    await bystanderStillServed();
  });

  test('a request split at every byte, through a multibyte character, is read correctly', async () => {
    const peer = await RawPeer.connect(socketPath);
    await peer.hello();
    const bytes = request(1, 'session/show', { sessionId: 'abcdef12', note: 'Ünïcödé ✓ 🚀' });
    for (const b of bytes) await peer.write(Buffer.from([b]));
    const reply = await peer.reply(1);
    expect(reply.error).toMatchObject({ code: 1100, data: { name: 'SessionNotFound' } });
    peer.destroy();
  });

  test('several messages in one chunk all get answers', async () => {
    const peer = await RawPeer.connect(socketPath);
    await peer.hello();
    await peer.write(Buffer.concat([1, 2, 3, 4, 5].map((id) => request(id, 'session/status', {}))));
    for (const id of [1, 2, 3, 4, 5]) expect((await peer.reply(id)).result.task).toBe('Wire target');
    peer.destroy();
  });

  test('peers that vanish mid-request (EPIPE, ECONNRESET) never crash the daemon; the interrupted change lands whole', async () => {
    // A request whose peer is gone before it is even read may not run at all; one that is running
    // (the gate) must finish and be saved whole.
    const worker = await RawPeer.connect(socketPath);
    await worker.hello();
    await worker.write(request(1, 'item/complete', { itemId: 'gate' }));
    await waitFor(() => existsSync(join(r.root, 'gate-started')), 'the gate to start', 30_000);
    worker.destroy();
    const peers = await Promise.all(Array.from({ length: 20 }, () => RawPeer.connect(socketPath)));
    // Each says hello and asks at once, in one write (the daemon takes requests pipelined after hello).
    const hello = request(0, 'daemon/hello', { protocolVersion: PROTOCOL_VERSION, clientVersion: 'vanishing' });
    await Promise.all(peers.map((p) => p.write(Buffer.concat([hello, request(1, 'session/list', {})]))));
    for (const p of peers) p.destroy();
    await bystanderStillServed();
    const status = await waitFor(async () => {
      const s = (await bystander.call(nextId++, 'session/status', {})).result;
      return s.items.find((i: { id: string }) => i.id === 'gate').status === 'completed' ? s : null;
    }, 'the abandoned gate to complete', 30_000);
    expect(status.progress.completed).toBe(1);
    const out = readFileSync(join(r.root, '.orchestrator', 'daemon.out'), 'utf8');
    expect(out).not.toMatch(/uncaught|unhandled|EPIPE|ECONNRESET/i);
    const cli = await runOrchJson(['status'], { cwd: r.root, env: DAEMON_ENV });
    expect(cli.json.items[0]).toMatchObject({ id: 'gate', status: 'completed' });
  });
});
