import { RequestType } from 'vscode-jsonrpc';
import type { OrchErrorData } from './errors.js';
import type { HookStopParams } from './params.js';
import type { SessionStatusResult } from './session.js';

/** Each request's params, declared once in params.ts (zod), re-exported here as types. */
export type { HookStopParams };

/**
 * Why a stop is blocked or allowed:
 * - `open`: the agent has work in the current phase (required items open, or the phase is ready to
 *   advance or finish): block.
 * - `person`: the only open required items are manual gates, or the phase gate needs a person: allow.
 * - `unchanged`: the agent already continued after a block (`stopHookActive`) and the session has
 *   not changed since that block: allow, so the agent is never held in a loop.
 * - `finished`: the workflow is completed or abandoned: allow.
 * - `none`: no workflow, a paused one, or one that cannot continue: allow.
 */
export type HookStopReason = 'open' | 'person' | 'unchanged' | 'finished' | 'none';

export interface HookStopResult {
  decision: 'block' | 'allow';
  reason: HookStopReason;
  /** The gates a person must open (`reason: person`): manual-gate item ids, and `phase:<id>` for a phase's human-approval gate. */
  gates: string[];
  /** The session's status (its `nextAction` is the agent's next command). */
  status: SessionStatusResult;
}

/**
 * The decision for an agent's stop hook. The daemon remembers, in memory, the state each agent
 * session was last blocked on, so a repeated stop with nothing changed is allowed (a restarted
 * daemon, or a command without a daemon, remembers nothing: it blocks once more at most).
 * Fails with `SessionNotFound`, `InvalidSessionId`, `StateCorrupt`.
 */
export const HookStopRequest = new RequestType<HookStopParams, HookStopResult, OrchErrorData>('hook/stop');
