/**
 * The daemon's orderly exit, in the order that keeps every promise: withdraw (so new clients reach
 * a successor, which waits for our lock), stop live updates and background work, drain running
 * requests, close connections, record why, and only then release the single-writer lock.
 */
import type { RepoPaths } from '../../protocol/node/paths.js';
import type { LiveService } from '../live/live-service.js';
import { writeDurable } from '../store/durable-write.js';
import { leaveCleanMark, type TempSweep } from '../store/temp-files.js';
import { waitUntil, type IdleTimer } from './idle-timer.js';
import type { LockHandle } from './lock-file.js';
import type { Logger } from './logger.js';
import { removeRegistrationIfOurs } from './registration.js';
import { removeSocketIfOurs } from './socket-endpoint.js';
import type { SocketServer } from './socket-server.js';

/** How long a shutdown waits for running requests (a gate's command) before closing connections. */
const DRAIN_TIMEOUT_MS = 10_000;

/** What a running daemon holds, in the order it lets go of it. */
export interface RunningDaemon {
  readonly paths: RepoPaths;
  readonly log: Logger;
  readonly instanceId: string;
  readonly socketPath: string;
  readonly socketIno: number;
  readonly sockets: SocketServer;
  readonly idle: IdleTimer;
  readonly live: LiveService;
  readonly lock: LockHandle;
  /** Timers to clear first (the ownership check). */
  readonly timers: NodeJS.Timeout[];
  /** The background temp-file sweep, once started. */
  sweep: TempSweep | null;
}

export async function orderlyShutdown(d: RunningDaemon, reason: string): Promise<string> {
  const { log, idle, sockets, paths } = d;
  log.info({ reason, running: idle.running }, 'shutting down');
  d.timers.forEach((t) => clearInterval(t));
  idle.stop();
  // Withdraw first, so new clients go straight to a successor (which waits for our lock)
  // instead of queueing behind the drain; each is removed only while it is still ours.
  sockets.stopAccepting();
  await removeSocketIfOurs(d.socketPath, d.socketIno);
  await removeRegistrationIfOurs(paths.daemonJson, d.instanceId);
  await d.live.stop(reason).catch((err: unknown) => log.warn({ err }, 'live updates did not stop cleanly'));
  await d.sweep?.stop().catch(() => undefined);
  const drained = await waitUntil(() => idle.running === 0, DRAIN_TIMEOUT_MS);
  if (!drained) log.warn({ running: idle.running }, 'shutdown: work still running after the drain deadline');
  await sockets.closeConnections();
  // Every write finished and every session folder swept: the next writer need not sweep them.
  if (drained && d.sweep?.complete === true) await leaveCleanMark(paths).catch((err: unknown) => log.warn({ err }, 'could not leave the clean-stop mark'));
  try {
    await writeDurable(paths.daemonExit, JSON.stringify({ pid: process.pid, reason, at: new Date().toISOString() }) + '\n');
  } catch (err) {
    log.warn({ err }, 'could not record the exit reason');
  }
  await d.lock.release();
  log.info({ reason }, 'daemon stopped');
  log.flush();
  return reason;
}
