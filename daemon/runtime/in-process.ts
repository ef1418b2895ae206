/**
 * No-daemon mode (ORCH_DAEMON=0, and by default under CI): the client loads this module by path and
 * runs one command through the daemon's own handlers, over an in-memory pair of streams instead of
 * a socket. It holds the same single-writer lock (`daemon.lock`, kind `cli`) from before it reads
 * anything until the command's work is done, and does the same start-up cleanup, so every
 * guarantee of the daemon (one writer, durable acknowledged writes, no debris) holds here too.
 * Side-effect free at import; the client never imports this statically (project references).
 */
import { mkdir } from 'node:fs/promises';
import { pino } from 'pino';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import { repoPaths, type RepoPaths } from '../../protocol/node/paths.js';
import { resolveConfig, type DaemonConfig } from './config.js';
import { OrchError } from '../errors.js';
import { ROUTES } from '../services/routes.js';
import { serveRoutes } from './router.js';
import { createDaemonContext } from '../context.js';
import { IdleTimer, waitUntil } from './idle-timer.js';
import { describeHolder, tryAcquire, type LockHandle } from './lock-file.js';
import { createLogger } from './logger.js';
import { SessionStore } from '../store/session-store.js';
import { prepareRepoAtStart } from '../store/repo-repair.js';
import { leaveCleanMark } from '../store/temp-files.js';
import { mkdirNoFollow } from '../../protocol/node/safe-fs.js';

/** The client's side of an in-process command. */
export interface InProcessChannel {
  /** What the handlers write (the client reads it). */
  readonly input: Readable;
  /** What the client writes (the handlers read it). */
  readonly output: Writable;
  /** Ends the command: waits for work still running, then releases the lock and flushes the log. */
  close(): Promise<void>;
}

export type InProcessOutcome =
  | { kind: 'opened'; channel: InProcessChannel }
  /** A daemon holds the lock: it is the single writer, so the client must talk to it instead. */
  | { kind: 'daemon'; pid: number };

/** Waits for the lock; a live daemon holding it ends the wait at once. */
async function takeCliLock(paths: RepoPaths, config: DaemonConfig): Promise<LockHandle | { daemonPid: number }> {
  const deadline = Date.now() + config.cliLockTimeoutMs;
  let delay = 5;
  for (;;) {
    const attempt = await tryAcquire(paths.daemonLock, 'cli');
    if (attempt.ok) return attempt.handle;
    if (attempt.holder?.kind === 'daemon') return { daemonPid: attempt.holder.pid };
    if (Date.now() >= deadline) {
      throw new OrchError(
        'LockTimeout',
        `Could not take the lock ${paths.daemonLock} within ${config.cliLockTimeoutMs} ms: it is held by ${describeHolder(attempt.holder)}; wait for it to finish, or stop that process.`,
        { lock: paths.daemonLock, holderPid: attempt.holder?.pid ?? null },
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(delay * 2, 50);
  }
}

/** Takes the lock and serves one client over in-memory streams with the daemon's handlers. */
export async function openInProcess(root: string, env: NodeJS.ProcessEnv): Promise<InProcessOutcome> {
  const config = resolveConfig(root, env);
  const paths = repoPaths(config.root);
  mkdirNoFollow(paths.orchDir);
  const lock = await takeCliLock(paths, config);
  if ('daemonPid' in lock) return { kind: 'daemon', pid: lock.daemonPid };
  try {
    return { kind: 'opened', channel: await serveInProcess(config, paths, lock) };
  } catch (err) {
    lock.releaseSync();
    throw err;
  }
}

/**
 * For read commands where `.orchestrator/` cannot be written (a read-only file system or folder):
 * the same handlers, with no lock, no log, no start-up cleanup, and `readOnly` set so nothing is
 * repaired on the way. `reason` says why (shown by the client).
 */
export async function openReadOnly(root: string, env: NodeJS.ProcessEnv, reason: string): Promise<InProcessChannel> {
  const config = resolveConfig(root, env);
  const paths = repoPaths(config.root);
  return serveInProcess(config, paths, null, reason);
}

async function serveInProcess(config: DaemonConfig, paths: RepoPaths, lock: LockHandle | null, readOnly: string | null = null): Promise<InProcessChannel> {
  const log = readOnly !== null ? pino({ level: 'silent' }) : createLogger(paths.daemonLog, config.logLevel, config.logMaxBytes).child({ mode: 'no-daemon' });
  if (readOnly === null) await prepareRepoAtStart(paths, new SessionStore(paths), log);
  const work = new IdleTimer(0, () => undefined);
  const ctx = createDaemonContext({
    config, paths, log, mode: 'in-process', socketPath: 'in-process', lastExitReason: null, readOnly,
    runtime: { connections: () => 1, requestShutdown: () => undefined },
  });
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const conn = createMessageConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
  serveRoutes(conn, ROUTES, ctx, log, work.track);
  conn.listen();
  let closing: Promise<void> | null = null;
  return {
    input: toClient,
    output: toServer,
    close() {
      closing ??= (async () => {
        // Normally nothing runs any more (the client had its answer); a client that gave up early
        // must not release the lock under work that is still writing.
        const finished = work.running === 0 || (await waitUntil(() => work.running === 0, 60_000));
        work.stop();
        conn.dispose();
        toServer.end();
        toClient.end();
        // Every write finished (and the session folders were swept at start): no sweep next time.
        if (lock !== null && finished) await leaveCleanMark(paths).catch((err: unknown) => log.warn({ err }, 'could not leave the clean-stop mark'));
        lock?.releaseSync();
        log.flush();
      })();
      return closing;
    },
  };
}
