import { RequestType } from 'vscode-jsonrpc';
import type { OrchErrorData } from './errors.js';

/** First message on every connection. */
export interface DaemonHelloParams {
  /** The client's {@link PROTOCOL_VERSION}. */
  protocolVersion: number;
  /** The client's orch version, for the daemon log. */
  clientVersion: string;
}

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

export type DaemonStatusParams = Record<string, never>;

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

export interface DaemonShutdownParams {
  /** Recorded in the daemon log and reported by the next daemon's status. */
  reason?: string;
}

export interface DaemonShutdownResult {
  /** The pid that is shutting down. */
  pid: number;
}

/** Asks the daemon to drain and exit. The reply is sent before it exits. */
export const DaemonShutdownRequest = new RequestType<DaemonShutdownParams, DaemonShutdownResult, OrchErrorData>(
  'daemon/shutdown',
);
