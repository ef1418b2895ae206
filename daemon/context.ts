import type { RepoPaths } from '../protocol/paths.js';
import type { DaemonConfig } from './config.js';
import type { DaemonEvents } from './events.js';
import type { KeyedMutex } from './keyed-mutex.js';
import type { LiveService } from './live/live-service.js';
import type { Logger } from './logger.js';
import type { SessionIndex } from './session-index.js';
import type { SessionStore } from './session-store.js';

/** What handlers and services share. A leaf: type imports only. */
export interface DaemonContext {
  readonly config: DaemonConfig;
  readonly paths: RepoPaths;
  readonly log: Logger;
  readonly store: SessionStore;
  /** Cached per-session summaries for listing. */
  readonly index: SessionIndex;
  /** Raised after changes are on disk. */
  readonly events: DaemonEvents;
  /** Live updates (subscriptions and file watching); null where the daemon runs without them. */
  readonly live?: LiveService | null;
  /** Per-session mutexes, plus the key `repo` for repo-level files. */
  readonly locks: KeyedMutex;
  readonly instanceId: string;
  readonly startedAt: Date;
  readonly socketPath: string;
  /** Open connections right now. */
  connections(): number;
  /** Why the previous daemon ended, if it left a note. */
  readonly lastExitReason: string | null;
  /**
   * Set (to the reason) when `.orchestrator/` cannot be written (a read-only file system or
   * folder): read commands are served without writing anything, and say so.
   */
  readonly readOnly?: string | null;
  /** Starts an orderly shutdown (after the current reply is sent). */
  requestShutdown(reason: string): void;
}

/** The key of the repo-level mutex (current, meta.json, .gitignore). */
export const REPO_LOCK = 'repo';
