/**
 * The dashboard's view of the repository, kept current from the daemon's subscription: the session
 * list, the full status of every open session, the roster, and the gates that wait for a person.
 * A change event that carries a status (session/didChange) is applied without asking the daemon
 * again; anything else (a new or removed session, a switch, a resync, a reconnect) re-reads all.
 * `onChange` fires once per burst of events (coalesced on the next turn of the event loop).
 */
import {
  CurrentSwitchedNotification,
  ResyncNotification,
  SessionChangedNotification,
  SessionCreatedNotification,
  SessionRemovedNotification,
} from '../../protocol/events.js';
import { RosterChangedNotification, RosterListRequest, type RosterEntry } from '../../protocol/roster.js';
import { SessionListRequest, SessionStatusRequest, type SessionListEntry, type WorkflowStatusView } from '../../protocol/session.js';
import type { OrchClient } from '../lib.js';
import type { DaemonState, SessionRow, Snapshot, WaitingGate } from './api.js';

/** At most this many sessions are listed (newest first); more are counted as truncated. */
export const MAX_SESSIONS = 200;
/** At most this many open sessions get a full status (and can show waiting gates). */
const MAX_STATUSES = 100;

const OPEN = new Set(['active', 'paused']);

/** `orch approve-item <id>` / `orch approve` from a status's waitingForPerson, as a gate. */
export function gateOf(view: WorkflowStatusView): WaitingGate | null {
  const person = view.waitingForPerson;
  if (person === null || view.sessionId === null) return null;
  const item = /^orch approve-item (\S+)/.exec(person);
  const base = { sessionId: view.sessionId, task: view.task, phase: view.phase, command: person.split(' --')[0]! };
  if (item) {
    const found = view.items.find((i) => i.id === item[1]);
    return { ...base, kind: 'item', id: item[1]!, name: found?.name ?? item[1]! };
  }
  if (/^orch approve\b/.test(person)) return { ...base, kind: 'phase', id: view.phase, name: view.phaseName };
  return null;
}

function clientLabel(e: RosterEntry): string {
  return e.name && e.name !== 'orch' ? `${e.kind} ${e.name}` : e.kind;
}

export class DashboardModel {
  private list: SessionListEntry[] = [];
  private truncated = false;
  private readonly statuses = new Map<string, WorkflowStatusView>();
  private roster: RosterEntry[] = [];
  private daemon: DaemonState;
  private scheduled = false;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private readonly listeners = new Set<(s: Snapshot) => void>();
  private last: Snapshot | null = null;

  constructor(
    private readonly client: OrchClient,
    private readonly repo: string,
    private readonly approver: string,
  ) {
    this.daemon = { state: 'connected', instanceId: client.instanceId, note: null };
    const reread = () => void this.refresh();
    client.onNotification(SessionCreatedNotification, reread);
    client.onNotification(SessionRemovedNotification, reread);
    client.onNotification(CurrentSwitchedNotification, reread);
    client.onNotification(ResyncNotification, reread);
    client.onNotification(SessionChangedNotification, (e) => {
      if (e.status === null || this.refreshing) return reread();
      this.apply(e.status);
      this.changed();
    });
    client.onNotification(RosterChangedNotification, (e) => {
      this.roster = this.roster.filter((r) => r.connectionId !== e.entry.connectionId);
      if (e.change === 'connected') this.roster.push(e.entry);
      this.changed();
    });
    client.on('disconnected', () => {
      this.daemon = { state: 'reconnecting', instanceId: null, note: 'The daemon went away; reconnecting…' };
      this.changed();
    });
    client.on('waiting', ({ reason }) => {
      this.daemon = { state: 'stopped', instanceId: null, note: `The daemon stopped (${reason}); waiting until an orch command starts it again.` };
      this.changed();
    });
    client.on('reconnected', ({ instanceId, restarted }) => {
      this.daemon = { state: 'connected', instanceId, note: restarted ? 'The daemon restarted; reconnected.' : 'Reconnected.' };
      void this.refresh();
    });
  }

  /** Subscribes (sessions and roster) and reads everything once. */
  async start(): Promise<void> {
    await this.client.subscribe({ roster: true });
    await this.refresh();
  }

  /** True while the daemon connection is up (not reconnecting, not waiting after a stop). */
  get connected(): boolean {
    return this.daemon.state === 'connected';
  }

  onChange(listener: (s: Snapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current snapshot (built once per change). */
  snapshot(): Snapshot {
    return (this.last ??= this.build());
  }

  /** Re-reads the list, the open sessions' statuses and the roster; overlapping calls run once more after the current one. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          await this.readAll();
        } catch {
          // the daemon went away mid-read: the reconnect re-reads
        }
      } while (this.refreshAgain);
    })().finally(() => {
      this.refreshing = null;
      this.changed();
    });
    return this.refreshing;
  }

  private async readAll(): Promise<void> {
    // Only the page shown is asked for: at 10,000 sessions the whole list is a 2.3 MB answer.
    const [{ sessions, total }, roster] = await Promise.all([
      this.client.request(SessionListRequest, { limit: MAX_SESSIONS }),
      this.client.request(RosterListRequest, {}),
    ]);
    this.truncated = total > sessions.length;
    this.list = sessions;
    this.roster = roster.connections;
    const open = this.list.filter((s) => s.source === 'session' && OPEN.has(s.status)).slice(0, MAX_STATUSES);
    const views = await Promise.all(
      open.map((s) => this.client.request(SessionStatusRequest, { sessionId: s.sessionId }).catch(() => null)),
    );
    this.statuses.clear();
    for (const v of views) if (v !== null && 'workflowId' in v) this.apply(v);
  }

  private apply(view: WorkflowStatusView): void {
    if (view.sessionId === null) return;
    const row = this.list.find((s) => s.sessionId === view.sessionId);
    if (row) {
      row.status = view.status;
      row.phase = view.phase;
      row.progress = view.progress;
      row.task = view.task;
    }
    if (OPEN.has(view.status)) this.statuses.set(view.sessionId, view);
    else this.statuses.delete(view.sessionId);
  }

  private changed(): void {
    this.last = null;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const snap = this.snapshot();
      for (const l of this.listeners) l(snap);
    });
  }

  private build(): Snapshot {
    const statuses: Record<string, WorkflowStatusView> = {};
    const waiting: WaitingGate[] = [];
    for (const [id, view] of this.statuses) {
      statuses[id] = view;
      if (view.status !== 'active') continue;
      const gate = gateOf(view);
      if (gate) waiting.push(gate);
    }
    const order = new Map(this.list.map((s, i) => [s.sessionId, i]));
    waiting.sort((a, b) => (order.get(a.sessionId) ?? 0) - (order.get(b.sessionId) ?? 0));
    const sessions: SessionRow[] = this.list.map((s) => {
      const view = this.statuses.get(s.sessionId);
      return {
        sessionId: s.sessionId,
        task: s.task,
        status: s.status,
        phase: s.phase,
        phaseName: view?.phaseName ?? s.phase,
        progress: s.progress,
        current: s.current,
        createdAt: s.createdAt,
        updatedAt: view?.updatedAt ?? null,
        clients: this.roster.filter((r) => r.sessionId === s.sessionId).map(clientLabel),
        waiting: waiting.some((g) => g.sessionId === s.sessionId),
        ...(s.error ? { error: s.error } : {}),
      };
    });
    return { repo: this.repo, approver: this.approver, daemon: this.daemon, sessions, statuses, waiting, roster: this.roster, truncated: this.truncated };
  }
}
