/** The changes of each session still waiting for its mutex (group commit, services/commit.ts). */
import type { OperationResult } from '../../protocol/workflow.js';
import type { OpResult } from '../engine/ops-common.js';
import type { LoadedState } from '../store/state-file.js';

/** A pure change of a session's state. */
export type Op = (loaded: LoadedState) => OpResult | Promise<OpResult>;

export interface Queued {
  op: Op;
  resolve: (r: OperationResult) => void;
  reject: (err: unknown) => void;
}

/** Per session, the changes still waiting for the session's mutex; one per daemon context. */
export class CommitQueues {
  readonly waiting = new Map<string, Queued[]>();
}
