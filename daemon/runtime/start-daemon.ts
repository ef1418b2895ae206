/**
 * startDaemon: lock → clean debris → bind → register → serve. Everything a stale predecessor left
 * (lock, socket, registration, temp files) is taken over only while the single-writer lock is
 * held, so racing starters can never produce two daemons (reference §3b: lock-guarded bind). The
 * lock is then held for the daemon's whole life: it is also what a command run without a daemon
 * (ORCH_DAEMON=0) takes, so there is never more than one writer of `.orchestrator/`.
 */
import { mkdir, stat } from 'node:fs/promises';
import type { MessageConnection } from 'vscode-jsonrpc/node.js';
import { repoPaths, socketDirFor, socketPathFor, type RepoPaths } from '../../protocol/node/paths.js';
import { ORCH_VERSION, PROTOCOL_VERSION } from '../../protocol/version.js';
import type { DaemonConfig } from './config.js';
import { bindSocket, takeDaemonLock } from './socket-endpoint.js';
import { ROUTES } from '../services/routes.js';
import { serveRoutes } from './router.js';
import { createDaemonContext } from '../context.js';
import { IdleTimer, ownershipLost } from './idle-timer.js';
import { orderlyShutdown, type RunningDaemon } from './shutdown.js';
import type { LockHandle, LockHolder } from './lock-file.js';
import { createLogger, type Logger } from './logger.js';
import { writeRegistration } from './registration.js';
import { createSocketServer } from './socket-server.js';
import { SessionStore } from '../store/session-store.js';
import { checkSocketPathLength, prepareSocketDir } from './socket-dir.js';
import { prepareRepoAtStart, previousExit, sweepSessionsInBackground } from '../store/repo-repair.js';
import { mkdirNoFollow } from '../../protocol/node/safe-fs.js';
import { NOTHING_TO_SWEEP } from '../store/temp-files.js';

export interface DaemonHandle {
  readonly socketPath: string;
  readonly instanceId: string;
  /** Resolves with the reason once the daemon has fully shut down. */
  readonly closed: Promise<string>;
  shutdown(reason: string): Promise<string>;
}

export type StartOutcome = { kind: 'running'; handle: DaemonHandle } | { kind: 'already-running'; holder: LockHolder | null };

export async function startDaemon(config: DaemonConfig, env: NodeJS.ProcessEnv, logger?: Logger): Promise<StartOutcome> {
  const paths = repoPaths(config.root);
  mkdirNoFollow(paths.orchDir);
  const taken = await takeDaemonLock(paths, config);
  if (!taken.ok) return { kind: 'already-running', holder: taken.holder };
  const { lock } = taken;
  // The log is opened (and rotated) only with the lock held, so a losing starter never touches it.
  let log: Logger;
  try {
    log = logger ?? createLogger(paths.daemonLog, config.logLevel, config.logMaxBytes);
  } catch (err) {
    await lock.release();
    throw err;
  }
  try {
    return { kind: 'running', handle: await serve(config, env, paths, log, lock) };
  } catch (err) {
    log.error({ err }, 'daemon failed to start');
    await lock.release();
    throw err;
  }
}

async function serve(config: DaemonConfig, env: NodeJS.ProcessEnv, paths: RepoPaths, log: Logger, lock: LockHandle): Promise<DaemonHandle> {
  const lastExitReason = await previousExit(paths);
  // The daemon's start on the filesystem's clock: the lock file it has just created. Any temp file
  // a killed writer left is older; every temp file of a write this daemon does (all after the bind
  // below) is newer.
  const startedNs = (await stat(paths.daemonLock, { bigint: true })).mtimeNs;
  const { sweepSessions } = await prepareRepoAtStart(paths, new SessionStore(paths), log, 'later');

  const socketDir = socketDirFor(env, process.getuid?.() ?? 0);
  await prepareSocketDir(socketDir);
  const socketPath = socketPathFor(socketDir, paths.root);
  checkSocketPathLength(socketPath);

  let shutdownPromise: Promise<string> | null = null;
  let resolveClosed!: (reason: string) => void;
  const closed = new Promise<string>((r) => (resolveClosed = r));
  // Until the daemon is running, a shutdown request (idle timer, a client) has nothing to stop yet.
  let running: RunningDaemon | null = null;
  const shutdown = (reason: string): Promise<string> =>
    (shutdownPromise ??= running ? orderlyShutdown(running, reason).then((r) => (resolveClosed(r), r)) : Promise.resolve(reason));

  const idle = new IdleTimer(config.idleTimeoutMs, () => void shutdown(`idle for ${config.idleTimeoutMs} ms`));
  const ctx = createDaemonContext({
    config, paths, log, mode: 'daemon', socketPath, lastExitReason,
    runtime: {
      connections: () => sockets.connections.size,
      bufferedBytes: () => sockets.bufferedBytes(),
      requestShutdown: (reason) => void setImmediate(() => void shutdown(reason)),
    },
  });
  const { instanceId } = ctx;
  const live = ctx.live!;
  const sockets = createSocketServer(log, config, {
    register(conn: MessageConnection, connLog: Logger) {
      const client = serveRoutes(conn, ROUTES, ctx, connLog, idle.track);
      conn.onClose(() => {
        live.hub.detach(conn);
        ctx.roster.close(client.slot);
      });
    },
    onCountChange: (n) => idle.setConnections(n),
  });

  mkdirNoFollow(paths.sessionsDir);
  await live.start();
  const socketIno = await bindSocket(sockets.server, socketPath);
  await writeRegistration(paths.daemonJson, {
    pid: process.pid, instanceId, socketPath, protocolVersion: PROTOCOL_VERSION, version: ORCH_VERSION,
    startedAt: ctx.startedAt.toISOString(), repoRoot: paths.root, logPath: paths.daemonLog, startReason: config.startReason,
  });
  const ownership = setInterval(() => {
    void ownershipLost(socketPath, socketIno, paths.daemonJson, instanceId).then((why) => {
      if (why) void shutdown(why);
    });
  }, config.ownershipCheckMs);
  ownership.unref();
  running = { paths, log, instanceId, socketPath, socketIno, sockets, idle, live, lock, timers: [ownership], sweep: null };
  idle.setConnections(0);
  log.info({ socketPath, root: paths.root, lastExitReason, startReason: config.startReason, version: ORCH_VERSION }, 'daemon listening');
  // Temp files a killed writer left in session folders: swept now, in the background, by age
  // (only when the last writer did not stop in order).
  try {
    running.sweep = sweepSessions ? sweepSessionsInBackground(paths, await ctx.store.listIds(), startedNs, log) : NOTHING_TO_SWEEP;
  } catch (err) {
    log.warn({ err }, 'could not start the sweep of stray temp files');
  }
  return { socketPath, instanceId, closed, shutdown };
}
