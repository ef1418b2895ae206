/**
 * Skipping items, with the Python tool's checks in its order (reference §3): gates only with
 * --force and a 50-character reason, `required` steps never, `skippable: false` respected,
 * `documented` steps need substantive reasoning, everything else 10 characters.
 */
import { OrchError } from '../errors.js';
import { assertOpen, beginChange, copyState, checkTextLength, locateItem, makeEvent, type LocatedItem, type OpResult } from './ops-common.js';
import { utcZ } from './time.js';
import type { WorkflowDef, WorkflowState } from './types.js';

export interface SkipOptions {
  reason: string;
  /** Allows skipping a gate step (needs a reason of at least 50 characters). */
  force?: boolean;
  /** Factors considered before skipping; stored as `skip_context_considered`. */
  contextConsidered?: string[];
}

export const MIN_SKIP_REASON_CHARS = 10;
export const MIN_DOCUMENTED_REASON_CHARS = 50;
export const MIN_FORCE_GATE_REASON_CHARS = 50;

/**
 * Whole-string answers that explain nothing. Every entry is far shorter than 50 characters, so
 * checking them first only sharpens the message a documented skip gets.
 */
const SHALLOW_REASONS = new Set([
  'n/a', 'na', 'none', 'not needed', 'not applicable', 'skip', 'skipped', 'done', 'ok', 'okay', 'no',
  'nothing', 'tbd', 'later', 'obvious', 'already done', 'no need', 'unnecessary', 'not required', 'fine',
]);

/** Why a `documented` step's skip reason is not good enough, or undefined when it is. */
export function documentedReasonProblem(reason: string): string | undefined {
  const r = reason.trim();
  if (r === '') return 'Skip reasoning is required';
  if (SHALLOW_REASONS.has(r.toLowerCase())) {
    return `Skip reasoning too shallow: '${r}'. Provide substantive explanation of why this step doesn't apply`;
  }
  if (r.length < MIN_DOCUMENTED_REASON_CHARS) {
    return `Skip reasoning too short (${r.length} chars). Must be at least ${MIN_DOCUMENTED_REASON_CHARS} characters`;
  }
  return undefined;
}

function refuse(message: string, itemId: string): OrchError {
  return new OrchError('InvalidTransition', message, { itemId });
}

/** The step-type and status checks, in the Python tool's order. */
function assertSkippable(loc: LocatedItem, opts: SkipOptions): void {
  const { itemDef: item, itemState } = loc;
  const id = item.id;
  const isGate = item.step_type === 'gate';
  if (isGate && !opts.force) {
    throw refuse(`Item ${id} is a gate step and cannot be skipped. Use --force to override (with a reason of at least ${MIN_FORCE_GATE_REASON_CHARS} characters).`, id);
  }
  const length = opts.reason.trim().length;
  if (isGate && length < MIN_FORCE_GATE_REASON_CHARS) {
    throw new OrchError(
      'InvalidTransition',
      `Force-skipping a gate requires a detailed reason (at least ${MIN_FORCE_GATE_REASON_CHARS} characters). Got ${length}.`,
      { itemId: id, length },
    );
  }
  if (item.step_type === 'required') {
    throw refuse(`Item ${id} is a required step and cannot be skipped; complete it with \`orch complete ${id}\`.`, id);
  }
  if (!item.skippable && !isGate) {
    throw refuse(`Item ${id} is not skippable; complete it with \`orch complete ${id}\`.`, id);
  }
  if (itemState.status === 'completed' || itemState.status === 'skipped') {
    throw refuse(`Item ${id} is already ${itemState.status}; nothing to skip.`, id);
  }
}

/** A rejected documented-skip reason is logged (`skip_rejected`) and then refused. */
function rejected(state: WorkflowState, loc: LocatedItem, reason: string, problem: string, now: Date): OpResult {
  const event = makeEvent(state, now, 'skip_rejected', `Skip reasoning rejected: ${problem}`, {
    phaseId: loc.phaseDef.id,
    itemId: loc.itemDef.id,
    details: { reason, error: problem },
  });
  const error = new OrchError('InvalidTransition', `Skip reasoning rejected: ${problem}.`, { itemId: loc.itemDef.id });
  return { state: copyState(state), events: [event], message: error.message, error };
}

/** Skips an item of the current phase with a reason. */
export function skipItem(state: WorkflowState, def: WorkflowDef, itemId: string, opts: SkipOptions, now: Date): OpResult {
  checkTextLength('Reason', opts.reason);
  assertOpen(state);
  assertSkippable(locateItem(state, def, itemId), opts);
  const next = beginChange(state, now);
  const loc = locateItem(next, def, itemId);
  const { itemDef, itemState, phaseDef } = loc;
  const documented = itemDef.step_type === 'documented';
  if (documented) {
    const problem = documentedReasonProblem(opts.reason);
    if (problem !== undefined) return rejected(state, loc, opts.reason, problem, now);
  } else if (opts.reason.trim().length < MIN_SKIP_REASON_CHARS) {
    throw new OrchError('InvalidTransition', `Skip reason must be at least ${MIN_SKIP_REASON_CHARS} characters; say why the item does not apply.`, {
      itemId,
      length: opts.reason.trim().length,
    });
  }
  const at = { phaseId: phaseDef.id, itemId };
  const events = documented
    ? [makeEvent(next, now, 'skip_validated', 'Skip reasoning validated', { ...at, details: { reason_length: opts.reason.length } })]
    : [];
  const forced = opts.force === true && itemDef.step_type === 'gate';
  const context = opts.contextConsidered !== undefined && opts.contextConsidered.length > 0 ? opts.contextConsidered : null;
  itemState.status = 'skipped';
  itemState.skipped_at = utcZ(now);
  itemState.skip_reason = opts.reason;
  if (context !== null) itemState.skip_context_considered = [...context];
  events.push(
    makeEvent(next, now, 'item_skipped', `${forced ? 'Force-skipped' : 'Skipped'} item: ${itemId}`, {
      ...at,
      details: { reason: opts.reason, step_type: itemDef.step_type, context_considered: context, force_skipped: forced },
    }),
  );
  const message = forced ? `Item ${itemId} force-skipped (gate verification bypassed)` : `Item ${itemId} skipped`;
  return { state: next, events, message };
}
