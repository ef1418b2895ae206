/**
 * The routes table (redesign issue): params are validated against the protocol's schemas before a
 * service runs, a connection must say hello first, and a change's notification is built from what
 * the commit wrote, without reading state.json again.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node.js';
import { repoPaths } from '../../protocol/node/paths.js';
import { OrchErrorCode } from '../../protocol/errors.js';
import { SessionChangedNotification, type SessionChangedEvent } from '../../protocol/events.js';
import { createDaemonContext, type DaemonContext } from '../../daemon/context.js';
import { resolveConfig } from '../../daemon/runtime/config.js';
import { createLogger } from '../../daemon/runtime/logger.js';
import { serveRoutes } from '../../daemon/runtime/router.js';
import { ROUTES } from '../../daemon/services/routes.js';
import { readRegistration } from '../helpers/daemons.js';
import { DAEMON_ENV, useTempRepos } from '../helpers/lifecycle.js';
import { runOrch } from '../helpers/run-orch.js';
import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';
import { waitFor } from '../helpers/wait-for.js';
import { RawPeer } from '../helpers/wire.js';

const repo = useTempRepos();

async function daemonPeer(): Promise<{ peer: RawPeer; root: string }> {
  const r = repo();
  await runOrch(['start', 'Routes', '-q'], { cwd: r.root, env: DAEMON_ENV });
  const peer = await RawPeer.connect(readRegistration(r.root)!.socketPath);
  return { peer, root: r.root };
}

describe('params are checked against the protocol schemas', () => {
  test('item/complete with itemId 42 is refused with InvalidParams naming itemId, and nothing changes', async () => {
    const { peer } = await daemonPeer();
    await peer.call(1, 'daemon/hello', { protocolVersion: 1, clientVersion: 'test' });
    const reply = await peer.call(2, 'item/complete', { itemId: 42 });
    expect(reply.error.code).toBe(-32602);
    expect(reply.error.message).toMatch(/itemId/);
    expect(reply.error.message).toMatch(/expected string/);
    const status = await peer.call(3, 'session/status', {});
    expect(status.result.items.every((i: { status: string }) => i.status === 'pending')).toBe(true);
    peer.destroy();
  });

  test('a missing required param and a value outside an enum name the field', async () => {
    const { peer } = await daemonPeer();
    await peer.call(1, 'daemon/hello', { protocolVersion: 1, clientVersion: 'test' });
    const missing = await peer.call(2, 'item/skip', { itemId: 'write_plan' });
    expect(missing.error.code).toBe(-32602);
    expect(missing.error.message).toMatch(/reason/);
    const kind = await peer.call(3, 'feedback/add', { text: 'x', kind: 'mood' });
    expect(kind.error.code).toBe(-32602);
    expect(kind.error.message).toMatch(/kind.*"tool"/);
    const array = await peer.call(4, 'session/status', ['not', 'an', 'object']);
    expect(array.error.code).toBe(-32602);
    peer.destroy();
  });

  test('a request before daemon/hello is refused, and the same request after it is answered', async () => {
    const { peer } = await daemonPeer();
    const early = await peer.call(1, 'session/status', {});
    expect(early.error.code).toBe(OrchErrorCode.HelloRequired);
    expect(early.error.message).toMatch(/daemon\/hello/);
    await peer.call(2, 'daemon/hello', { protocolVersion: 1, clientVersion: 'test' });
    const later = await peer.call(3, 'session/status', {});
    expect(later.result.task).toBe('Routes');
    peer.destroy();
  });

  test('a hello with a wrong type is refused and does not open the connection', async () => {
    const { peer } = await daemonPeer();
    const bad = await peer.call(1, 'daemon/hello', { protocolVersion: '1', clientVersion: 'test' });
    expect(bad.error.code).toBe(-32602);
    expect(bad.error.message).toMatch(/protocolVersion/);
    const after = await peer.call(2, 'session/status', {});
    expect(after.error.code).toBe(OrchErrorCode.HelloRequired);
    peer.destroy();
  });
});

describe('one commit path', () => {
  let tmp: TempRepo | null = null;
  let ctx: DaemonContext | null = null;
  afterEach(async () => {
    ctx = null;
    tmp?.remove();
    tmp = null;
  });

  test("a subscriber's notification after a change is built from what was committed, without reading state.json again", async () => {
    tmp = makeTempRepo({ prefix: 'orch-commit-' });
    const paths = repoPaths(tmp.root);
    const config = resolveConfig(tmp.root, {});
    ctx = createDaemonContext({
      config, paths, log: createLogger(paths.daemonLog, 'warn', config.logMaxBytes), mode: 'daemon', socketPath: 'in-memory', lastExitReason: null,
      runtime: { connections: () => 1, requestShutdown: () => undefined },
    });
    // From the moment a change is committed, nothing may read state.json again to announce it: this
    // listener (registered before live updates start, so it runs first) empties the cache there, so
    // any re-read would have to go to the disk and be counted.
    let readsAtCommit = -1;
    const c = ctx;
    ctx.events.on('sessionChanged', () => {
      c.states.clearCache();
      readsAtCommit = c.store.stateReads;
    });
    await ctx.live!.start();
    const toDaemon = new PassThrough();
    const toClient = new PassThrough();
    const server = createMessageConnection(new StreamMessageReader(toDaemon), new StreamMessageWriter(toClient));
    serveRoutes(server, ROUTES, ctx, ctx.log, (work) => work());
    server.listen();
    const client: MessageConnection = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toDaemon));
    const seen: SessionChangedEvent[] = [];
    client.onNotification(SessionChangedNotification, (e) => void seen.push(e));
    client.listen();
    try {
      await client.sendRequest('daemon/hello', { protocolVersion: 1, clientVersion: 'test' });
      const started = await client.sendRequest<{ sessionId: string }>('session/start', { task: 'Commit path' });
      await client.sendRequest('session/subscribe', {});
      await client.sendRequest('item/complete', { itemId: 'clarify_requirements', notes: 'done' }).catch((err: Error) => {
        throw new Error(`${err.message}\n${readFileSync(paths.daemonLog, 'utf8')}`);
      });
      const event = await waitFor(() => seen.find((e) => e.sessionId === started.sessionId), 'the change notification', 30_000);
      expect(event.status?.items.find((i) => i.id === 'clarify_requirements')?.status).toBe('completed');
      expect(event.external).toBe(false);
      expect(readsAtCommit).toBeGreaterThanOrEqual(0);
      expect(ctx.store.stateReads).toBe(readsAtCommit);
    } finally {
      await ctx.live!.stop('test over');
      client.dispose();
      server.dispose();
    }
  });
});
