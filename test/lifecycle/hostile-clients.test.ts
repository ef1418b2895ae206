import { describe, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { daemonLog, readRegistration } from '../helpers/daemons.js';
import { manyItems, orch, useTempRepos } from '../helpers/lifecycle.js';
import { waitFor } from '../helpers/wait-for.js';
import { RawPeer, request } from '../helpers/wire.js';

const repo = useTempRepos();
const MiB = 1024 * 1024;

/** A repo whose daemon runs with `env` (limits lowered for the test); returns its socket. */
async function daemonWith(env: NodeJS.ProcessEnv, workflow?: string): Promise<{ root: string; socketPath: string }> {
  const r = repo({ workflow });
  await orch(workflow ? ['start', 'Hostile', '-q'] : ['status'], r.root, env);
  return { root: r.root, socketPath: readRegistration(r.root)!.socketPath };
}

/** A well-behaved client: says hello, then asks for the daemon's status. */
async function greeted(socketPath: string): Promise<RawPeer> {
  const peer = await RawPeer.connect(socketPath);
  await peer.hello();
  return peer;
}

let nextId = 1000;
async function status(peer: RawPeer): Promise<any> {
  const reply = await peer.call(nextId++, 'daemon/status', {});
  expect(reply.result?.running).toBe(true);
  return reply.result;
}

function logged(root: string, msg: string): boolean {
  return daemonLog(root).some((l) => l.msg === msg);
}

describe('hostile clients', () => {
  test('a request before daemon/hello is refused with HelloRequired and not run; after hello the same connection is served', async () => {
    const r = repo({ workflow: manyItems(2) });
    await orch(['status'], r.root);
    const peer = await RawPeer.connect(readRegistration(r.root)!.socketPath);
    try {
      const refused = await peer.call(1, 'session/start', { task: 'sneaked in' });
      expect(refused.error).toMatchObject({ code: 1303, data: { name: 'HelloRequired', details: { method: 'session/start' } } });
      expect(refused.error.message).toContain('daemon/hello');
      expect(existsSync(join(r.root, '.orchestrator', 'current'))).toBe(false);
      await peer.hello();
      expect((await peer.call(2, 'session/start', { task: 'after hello' })).result).toBeDefined();
    } finally {
      peer.destroy();
    }
  });

  test('a connection that never says hello is closed after ORCH_HELLO_TIMEOUT_MS, told why', async () => {
    const { socketPath } = await daemonWith({ ORCH_HELLO_TIMEOUT_MS: '300' });
    const silent = await RawPeer.connect(socketPath);
    await silent.closedByDaemon(30_000);
    expect(silent.messages).toEqual([{ jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: 1303 }) }]);
    expect(silent.messages[0].error.message).toContain('ORCH_HELLO_TIMEOUT_MS');
  });

  test('a connection over ORCH_MAX_CONNECTIONS is refused with an error naming the limit; the CLI says so; a freed slot serves again', async () => {
    const { root, socketPath } = await daemonWith({ ORCH_MAX_CONNECTIONS: '3' });
    // `orch status` has left; wait until the daemon has let its connection go.
    const holders = [await greeted(socketPath)];
    await waitFor(async () => (await status(holders[0])).connections === 1, 'the CLI connection to close', 30_000);
    holders.push(await greeted(socketPath), await RawPeer.connect(socketPath));
    try {
      const refused = await RawPeer.connect(socketPath);
      await refused.closedByDaemon(30_000);
      expect(refused.messages).toHaveLength(1);
      expect(refused.messages[0]).toMatchObject({ id: null, error: { code: 1304, data: { name: 'TooManyConnections', details: { limit: 3 } } } });
      expect(refused.messages[0].error.message).toMatch(/3 connections.*ORCH_MAX_CONNECTIONS/);
      const cli = await orch(['status'], root);
      expect(cli.code).toBe(3);
      expect(cli.stderr).toContain('ORCH_MAX_CONNECTIONS');
      // The ones already connected keep being served.
      await status(holders[0]);
      holders.pop()!.destroy();
      await waitFor(async () => (await orch(['status'], root)).code !== 3, 'a freed slot to serve the CLI again', 30_000);
    } finally {
      for (const h of holders) h.destroy();
    }
  });

  test.each([
    ['a header trickling in one byte at a time', Buffer.from('Content-Length: 4'), Buffer.from('0')],
    ['a body that stops halfway', Buffer.concat([Buffer.from('Content-Length: 1000\r\n\r\n'), Buffer.alloc(500, 0x20)]), Buffer.from(' ')],
  ])('%s is closed after ORCH_FRAME_TIMEOUT_MS, while other clients are served', async (_name, start, drip) => {
    const { root, socketPath } = await daemonWith({ ORCH_FRAME_TIMEOUT_MS: '500' });
    const bystander = await greeted(socketPath);
    const stuck = await greeted(socketPath);
    await stuck.write(start);
    // Keep dripping bytes that never finish the frame: progress within a frame does not reset the clock.
    const drip$ = setInterval(() => void stuck.write(drip).catch(() => undefined), 50);
    try {
      await stuck.closedByDaemon(30_000);
      expect(logged(root, 'incomplete frame timed out; connection closed')).toBe(true);
      await status(bystander);
    } finally {
      clearInterval(drip$);
      stuck.destroy();
      bystander.destroy();
    }
  });

  test('past ORCH_MAX_BUFFERED_BYTES a new big partial frame is refused while those already held stay; a normal client is answered meanwhile', async () => {
    const { root, socketPath } = await daemonWith({ ORCH_MAX_BUFFERED_BYTES: String(2 * MiB) });
    const bystander = await greeted(socketPath);
    const body = (n: number) => Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: n, method: 'daemon/status', params: { pad: 'x'.repeat(900_000) } }));
    const holders = [await greeted(socketPath), await greeted(socketPath)];
    const late = await greeted(socketPath);
    const bodies = [body(1), body(2), body(3)];
    const half = (b: Buffer) => Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`), b.subarray(0, b.length - 10)]);
    try {
      for (const [i, h] of holders.entries()) await h.write(half(bodies[i]));
      await waitFor(async () => (await status(bystander)).memory.clientBufferedBytes > 1.7 * MiB, 'the daemon to hold both partial frames', 30_000);
      await late.write(half(bodies[2])).catch(() => undefined);
      await late.closedByDaemon(30_000);
      expect(logged(root, 'buffered bytes over the total cap; connection closed')).toBe(true);
      expect(holders.map((h) => h.isClosed)).toEqual([false, false]);
      const started = Date.now();
      await status(bystander);
      expect(Date.now() - started).toBeLessThan(30_000);
      // The held frames were kept whole: finishing them gets their answers.
      for (const [i, h] of holders.entries()) await h.write(bodies[i].subarray(bodies[i].length - 10));
      for (const [i, h] of holders.entries()) expect((await h.reply(i + 1, 30_000)).result.running).toBe(true);
      await waitFor(async () => (await status(bystander)).memory.clientBufferedBytes < 64 * 1024, 'the buffers to be released', 30_000);
    } finally {
      for (const p of [bystander, late, ...holders]) p.destroy();
    }
  });

  test('a client that sends requests but never reads the replies is cut off at ORCH_MAX_UNREAD_REPLY_BYTES; others are served', async () => {
    const { root, socketPath } = await daemonWith({ ORCH_MAX_UNREAD_REPLY_BYTES: String(256 * 1024) }, manyItems(100));
    const bystander = await greeted(socketPath);
    const deaf = await greeted(socketPath);
    deaf.socket.pause();
    const batch = Buffer.concat(Array.from({ length: 50 }, (_, i) => request(`s${i}`, 'session/status', {})));
    try {
      await waitFor(
        async () => {
          if (!deaf.isClosed) await deaf.write(batch).catch(() => undefined);
          return logged(root, 'peer does not read its replies; connection closed');
        },
        'the daemon to cut off the client that does not read',
        30_000,
        20,
      );
      await status(bystander);
    } finally {
      deaf.destroy();
      bystander.destroy();
    }
  });
});
