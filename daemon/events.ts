/**
 * In-process events the daemon raises after a change is on disk. Subscriptions (live updates)
 * and caches listen here; writers never need to know who listens.
 */
import { EventEmitter } from 'node:events';

export interface DaemonEventMap {
  /** A new session exists (its state is saved). */
  sessionCreated: [{ sessionId: string }];
  /** A session's state changed (by this daemon, or on disk by someone else when `external`). */
  sessionChanged: [{ sessionId: string; external: boolean }];
  /** A session folder disappeared. */
  sessionRemoved: [{ sessionId: string }];
  /** `current` now names another session. */
  currentSwitched: [{ sessionId: string | null; previous: string | null }];
}

export class DaemonEvents extends EventEmitter<DaemonEventMap> {}
