/**
 * The daemon context: everything services share, built once by {@link createDaemonContext} for the
 * daemon and for no-daemon mode alike. It owns what would otherwise be module state (the state
 * cache, the commit queues, the legacy source's notes), so two contexts in one process (tests)
 * never share anything.
 */
import type { RepoPaths } from '../protocol/node/paths.js';
import { DaemonEvents } from './events.js';
import { LegacySource } from './legacy/legacy-source.js';
import { LiveService } from './live/live-service.js';
import type { DaemonConfig } from './runtime/config.js';
import { KeyedMutex } from './runtime/keyed-mutex.js';
import { Roster } from './runtime/roster.js';
import type { Logger } from './runtime/logger.js';
import { CommitQueues } from './services/commit-queues.js';
import { GateWaiters } from './services/gate-wait.js';
import { writeCurrent } from './services/current.js';
import { randomHex } from './store/ids.js';
import { cloneId, isPortable } from './store/repo-meta.js';
import { SessionIndex } from './store/session-index.js';
import { SessionStore } from './store/session-store.js';
import { StateFiles } from './store/state-file.js';

export interface DaemonContext {
  readonly config: DaemonConfig;
  readonly paths: RepoPaths;
  readonly log: Logger;
  readonly store: SessionStore;
  /** Sessions' state.json files, with the parsed-state cache. */
  readonly states: StateFiles;
  /** Cached per-session summaries for listing. */
  readonly index: SessionIndex;
  /** The older Python tool's files: read, adopted on the first change, never written. */
  readonly legacy: LegacySource;
  /** Raised after changes are on disk. */
  readonly events: DaemonEvents;
  /** Per-session mutexes, plus the key `repo` for repo-level files. */
  readonly locks: KeyedMutex;
  /** Sessions whose log was already checked for lines a crash left without their state change. */
  readonly reconciled: Set<string>;
  /**
   * Set (to the reason) when `.orchestrator/` cannot be written (a read-only file system or
   * folder): read commands are served without writing anything, and say so.
   */
  readonly readOnly: string | null;
  /** Changes waiting for a session's mutex (group commit). */
  readonly commits: CommitQueues;
  /** Live updates (subscriptions and file watching); null without a daemon. */
  readonly live: LiveService | null;
  /** Who is connected (roster/list); changes are published to subscribers that asked for them. */
  readonly roster: Roster;
  /** Pending gate/wait requests, woken by this context's change events. */
  readonly waiters: GateWaiters;
  readonly instanceId: string;
  readonly startedAt: Date;
  readonly socketPath: string;
  /** Open connections right now. */
  connections(): number;
  /** Bytes held for clients right now (incomplete frames, unread replies); absent without a socket server. */
  bufferedBytes?(): number;
  /** Why the previous daemon ended, if it left a note. */
  readonly lastExitReason: string | null;
  /** Starts an orderly shutdown (after the current reply is sent). */
  requestShutdown(reason: string): void;
}


export interface ContextOptions {
  config: DaemonConfig;
  paths: RepoPaths;
  log: Logger;
  /** `daemon`: with live updates; `in-process`: one command run without a daemon. */
  mode: 'daemon' | 'in-process';
  /** Why nothing may be written (read-only file system or folder); null normally. */
  readOnly?: string | null;
  socketPath: string;
  lastExitReason: string | null;
  /** What the process around the context provides. */
  runtime: { connections(): number; bufferedBytes?(): number; requestShutdown(reason: string): void };
}

export function createDaemonContext(o: ContextOptions): DaemonContext {
  const store = new SessionStore(o.paths);
  const states = new StateFiles(store, o.paths.root, {
    portable: () => isPortable(o.paths, (p) => store.readSmall(p)),
    cloneId: () => cloneId(o.paths, (p) => store.readSmall(p)),
  });
  const events = new DaemonEvents();
  const locks = new KeyedMutex();
  const index = new SessionIndex(store, states, o.paths, (o.readOnly ?? null) !== null);
  states.afterSave = (id, state, key) => index.noteSaved(id, state, key);
  const legacy = new LegacySource({
    paths: o.paths, store, states, log: o.log, locks, events, config: o.config,
    makeCurrent: (id) => writeCurrent(store, events, id),
  });
  const live =
    o.mode === 'daemon' ? new LiveService({ paths: o.paths, log: o.log, store, states, index, events, locks }, o.config.subscriberMaxPending) : null;
  const roster = new Roster((change, entry) => live?.hub.publish({ kind: 'roster', body: { change, entry } }));
  return {
    config: o.config, paths: o.paths, log: o.log, store, states, index, legacy, events, locks, live, roster,
    waiters: new GateWaiters(events),
    commits: new CommitQueues(),
    reconciled: new Set<string>(),
    readOnly: o.readOnly ?? null,
    instanceId: randomHex(16), startedAt: new Date(), socketPath: o.socketPath, lastExitReason: o.lastExitReason,
    connections: () => o.runtime.connections(),
    bufferedBytes: () => o.runtime.bufferedBytes?.() ?? 0,
    requestShutdown: (reason) => o.runtime.requestShutdown(reason),
  };
}
