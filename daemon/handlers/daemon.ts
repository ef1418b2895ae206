import type { MessageConnection } from 'vscode-jsonrpc/node.js';
import {
  DaemonHelloRequest,
  DaemonShutdownRequest,
  DaemonStatusRequest,
  ORCH_VERSION,
  PROTOCOL_VERSION,
} from '../../protocol/index.js';
import type { DaemonContext } from '../context.js';
import { OrchError } from '../errors.js';
import type { Logger } from '../logger.js';
import { handle, optionalString } from '../rpc.js';
import type { Tracker } from './tracker.js';

export function registerDaemonHandlers(conn: MessageConnection, ctx: DaemonContext, log: Logger, track: Tracker): void {
  handle(conn, log, DaemonHelloRequest, async (p) => {
    if (p.protocolVersion !== PROTOCOL_VERSION) {
      throw new OrchError(
        'ProtocolMismatch',
        `This daemon speaks protocol ${PROTOCOL_VERSION} (orch ${ORCH_VERSION}); the client speaks ${String(p.protocolVersion)}.`,
        { daemonProtocol: PROTOCOL_VERSION, daemonVersion: ORCH_VERSION, pid: process.pid },
      );
    }
    log.debug({ client: p.clientVersion }, 'hello');
    return { protocolVersion: PROTOCOL_VERSION, daemonVersion: ORCH_VERSION, pid: process.pid, instanceId: ctx.instanceId };
  }, track);

  handle(conn, log, DaemonStatusRequest, async () => ({
    running: true as const,
    pid: process.pid,
    version: ORCH_VERSION,
    protocolVersion: PROTOCOL_VERSION,
    socket: ctx.socketPath,
    uptimeMs: Date.now() - ctx.startedAt.getTime(),
    startedAt: ctx.startedAt.toISOString(),
    repoRoot: ctx.paths.root,
    logPath: ctx.paths.daemonLog,
    connections: ctx.connections(),
    lastExitReason: ctx.lastExitReason,
    startReason: ctx.config.startReason,
    instanceId: ctx.instanceId,
    idleTimeoutMs: ctx.config.idleTimeoutMs,
    memory: {
      rssBytes: process.memoryUsage.rss(),
      heapUsedBytes: process.memoryUsage().heapUsed,
      clientBufferedBytes: ctx.bufferedBytes?.() ?? 0,
    },
  }), track);

  handle(conn, log, DaemonShutdownRequest, async (p) => {
    const reason = optionalString(p as Record<string, unknown>, 'reason') ?? 'requested by a client';
    ctx.requestShutdown(reason);
    return { pid: process.pid };
  }, track);
}
