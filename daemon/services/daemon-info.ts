/** `daemon/hello`, `daemon/status`, `daemon/shutdown`: the daemon's identity, health and exit. */
import type { DaemonHelloParams, DaemonHelloResult, DaemonShutdownParams, DaemonShutdownResult, DaemonStatusResult } from '../../protocol/daemon.js';
import { ORCH_VERSION, PROTOCOL_VERSION } from '../../protocol/version.js';
import type { DaemonContext } from '../context.js';
import { OrchError } from '../errors.js';
import type { CallContext } from '../runtime/router.js';

/** The handshake: the protocol versions must be equal; the connection is open for requests after it. */
export async function hello(ctx: DaemonContext, p: DaemonHelloParams, call: CallContext): Promise<DaemonHelloResult> {
  if (p.protocolVersion !== PROTOCOL_VERSION) {
    throw new OrchError(
      'ProtocolMismatch',
      `This daemon speaks protocol ${PROTOCOL_VERSION} (orch ${ORCH_VERSION}); the client speaks ${String(p.protocolVersion)}.`,
      { daemonProtocol: PROTOCOL_VERSION, daemonVersion: ORCH_VERSION, pid: process.pid },
    );
  }
  call.client.helloDone = true;
  call.client.clientVersion = p.clientVersion;
  call.client.info = p.client ?? null;
  ctx.roster.hello(call.client.slot, call.client.info);
  call.log.debug({ client: p.clientVersion, kind: p.client?.kind, pid: p.client?.pid }, 'hello');
  return { protocolVersion: PROTOCOL_VERSION, daemonVersion: ORCH_VERSION, pid: process.pid, instanceId: ctx.instanceId };
}

export async function daemonStatus(ctx: DaemonContext): Promise<DaemonStatusResult> {
  return {
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
  };
}

export async function shutdownDaemon(ctx: DaemonContext, p: DaemonShutdownParams): Promise<DaemonShutdownResult> {
  ctx.requestShutdown(p.reason ?? 'requested by a client');
  return { pid: process.pid };
}
