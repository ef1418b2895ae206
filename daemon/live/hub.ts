/**
 * Subscriptions: which connection wants which sessions' events, each with its own sequence
 * numbers. A subscriber that stops reading is not allowed to grow the daemon's memory: once too
 * many notifications are unwritten it gets nothing more until its backlog drains, and then one
 * `subscription/resync` so it knows it missed events (Turborepo's "lagged → rediscover").
 */
import type { MessageConnection, NotificationType } from 'vscode-jsonrpc/node.js';
import {
  CurrentSwitchedNotification,
  DaemonWillShutdownNotification,
  ResyncNotification,
  SessionChangedNotification,
  SessionCreatedNotification,
  SessionRemovedNotification,
  WorkflowFileChangedNotification,
  type LiveHeader,
} from '../../protocol/events.js';
import { RosterChangedNotification } from '../../protocol/roster.js';
import type { Logger } from '../runtime/logger.js';
import { randomHex } from '../store/ids.js';
import type { LiveEvent } from './live-event.js';

interface Subscription {
  id: string;
  conn: MessageConnection;
  sessionId: string | undefined;
  /** Also wants roster/didChange (who connects and disconnects). */
  roster: boolean;
  seq: number;
  /** Notifications handed to the connection but not yet written to the socket. */
  pending: number;
  overflowed: boolean;
}

export class LiveHub {
  private readonly subs = new Map<string, Subscription>();

  constructor(
    private readonly log: Logger,
    private readonly maxPending: number,
  ) {}

  get size(): number {
    return this.subs.size;
  }

  subscribe(conn: MessageConnection, sessionId: string | undefined, roster = false): string {
    const id = randomHex(12);
    this.subs.set(id, { id, conn, sessionId, roster, seq: 0, pending: 0, overflowed: false });
    this.log.debug({ subscription: id, session: sessionId ?? '*' }, 'subscribed');
    return id;
  }

  unsubscribe(id: string): boolean {
    return this.subs.delete(id);
  }

  /** Drops every subscription of a closed connection. */
  detach(conn: MessageConnection): void {
    for (const [id, sub] of this.subs) if (sub.conn === conn) this.subs.delete(id);
  }

  /** Delivers an event to every subscription that wants it. */
  publish(event: LiveEvent): void {
    for (const sub of this.subs.values()) {
      if (event.kind === 'roster' && !sub.roster) continue;
      if (sub.sessionId !== undefined && 'sessionId' in event.body && event.body.sessionId !== sub.sessionId) continue;
      this.send(sub, event);
    }
  }

  private header(sub: Subscription): LiveHeader {
    sub.seq += 1;
    return { subscriptionId: sub.id, seq: sub.seq, at: new Date().toISOString() };
  }

  private send(sub: Subscription, event: LiveEvent): void {
    if (sub.overflowed) return;
    if (sub.pending >= this.maxPending) {
      sub.overflowed = true;
      this.log.warn({ subscription: sub.id, pending: sub.pending }, 'subscriber is not reading; dropping events until it catches up');
      return;
    }
    this.write(sub, TYPES[event.kind] as NotificationType<unknown>, { ...event.body, ...this.header(sub) });
  }

  private write<P>(sub: Subscription, type: NotificationType<P>, params: P): void {
    sub.pending += 1;
    sub.conn.sendNotification(type, params).then(
      () => this.settled(sub),
      () => this.settled(sub),
    );
  }

  private settled(sub: Subscription): void {
    sub.pending -= 1;
    if (sub.overflowed && sub.pending === 0 && this.subs.has(sub.id)) {
      sub.overflowed = false;
      this.write(sub, ResyncNotification, { ...this.header(sub), reason: 'events were dropped because this subscriber did not read them fast enough' });
    }
  }
}

const TYPES = {
  created: SessionCreatedNotification,
  changed: SessionChangedNotification,
  removed: SessionRemovedNotification,
  switched: CurrentSwitchedNotification,
  workflowFile: WorkflowFileChangedNotification,
  shutdown: DaemonWillShutdownNotification,
  roster: RosterChangedNotification,
} as const;
