/**
 * Phase and workflow transitions: blockers, advance, phase approval, finish and abandon.
 * Only the current phase gates `advance` and `finish` (reference §3); skipped required items do
 * not block, optional items never do.
 */
import { OrchError } from '../errors.js';
import { approverRecord, type Approver } from './human-gates.js';
import { checkFreshEvidence, phaseStartKey, type CurrentTree } from './evidence.js';
import { assertOpen, beginChange, checkTextLength, currentPhase, isRequired, makeEvent, type OpResult } from './ops-common.js';
import { utcOffset, utcZ } from './time.js';
import type { LogEvent, WorkflowDef, WorkflowState } from './types.js';

export interface AdvanceCheck {
  ok: boolean;
  /** `<id> (<status>)` for each unfinished required item, then `Awaiting human approval`. */
  blockers: string[];
  /** `<id>: <reason>` for each skipped item. */
  skipped: string[];
}

export const AWAITING_APPROVAL = 'Awaiting human approval';

/** Whether the current phase may be left, and what stands in the way. */
export function canAdvance(state: WorkflowState, def: WorkflowDef): AdvanceCheck {
  const phaseDef = def.phases.find((p) => p.id === state.current_phase_id);
  const phaseState = state.phases[state.current_phase_id];
  if (phaseDef === undefined || phaseState === undefined) return { ok: false, blockers: ['Invalid phase'], skipped: [] };
  const blockers: string[] = [];
  const skipped: string[] = [];
  for (const item of phaseDef.items) {
    const st = phaseState.items[item.id];
    if (st === undefined) continue;
    if (st.status === 'skipped') skipped.push(`${item.id}: ${st.skip_reason ?? 'No reason provided'}`);
    else if (isRequired(item) && st.status !== 'completed') blockers.push(`${item.id} (${st.status})`);
  }
  if (phaseDef.exit_gate === 'human_approval' && !state.metadata[`phase_${phaseDef.id}_approved`]) {
    blockers.push(AWAITING_APPROVAL);
  }
  return { ok: blockers.length === 0, blockers, skipped };
}

/** The refusal for `advance`/`finish` with blockers: lists them and names the commands that clear them. */
function blockedError(verb: 'advance' | 'finish', phaseId: string, blockers: string[]): OrchError {
  const items = blockers.filter((b) => b !== AWAITING_APPROVAL);
  const fixes: string[] = [];
  if (items.length > 0) fixes.push('complete or skip the items with `orch complete <id>` / `orch skip <id> --reason "..."`');
  if (items.length < blockers.length) fixes.push('have a person approve the phase with `orch approve`');
  return new OrchError(
    'InvalidTransition',
    `Cannot ${verb}. Blockers: ${blockers.join(', ')}; ${fixes.join(' and ')}, or use --force.`,
    { phase: phaseId, blockers },
  );
}

/** Marks the current phase completed in `next` and returns the `phase_completed` event. */
function closePhase(next: WorkflowState, check: AdvanceCheck, forced: boolean, now: Date): LogEvent {
  const phase = next.phases[next.current_phase_id];
  if (phase !== undefined) {
    phase.status = 'completed';
    phase.completed_at = utcZ(now);
  }
  return makeEvent(next, now, 'phase_completed', `Completed phase: ${next.current_phase_id}`, {
    phaseId: next.current_phase_id,
    details: { skipped_items: check.skipped, forced },
  });
}

/**
 * Completes the current phase and starts the next. On the last phase the phase is marked
 * completed and saved (the Python tool logged it but left it `active`), and `orch finish` is next.
 */
export function advancePhase(
  state: WorkflowState,
  def: WorkflowDef,
  opts: { force?: boolean; reason?: string; tree?: CurrentTree },
  now: Date,
): OpResult {
  assertOpen(state);
  const { phaseDef, phaseState } = currentPhase(state, def);
  if (phaseState.status === 'completed') {
    throw new OrchError('InvalidTransition', 'All phases are completed; run `orch finish` to complete the workflow.', { phase: phaseDef.id });
  }
  const check = canAdvance(state, def);
  if (!check.ok && !opts.force) throw blockedError('advance', phaseDef.id, check.blockers);
  checkTextLength('Reason', opts.reason);
  const override = checkFreshEvidence(state, def, 'advance', opts, now);
  const next = beginChange(state, now);
  const events = [...(override ? [override] : []), closePhase(next, check, opts.force === true, now)];
  const nextDef = def.phases[def.phases.indexOf(phaseDef) + 1];
  if (nextDef === undefined) {
    return { state: next, events, message: 'All phases completed. Run `orch finish` to complete the workflow.' };
  }
  const nextState = next.phases[nextDef.id];
  if (nextState === undefined) {
    throw new OrchError('StateCorrupt', `Phase ${nextDef.id} is missing from the session state; start a new session.`, { phase: nextDef.id });
  }
  next.current_phase_id = nextDef.id;
  // The tree the phase starts on: what its `expect_changes` items are compared with (kept only for
  // phases that have such items, so states that do not use them stay as the Python tool writes them).
  if (opts.tree !== undefined && nextDef.items.some((i) => (i.expect_changes ?? []).length > 0)) {
    next.metadata[phaseStartKey(nextDef.id)] = { ...opts.tree.evidence };
  }
  nextState.status = 'active';
  nextState.started_at = utcZ(now);
  events.push(makeEvent(next, now, 'phase_started', `Started phase: ${nextDef.name}`, { phaseId: nextDef.id }));
  return { state: next, events, message: `Advanced to phase: ${nextDef.name}` };
}

/**
 * A person approves a phase's `exit_gate: human_approval` (default: the current phase); `approver`
 * is kept in `metadata.phase_<ID>_approved_by` and in the event's details.
 */
export function approvePhase(state: WorkflowState, def: WorkflowDef, phaseId: string | undefined, now: Date, approver?: Approver): OpResult {
  assertOpen(state);
  const id = phaseId ?? state.current_phase_id;
  if (!def.phases.some((p) => p.id === id)) {
    throw new OrchError('InvalidTransition', `Phase ${id} does not exist; the phases are ${def.phases.map((p) => p.id).join(', ')}.`, { phase: id });
  }
  const next = beginChange(state, now);
  next.metadata[`phase_${id}_approved`] = true;
  next.metadata[`phase_${id}_approved_at`] = utcOffset(now);
  const details = approver === undefined ? {} : { approved_by: approverRecord(approver) };
  if (approver !== undefined) next.metadata[`phase_${id}_approved_by`] = approverRecord(approver);
  const event = makeEvent(next, now, 'human_override', `Human approved phase: ${id}`, { phaseId: id, details, actor: 'human' });
  return { state: next, events: [event], message: `Phase ${id} approved` };
}

export interface FinishOptions {
  notes?: string;
  /** Finish even when the current phase has blockers (and, with a reason, over stale evidence). */
  force?: boolean;
  /** Why stale evidence is overridden (with force). */
  reason?: string;
  /** The working tree now, to check the phase's evidence against. */
  tree?: CurrentTree;
}

/**
 * Completes the workflow. Like the Python tool it checks only the current phase's blockers (unless
 * forced) and works from any phase; unlike it, an active current phase is closed too, so a
 * completed workflow never shows an active phase.
 */
export function finishWorkflow(state: WorkflowState, def: WorkflowDef, opts: FinishOptions, now: Date): OpResult {
  checkTextLength('Note', opts.notes);
  assertOpen(state);
  const { phaseDef, phaseState } = currentPhase(state, def);
  const check = canAdvance(state, def);
  if (!check.ok && !opts.force) throw blockedError('finish', phaseDef.id, check.blockers);
  checkTextLength('Reason', opts.reason);
  // A phase closed by `advance` had its evidence checked then.
  const override = phaseState.status === 'active' ? checkFreshEvidence(state, def, 'finish', opts, now) : null;
  const next = beginChange(state, now);
  const events: LogEvent[] = override ? [override] : [];
  if (phaseState.status === 'active') events.push(closePhase(next, check, opts.force === true, now));
  next.status = 'completed';
  next.completed_at = utcZ(now);
  if (opts.notes) next.metadata['completion_notes'] = opts.notes;
  events.push(makeEvent(next, now, 'workflow_completed', 'Workflow completed', { details: { notes: opts.notes ?? null } }));
  return { state: next, events, message: `Workflow ${state.workflow_id} completed` };
}

/** Abandons the workflow; a reason is required and kept in `metadata.abandon_reason`. */
export function abandonWorkflow(state: WorkflowState, _def: WorkflowDef, opts: { reason: string }, now: Date): OpResult {
  if (typeof opts.reason !== 'string' || opts.reason.trim() === '') {
    throw new OrchError('InvalidArgument', 'A reason is required when abandoning; pass --reason "<why>".');
  }
  checkTextLength('Reason', opts.reason);
  assertOpen(state);
  const next = beginChange(state, now);
  next.status = 'abandoned';
  next.metadata['abandon_reason'] = opts.reason;
  const event = makeEvent(next, now, 'workflow_abandoned', `Workflow abandoned: ${opts.reason}`);
  return { state: next, events: [event], message: `Workflow ${state.workflow_id} abandoned` };
}
