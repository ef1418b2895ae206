/**
 * startDaemon: lock → clean debris → bind → register → serve. Everything a stale predecessor left
 * (lock, socket, registration, temp files) is taken over only while the single-writer lock is
 * held, so racing starters can never produce two daemons (reference §3b: lock-guarded bind). The
 * lock is then held for the daemon's whole life: it is also what a command run without a daemon
 * (ORCH_DAEMON=0) takes, so there is never more than one writer of `.orchestrator/`.
 */
import { stat } from 'node:fs/promises';
import type { MessageConnection } from 'vscode-jsonrpc/node.js';
import { mkdirNoFollow } from '../protocol/safe-fs.js';
import { repoPaths, socketDirFor, socketPathFor, type RepoPaths } from '../protocol/paths.js';
import { ORCH_VERSION, PROTOCOL_VERSION } from '../protocol/version.js';
import type { DaemonConfig } from './config.js';
import type { DaemonContext } from './context.js';
import { writeDurable } from './durable-write.js';
import { bindSocket, removeSocketIfOurs, takeDaemonLock } from './endpoint.js';
import { DaemonEvents } from './events.js';
import { registerAllHandlers } from './handlers/index.js';
import { randomHex } from './ids.js';
import { KeyedMutex } from './keyed-mutex.js';
import { LiveService } from './live/live-service.js';
import { IdleTimer, ownershipLost, waitUntil } from './lifecycle.js';
import type { LockHandle, LockHolder } from './lock.js';
import { createLogger, type Logger } from './logger.js';
import { removeRegistrationIfOurs, writeRegistration } from './registration.js';
import { createSocketServer } from './server.js';
import { SessionIndex } from './session-index.js';
import { SessionStore } from './session-store.js';
import { checkSocketPathLength, prepareSocketDir } from './socket-dir.js';
import { prepareRepoAtStart, previousExit, sweepSessionsInBackground } from './startup.js';
import type { TempSweep } from './temp-files.js';

export interface DaemonHandle {
  readonly socketPath: string;
  readonly instanceId: string;
  /** Resolves with the reason once the daemon has fully shut down. */
  readonly closed: Promise<string>;
  shutdown(reason: string): Promise<string>;
}

export type StartOutcome = { kind: 'running'; handle: DaemonHandle } | { kind: 'already-running'; holder: LockHolder | null };

const DRAIN_TIMEOUT_MS = 10_000;

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
  const store = new SessionStore(paths);
  await prepareRepoAtStart(paths, store, log, 'later');

  const socketDir = socketDirFor(env, process.getuid?.() ?? 0);
  await prepareSocketDir(socketDir);
  const socketPath = socketPathFor(socketDir, paths.root);
  checkSocketPathLength(socketPath);

  const instanceId = randomHex(16);
  const startedAt = new Date();
  const locks = new KeyedMutex();
  const index = new SessionIndex(store, paths.root);
  let shutdownPromise: Promise<string> | null = null;
  /** The background sweep of session folders for temp-file debris (started once registered). */
  let sweep: TempSweep | null = null;
  let resolveClosed!: (reason: string) => void;
  const closed = new Promise<string>((r) => (resolveClosed = r));

  const idle = new IdleTimer(config.idleTimeoutMs, () => void shutdown(`idle for ${config.idleTimeoutMs} ms`));
  const ctx: { -readonly [K in keyof DaemonContext]: DaemonContext[K] } = {
    config, paths, log, store, index, events: new DaemonEvents(), locks, instanceId, startedAt, socketPath, lastExitReason,
    live: null,
    connections: () => sockets.connections.size,
    requestShutdown: (reason) => void setImmediate(() => void shutdown(reason)),
  };
  // Live updates need the finished context (they listen to its events), hence the late assignment.
  const live = new LiveService(ctx, config.subscriberMaxPending);
  ctx.live = live;
  const sockets = createSocketServer(log, config.maxMessageBytes, {
    register(conn: MessageConnection, connLog: Logger) {
      registerAllHandlers(conn, ctx, connLog, idle.track);
    },
    onCountChange: (n) => idle.setConnections(n),
  });

  mkdirNoFollow(paths.sessionsDir);
  await live.start();
  const socketIno = await bindSocket(sockets.server, socketPath);
  await writeRegistration(paths.daemonJson, {
    pid: process.pid, instanceId, socketPath, protocolVersion: PROTOCOL_VERSION, version: ORCH_VERSION,
    startedAt: startedAt.toISOString(), repoRoot: paths.root, logPath: paths.daemonLog, startReason: config.startReason,
  });
  idle.setConnections(0);
  log.info({ socketPath, root: paths.root, lastExitReason, startReason: config.startReason, version: ORCH_VERSION }, 'daemon listening');
  // Temp files a killed writer left in session folders: swept now, in the background, by age.
  try {
    sweep = sweepSessionsInBackground(paths, await store.listIds(), startedNs, log);
  } catch (err) {
    log.warn({ err }, 'could not start the sweep of stray temp files');
  }

  const ownership = setInterval(() => {
    void ownershipLost(socketPath, socketIno, paths.daemonJson, instanceId).then((why) => {
      if (why) void shutdown(why);
    });
  }, config.ownershipCheckMs);
  ownership.unref();

  async function shutdown(reason: string): Promise<string> {
    if (shutdownPromise) return shutdownPromise;
    shutdownPromise = (async () => {
      log.info({ reason, running: idle.running }, 'shutting down');
      clearInterval(ownership);
      idle.stop();
      // Withdraw first, so new clients go straight to a successor (which waits for our lock)
      // instead of queueing behind the drain; each is removed only while it is still ours.
      sockets.stopAccepting();
      await removeSocketIfOurs(socketPath, socketIno);
      await removeRegistrationIfOurs(paths.daemonJson, instanceId);
      await live.stop(reason).catch((err: unknown) => log.warn({ err }, 'live updates did not stop cleanly'));
      await sweep?.stop().catch(() => undefined);
      const drained = await waitUntil(() => idle.running === 0, DRAIN_TIMEOUT_MS);
      if (!drained) log.warn({ running: idle.running }, 'shutdown: work still running after the drain deadline');
      await sockets.closeConnections();
      try {
        await writeDurable(paths.daemonExit, JSON.stringify({ pid: process.pid, reason, at: new Date().toISOString() }) + '\n');
      } catch (err) {
        log.warn({ err }, 'could not record the exit reason');
      }
      await lock.release();
      log.info({ reason }, 'daemon stopped');
      log.flush();
      resolveClosed(reason);
      return reason;
    })();
    return shutdownPromise;
  }

  return { socketPath, instanceId, closed, shutdown };
}
