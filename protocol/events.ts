import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { OrchErrorData } from './errors.js';
import type { SessionListEntry, WorkflowStatusView } from './session.js';
import type { SubscribeParams, UnsubscribeParams } from './params.js';

/** Each request's params, declared once in params.ts (zod), re-exported here as types. */
export type { SubscribeParams, UnsubscribeParams };

/**
 * Live updates. A client subscribes (all sessions, or one) and then receives notifications.
 * Every notification carries the subscription id and a sequence number that grows by one per
 * notification on that subscription; a gap never happens silently: a subscriber that falls
 * behind gets `subscription/resync` and should re-read what it shows.
 */

export interface SubscribeResult {
  subscriptionId: string;
  /** The daemon instance; a different id after a reconnect means the daemon restarted. */
  instanceId: string;
}
/** Subscribes this connection to live updates. Fails with `InvalidSessionId`, `SessionNotFound`. */
export const SubscribeRequest = new RequestType<SubscribeParams, SubscribeResult, OrchErrorData>('session/subscribe');

/** Ends a subscription. */
export const UnsubscribeRequest = new RequestType<UnsubscribeParams, Record<string, never>, OrchErrorData>('session/unsubscribe');

/** Fields common to every live notification. */
export interface LiveHeader {
  subscriptionId: string;
  /** 1, 2, 3, … per subscription. */
  seq: number;
  /** ISO time the daemon sent it. */
  at: string;
}

export interface SessionCreatedEvent extends LiveHeader {
  sessionId: string;
  session: SessionListEntry;
}
/** A session was created. */
export const SessionCreatedNotification = new NotificationType<SessionCreatedEvent>('session/didCreate');

export interface SessionChangedEvent extends LiveHeader {
  sessionId: string;
  /** The session's status after the change; null when its state cannot be read. */
  status: WorkflowStatusView | null;
  /** True when the change was made outside the daemon (a person or another tool edited the files). */
  external: boolean;
  /** Set when the state could not be read after an outside change. */
  error?: string;
}
/** A session's state changed. */
export const SessionChangedNotification = new NotificationType<SessionChangedEvent>('session/didChange');

export interface SessionRemovedEvent extends LiveHeader {
  sessionId: string;
}
/** A session folder was deleted (outside the daemon). */
export const SessionRemovedNotification = new NotificationType<SessionRemovedEvent>('session/didRemove');

export interface CurrentSwitchedEvent extends LiveHeader {
  sessionId: string | null;
  previous: string | null;
}
/** The repo's current session changed. */
export const CurrentSwitchedNotification = new NotificationType<CurrentSwitchedEvent>('session/didSwitch');

export interface WorkflowFileChangedEvent extends LiveHeader {
  /** Absolute path of workflow.yaml. */
  file: string;
  /** False when the file was deleted. */
  exists: boolean;
  /** False when it no longer validates; running sessions keep their own copy either way. */
  valid: boolean;
  errors: string[];
  warnings: string[];
}
/** `workflow.yaml` changed (new sessions will use it; running ones keep their definition). */
export const WorkflowFileChangedNotification = new NotificationType<WorkflowFileChangedEvent>('workflow/didChange');

export interface ResyncEvent extends LiveHeader {
  /** Why events were dropped, e.g. the subscriber did not read fast enough. */
  reason: string;
}
/** Events were dropped for this subscriber: re-read whatever it shows. */
export const ResyncNotification = new NotificationType<ResyncEvent>('subscription/resync');

export interface DaemonShutdownEvent extends LiveHeader {
  reason: string;
}
/** The daemon is about to stop (a client library reconnects and a new daemon answers). */
export const DaemonWillShutdownNotification = new NotificationType<DaemonShutdownEvent>('daemon/willShutdown');
