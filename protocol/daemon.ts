import { RequestType } from 'vscode-jsonrpc';
import type { OrchErrorData } from './errors.js';
import type { DaemonHelloParams, DaemonStatusParams, DaemonShutdownParams } from './params.js';

/** Each request's params, declared once in params.ts (zod), re-exported here as types. */
export type { DaemonHelloParams, DaemonStatusParams, DaemonShutdownParams };


export interface DaemonHelloResult {
  /** The daemon's protocol version; equal to the client's, or the request fails with `ProtocolMismatch`. */
  protocolVersion: number;
  /** The daemon's orch version. */
  daemonVersion: string;
  /** The daemon's process id. */
  pid: number;
  /** A fresh id per daemon start; a change means the daemon restarted. */
  instanceId: string;
}

/** Handshake. Fails with `ProtocolMismatch` when the versions differ. */
export const DaemonHelloRequest = new RequestType<DaemonHelloParams, DaemonHelloResult, OrchErrorData>(
  'daemon/hello',
);


export interface DaemonStatusResult {
  /** Always true: an answering daemon is running. */
  running: true;
  pid: number;
  /** The daemon's orch version. */
  version: string;
  protocolVersion: number;
  /** Absolute path of the Unix socket. */
  socket: string;
  /** Milliseconds since the daemon started listening. */
  uptimeMs: number;
  /** ISO time the daemon started. */
  startedAt: string;
  /** Absolute path of the repository the daemon serves. */
  repoRoot: string;
  /** Absolute path of the daemon's log file. */
  logPath: string;
  /** Connections open now, including the caller's. */
  connections: number;
  /** Why the previous daemon of this repo ended, if known (e.g. `idle`, `signal SIGTERM`, `crashed`). */
  lastExitReason: string | null;
  /**
   * Why this daemon was started, as the client that spawned it said: e.g. `started by orch status`,
   * `orch daemon restart`, or `replaced pid 123 (orch 0.0.9, protocol 0): incompatible protocol`.
   * Null when it was started by hand.
   */
  startReason: string | null;
  /** This daemon's instance id (as in `daemon/hello`); a new one after every restart. */
  instanceId: string;
  /** Idle timeout in milliseconds. */
  idleTimeoutMs: number;
  /**
   * The daemon process's memory now, in bytes: resident set, V8 heap in use, and what it holds for
   * clients (incomplete incoming frames plus replies not yet read; capped by ORCH_MAX_BUFFERED_BYTES).
   */
  memory?: { rssBytes: number; heapUsedBytes: number; clientBufferedBytes: number };
}

/** Reports the daemon's identity and health. */
export const DaemonStatusRequest = new RequestType<DaemonStatusParams, DaemonStatusResult, OrchErrorData>(
  'daemon/status',
);


export interface DaemonShutdownResult {
  /** The pid that is shutting down. */
  pid: number;
}

/** Asks the daemon to drain and exit. The reply is sent before it exits. */
export const DaemonShutdownRequest = new RequestType<DaemonShutdownParams, DaemonShutdownResult, OrchErrorData>(
  'daemon/shutdown',
);

/**
 * `.orchestrator/daemon.json`: written by the daemon after `listen()` succeeds, read by every client
 * to find the socket (clients never derive the socket path themselves).
 */
export interface DaemonRegistration {
  pid: number;
  /** The daemon's instance id (a fresh nonce per start). */
  instanceId: string;
  socketPath: string;
  protocolVersion: number;
  version: string;
  startedAt: string;
  repoRoot: string;
  logPath: string;
  /** Why this daemon was started, as the client that spawned it said (null when started by hand). */
  startReason: string | null;
}

/** A parsed daemon.json, if it has the fields a client needs (pid, socket path). */
export function asRegistration(value: unknown): DaemonRegistration | null {
  const reg = value as Partial<DaemonRegistration> | null;
  return typeof reg === 'object' && reg !== null && typeof reg.socketPath === 'string' && typeof reg.pid === 'number' ? (reg as DaemonRegistration) : null;
}
