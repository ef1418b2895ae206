import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { OrchErrorData } from './errors.js';
import type { LiveHeader } from './events.js';
import type { ClientInfo, ClientKind, RosterListParams } from './params.js';

/** Each request's params, declared once in params.ts (zod), re-exported here as types. */
export type { ClientInfo, ClientKind, RosterListParams };

/** Kinds an AI agent always drives (the MCP server, agent hooks): they may not give a person's approval. */
export const AGENT_CLIENT_KINDS: ReadonlySet<ClientKind> = new Set<ClientKind>(['mcp', 'hook']);

/** One client the daemon knows of. */
export interface RosterEntry {
  /** The daemon's number for the connection (unique per daemon run). */
  connectionId: number;
  kind: ClientKind;
  name: string | null;
  version: string | null;
  pid: number | null;
  cwd: string | null;
  /** The session the client said it is bound to, if any. */
  sessionId: string | null;
  agent: boolean;
  /** ISO time of the hello. */
  connectedAt: string;
  /** ISO time of its last request. */
  lastRequestAt: string;
  /** The method of its last request. */
  lastMethod: string | null;
  /** ISO time it disconnected (recent short-lived clients only). */
  disconnectedAt?: string;
}

export interface RosterListResult {
  /** Connections open now (the caller's included), oldest first. */
  connections: RosterEntry[];
  /** Clients that disconnected in the last 10 minutes (short-lived CLI calls), newest first. */
  recent: RosterEntry[];
}

/** Lists who is connected, and who was recently. */
export const RosterListRequest = new RequestType<RosterListParams, RosterListResult, OrchErrorData>('roster/list');

/** A client connected (said hello) or disconnected; sent to subscribers. */
export interface RosterChangedEvent extends LiveHeader {
  change: 'connected' | 'disconnected';
  entry: RosterEntry;
}
export const RosterChangedNotification = new NotificationType<RosterChangedEvent>('roster/didChange');
