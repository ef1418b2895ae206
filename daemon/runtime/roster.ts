/**
 * Who is connected: every connection that said `daemon/hello` (with who it said it is), and the
 * clients that disconnected in the last {@link RECENT_MS} (short-lived CLI calls), for `roster/list`
 * and `orch who`. Memory is bounded whatever clients send: live entries are at most the socket
 * server's connection cap, the recent list at most {@link MAX_RECENT} entries, and every string a
 * client gave is cut to a fixed length (params.ts caps them again on the wire).
 */
import type { ClientInfo } from '../../protocol/params.js';
import type { RosterEntry } from '../../protocol/roster.js';

/** How long a disconnected client stays listed. */
export const RECENT_MS = 10 * 60 * 1000;
/** At most this many disconnected clients are remembered (oldest forgotten first). */
export const MAX_RECENT = 200;
/** Longest string kept from a client's hello (a cwd longer than this is cut). */
const MAX_TEXT = 1024;
/** Longest method name kept as a connection's last request. */
const MAX_METHOD = 100;

/** What the roster keeps of one connection; the router updates `lastRequestAt`/`lastMethod`. */
export interface RosterSlot {
  readonly connectionId: number;
  info: ClientInfo | null;
  connectedAt: number;
  lastRequestAt: number;
  lastMethod: string | null;
}

export type RosterChange = 'connected' | 'disconnected';

function text(s: string | undefined, max = MAX_TEXT): string | null {
  return typeof s === 'string' ? s.slice(0, max) : null;
}

export class Roster {
  private readonly live = new Map<number, RosterSlot>();
  private recent: RosterEntry[] = [];
  private nextId = 1;

  constructor(private readonly onChange: (change: RosterChange, entry: RosterEntry) => void = () => undefined) {}

  /** A slot for a new connection (not listed until it says hello). */
  open(): RosterSlot {
    const now = Date.now();
    return { connectionId: this.nextId++, info: null, connectedAt: now, lastRequestAt: now, lastMethod: null };
  }

  /** The connection said hello (again): list it as who it said it is. */
  hello(slot: RosterSlot, info: ClientInfo | null): void {
    slot.info = info;
    const first = !this.live.has(slot.connectionId);
    if (!first) return;
    slot.connectedAt = Date.now();
    this.live.set(slot.connectionId, slot);
    this.onChange('connected', this.entry(slot));
  }

  /** Records a request of the connection. */
  touch(slot: RosterSlot, method: string): void {
    slot.lastRequestAt = Date.now();
    slot.lastMethod = method.slice(0, MAX_METHOD);
  }

  /** The connection closed: moves it to the recent list. */
  close(slot: RosterSlot): void {
    if (!this.live.delete(slot.connectionId)) return;
    const entry = { ...this.entry(slot), disconnectedAt: new Date().toISOString() };
    this.recent.unshift(entry);
    if (this.recent.length > MAX_RECENT) this.recent.length = MAX_RECENT;
    this.onChange('disconnected', entry);
  }

  get size(): number {
    return this.live.size;
  }

  /** Open connections, oldest first, and the clients that left in the last 10 minutes, newest first. */
  list(now = Date.now()): { connections: RosterEntry[]; recent: RosterEntry[] } {
    const cutoff = now - RECENT_MS;
    this.recent = this.recent.filter((e) => Date.parse(e.disconnectedAt!) >= cutoff);
    const connections = [...this.live.values()].sort((a, b) => a.connectionId - b.connectionId).map((s) => this.entry(s));
    return { connections, recent: [...this.recent] };
  }

  private entry(slot: RosterSlot): RosterEntry {
    const info = slot.info;
    return {
      connectionId: slot.connectionId,
      kind: info?.kind ?? 'library',
      name: text(info?.name),
      version: text(info?.version),
      pid: info?.pid ?? null,
      cwd: text(info?.cwd),
      sessionId: text(info?.sessionId),
      agent: info?.agent === true,
      connectedAt: new Date(slot.connectedAt).toISOString(),
      lastRequestAt: new Date(slot.lastRequestAt).toISOString(),
      lastMethod: slot.lastMethod,
    };
  }
}
