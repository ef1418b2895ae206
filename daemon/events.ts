/**
 * In-process events the daemon raises after a change is on disk. Subscriptions (live updates)
 * and caches listen here; writers never need to know who listens.
 */
import { EventEmitter } from 'node:events';
import type { WorkflowStatusView } from '../protocol/session.js';
import type { WorkflowDef, WorkflowState } from './engine/types.js';

/** What a commit wrote, handed to listeners so that none of them reads the files again. */
export interface CommittedState {
  state: WorkflowState;
  def: WorkflowDef;
  /** The status view of `state`, built once. */
  status: WorkflowStatusView;
}

export interface DaemonEventMap {
  /** A new session exists (its state is saved). */
  sessionCreated: [{ sessionId: string }];
  /**
   * A session's state changed: by this daemon (`committed` holds what was written), or on disk by
   * someone else when `external` (listeners read the file).
   */
  sessionChanged: [{ sessionId: string; external: boolean; committed?: CommittedState }];
  /** A session folder disappeared. */
  sessionRemoved: [{ sessionId: string }];
  /** `current` now names another session. */
  currentSwitched: [{ sessionId: string | null; previous: string | null }];
}

export class DaemonEvents extends EventEmitter<DaemonEventMap> {}
