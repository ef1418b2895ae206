import { RequestType } from 'vscode-jsonrpc';
import type { OrchErrorData } from './errors.js';
import type { GateWaitParams } from './params.js';
import type { WorkflowStatusView } from './session.js';

/** Each request's params, declared once in params.ts (zod), re-exported here as types. */
export type { GateWaitParams };

/**
 * How a wait ended: `open` (approved, or the gate was open already), `timeout` (call again),
 * `abandoned` (the workflow was abandoned), `failed` (the item failed or the session is gone).
 */
export type GateWaitOutcome = 'open' | 'timeout' | 'abandoned' | 'failed';

export interface GateWaitResult {
  outcome: GateWaitOutcome;
  sessionId: string;
  /** The item waited for, or null for the phase gate. */
  itemId: string | null;
  /** Who opened it, when `open` through an approval: `{by, channel}`. */
  approvedBy: { by: string; channel: string } | null;
  /** The session's status when the wait ended (its `nextAction` is what to do next). */
  status: WorkflowStatusView;
}

/**
 * Waits until a manual gate item (or the current phase's human-approval gate) is open, driven by
 * the daemon's own change events. Answers at once when it is open already. Fails with
 * `ItemNotFound`, `InvalidArgument` (neither or both of itemId/phase), `SessionNotFound`.
 */
export const GateWaitRequest = new RequestType<GateWaitParams, GateWaitResult, OrchErrorData>('gate/wait');
