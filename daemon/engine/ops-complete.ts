/**
 * Completing and approving items. Completion is two-step so the daemon can run a verification
 * command without holding the session lock: `planComplete` checks the preconditions and says what
 * to run; the daemon runs it; `completeItem` re-checks against the state as it is then and applies
 * the outcome.
 */
import { OrchError } from '../errors.js';
import {
  assertOpen,
  beginChange,
  copyState,
  checkTextLength,
  locateItem,
  makeEvent,
  type LocatedItem,
  type OpResult,
} from './ops-common.js';
import { approverRecord, type Approver } from './human-gates.js';
import { expectChangesRefusal, type ExpectedChangeCheck } from './evidence.js';
import type { Evidence } from './fingerprint.js';
import { substitute, substituteForCommand } from './templates.js';
import { utcOffset, utcZ } from './time.js';
import type { ItemDef, LogEvent, WorkflowDef, WorkflowState } from './types.js';
import {
  commandVerificationResult,
  gateResult,
  parseCommand,
  type CommandRunResult,
  type FileExistsResult,
} from './verification.js';

/** The Python tool's limit for verification and gate commands. */
export const COMMAND_TIMEOUT_MS = 300_000;

export interface CompleteOptions {
  notes?: string;
  /** Skips file/command verification of non-gate items. Never bypasses gates or manual approval. */
  skipVerify?: boolean;
  /** For an item with `expect_changes`: what changed since its phase started (found by the daemon). */
  expectChanges?: ExpectedChangeCheck;
}

/** What the daemon must check before `completeItem`; paths and commands are already substituted. */
export type CompletePlan =
  | { kind: 'none' }
  | { kind: 'file_exists'; path: string }
  | { kind: 'command'; command: string; expectExitCode: number; isGate: boolean; timeoutMs: number }
  /** A command orch refuses to run (shell operators, unsafe setting): nothing runs, the check fails. */
  | { kind: 'refused'; command: string; reason: string; isGate: boolean };

/** The result of running a plan: `checkFileExists` or `runCommand` output. */
export type VerificationOutcome =
  | { kind: 'file_exists'; result: FileExistsResult; evidence?: Evidence }
  | { kind: 'command'; command: string; run: CommandRunResult; startedAt?: Date; evidence?: Evidence };

/** Preconditions shared by both steps; returns null when the item is already completed. */
function precheck(state: WorkflowState, def: WorkflowDef, itemId: string, opts: CompleteOptions): LocatedItem | null {
  checkTextLength('Note', opts.notes);
  assertOpen(state);
  const loc = locateItem(state, def, itemId);
  const status = loc.itemState.status;
  if (status === 'completed') return null;
  if (status === 'skipped') {
    throw new OrchError('InvalidTransition', `Item ${itemId} was skipped, so it cannot be completed; skipped items stay skipped.`, {
      itemId,
      status,
    });
  }
  // A person's approval is never implied by completing, whatever the step type or --skip-verify.
  if (loc.itemDef.verification.type === 'manual_gate') {
    throw new OrchError(
      'InvalidTransition',
      `Item '${itemId}' requires manual approval; a person approves it with \`orch approve-item ${itemId}\` (an agent waits for that with \`orch wait --item ${itemId}\`).`,
      { itemId },
    );
  }
  return loc;
}

function missingSetting(item: ItemDef, field: string): OrchError {
  return new OrchError('InvalidWorkflow', `Item ${item.id} has ${item.verification.type} verification without a ${field}; add one in the workflow file.`, {
    itemId: item.id,
  });
}

function planFor(item: ItemDef, settings: Record<string, unknown>, skipVerify: boolean): CompletePlan {
  const v = item.verification;
  const isGate = item.step_type === 'gate';
  if (v.type === 'none' || v.type === 'manual_gate' || (skipVerify && !isGate)) return { kind: 'none' };
  if (v.type === 'file_exists') {
    if (!v.path) throw missingSetting(item, 'path');
    return { kind: 'file_exists', path: substitute(v.path, settings) };
  }
  if (!v.command) throw missingSetting(item, 'command');
  let command: string;
  try {
    command = substituteForCommand(v.command, settings);
    parseCommand(command); // refuse shell syntax now, before anything runs
  } catch (err) {
    // A command that can never run is a failed check (recorded), not a refusal that leaves it pending.
    if (err instanceof OrchError && err.errorName === 'InvalidWorkflow') {
      return { kind: 'refused', command: v.command, reason: err.message.replace(/\.$/, ''), isGate };
    }
    throw err;
  }
  return { kind: 'command', command, expectExitCode: v.expect_exit_code, isGate, timeoutMs: COMMAND_TIMEOUT_MS };
}

/** Step one: the checks `completeItem` makes, and the verification to run (none when already completed). */
export function planComplete(state: WorkflowState, def: WorkflowDef, itemId: string, opts: CompleteOptions = {}): CompletePlan {
  const loc = precheck(state, def, itemId, opts);
  if (loc === null) return { kind: 'none' };
  return planFor(loc.itemDef, def.settings, opts.skipVerify === true);
}

function assertOutcomeMatches(itemId: string, plan: CompletePlan, outcome: VerificationOutcome | undefined): VerificationOutcome {
  if (outcome === undefined) {
    throw new OrchError('Internal', `Completing ${itemId} needs the outcome of its ${plan.kind} verification; run the plan from planComplete first.`, {
      itemId,
    });
  }
  const same = plan.kind === outcome.kind && (plan.kind !== 'command' || (outcome.kind === 'command' && outcome.command === plan.command));
  if (!same) {
    throw new OrchError('InvalidTransition', `The verification of ${itemId} changed while it ran; run \`orch complete ${itemId}\` again.`, { itemId });
  }
  return outcome;
}

/** Working context of one completion: the copy being changed and the events so far. */
interface Ctx {
  state: WorkflowState;
  loc: LocatedItem;
  events: LogEvent[];
  now: Date;
}

function itemEvent(ctx: Ctx, type: string, message: string, details: Record<string, unknown>): void {
  const { phaseDef, itemDef } = ctx.loc;
  ctx.events.push(makeEvent(ctx.state, ctx.now, type, message, { phaseId: phaseDef.id, itemId: itemDef.id, details }));
}

function cut(text: string, max = 300): string {
  const t = text.trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** Records a failed (non-gate) verification: the item becomes `failed` and counts a retry. */
function verificationFailed(ctx: Ctx, reason: string, result: Record<string, unknown>): OrchError {
  const { itemState, itemDef } = ctx.loc;
  itemState.status = 'failed';
  itemState.retry_count += 1;
  itemEvent(ctx, 'verification_failed', `Verification failed: ${reason}`, result);
  return new OrchError('VerificationFailed', `Verification failed: ${reason}; fix it, then run \`orch complete ${itemDef.id}\` again.`, {
    itemId: itemDef.id,
    retryCount: itemState.retry_count,
  });
}

/** The stored result with the fingerprint of the tree the check ran on, when there is one. */
function withEvidence(result: Record<string, unknown>, evidence: Evidence | undefined): Record<string, unknown> {
  return evidence === undefined ? result : { ...result, evidence: { ...evidence } };
}

function applyFileCheck(ctx: Ctx, plan: { path: string }, result: FileExistsResult, evidence?: Evidence): OrchError | undefined {
  const stored = withEvidence({ ...result }, evidence);
  ctx.loc.itemState.verification_result = stored;
  if (!result.exists) return verificationFailed(ctx, `File not found: ${plan.path}`, stored);
  itemEvent(ctx, 'verification_passed', 'Verification passed', stored);
  return undefined;
}

function applyCommandCheck(
  ctx: Ctx,
  plan: Extract<CompletePlan, { kind: 'command' }>,
  o: { run: CommandRunResult; startedAt?: Date; evidence?: Evidence },
): OrchError | undefined {
  const plain = commandVerificationResult({
    command: plan.command,
    originalCommand: ctx.loc.itemDef.verification.command ?? plan.command,
    run: o.run,
    timestamp: utcOffset(o.startedAt ?? ctx.now),
  });
  const result = withEvidence(plain, o.evidence);
  ctx.loc.itemState.verification_result = result;
  if (o.run.exitCode === plan.expectExitCode) {
    itemEvent(ctx, 'verification_passed', 'Verification passed', result);
    return undefined;
  }
  const reason = o.run.error ?? `Command failed (exit code ${o.run.exitCode}, expected ${plan.expectExitCode})`;
  return verificationFailed(ctx, reason, result);
}

/** A gate runs whatever --skip-verify says; a failure counts a retry but leaves the status alone (as in the Python tool). */
function applyGate(ctx: Ctx, plan: Extract<CompletePlan, { kind: 'command' }>, run: CommandRunResult, evidence?: Evidence): OrchError | undefined {
  const { itemState, itemDef } = ctx.loc;
  itemEvent(ctx, 'gate_executed', `Executing gate: ${plan.command}`, { command: plan.command });
  const success = run.exitCode === plan.expectExitCode;
  const stored = withEvidence(gateResult({ command: plan.command, run, success }), evidence);
  itemState.gate_result = stored;
  if (success) {
    itemEvent(ctx, 'gate_passed', `Gate passed: ${itemDef.id}`, stored);
    return undefined;
  }
  itemState.retry_count += 1;
  itemEvent(ctx, 'gate_failed', `Gate failed: ${itemDef.id}`, stored);
  const expected = plan.expectExitCode === 0 ? '' : `, expected ${plan.expectExitCode}`;
  const detail = cut(run.error || run.stderr || run.stdout || 'the command printed nothing');
  return new OrchError(
    'VerificationFailed',
    `Gate failed (exit code ${String(stored['exit_code'])}${expected}): ${detail}; fix it, then run \`orch complete ${itemDef.id}\` again.`,
    { itemId: itemDef.id, exitCode: run.exitCode, retryCount: itemState.retry_count },
  );
}

/** A command orch will not run: a gate counts a failed run, any other item becomes `failed`. */
function applyRefused(ctx: Ctx, plan: Extract<CompletePlan, { kind: 'refused' }>): OrchError {
  const { itemState, itemDef } = ctx.loc;
  const result = { type: 'command', timestamp: utcOffset(ctx.now), command: plan.command, refused: true, error: plan.reason };
  if (!plan.isGate) {
    itemState.verification_result = result;
    return verificationFailed(ctx, plan.reason, result);
  }
  itemState.retry_count += 1;
  itemState.gate_result = { ...result, success: false };
  itemEvent(ctx, 'gate_failed', `Gate failed: ${itemDef.id}`, result);
  return new OrchError('VerificationFailed', `Gate failed: ${plan.reason}; fix the workflow file, then run \`orch complete ${itemDef.id}\` again.`, {
    itemId: itemDef.id,
    retryCount: itemState.retry_count,
  });
}

function applyOutcome(ctx: Ctx, plan: CompletePlan, outcome: VerificationOutcome): OrchError | undefined {
  if (plan.kind === 'file_exists' && outcome.kind === 'file_exists') return applyFileCheck(ctx, plan, outcome.result, outcome.evidence);
  if (plan.kind === 'command' && outcome.kind === 'command') {
    return plan.isGate ? applyGate(ctx, plan, outcome.run, outcome.evidence) : applyCommandCheck(ctx, plan, outcome);
  }
  return undefined;
}

/**
 * Step two: completes the item, applying the verification outcome for the plan that
 * `planComplete` returned. Re-checks every precondition against `state`. A failed verification
 * comes back as an `OpResult` with `error` set (the failure is recorded), not as a throw.
 */
export function completeItem(
  state: WorkflowState,
  def: WorkflowDef,
  itemId: string,
  opts: CompleteOptions,
  outcome: VerificationOutcome | undefined,
  now: Date,
): OpResult {
  const pre = precheck(state, def, itemId, opts);
  if (pre === null) return { state: copyState(state), events: [], message: 'Item already completed' };
  const noChanges = expectChangesRefusal(pre.itemDef, opts.expectChanges);
  if (noChanges !== null) throw noChanges;
  const plan = planFor(pre.itemDef, def.settings, opts.skipVerify === true);
  const checked = plan.kind === 'none' || plan.kind === 'refused' ? undefined : assertOutcomeMatches(itemId, plan, outcome);
  const next = beginChange(state, now);
  const ctx: Ctx = { state: next, loc: locateItem(next, def, itemId), events: [], now };
  const error = plan.kind === 'refused' ? applyRefused(ctx, plan) : checked === undefined ? undefined : applyOutcome(ctx, plan, checked);
  if (error !== undefined) return { state: next, events: ctx.events, message: error.message, error };
  const { itemState, itemDef } = ctx.loc;
  itemState.status = 'completed';
  itemState.completed_at = utcZ(now);
  if (opts.notes) itemState.notes = opts.notes;
  itemEvent(ctx, 'item_completed', `Completed item: ${itemId}`, {
    notes: opts.notes ?? null,
    step_type: itemDef.step_type,
    has_evidence: false,
  });
  return { state: next, events: ctx.events, message: `Item '${itemId}' completed` };
}

/**
 * A person approves a `manual_gate` item (any step type); the only way such an item completes.
 * `approver` (who, through which client) is kept in `verification_result.approved_by` and in the
 * event's details.
 */
export function approveItem(state: WorkflowState, def: WorkflowDef, itemId: string, opts: { notes?: string; approver?: Approver }, now: Date): OpResult {
  checkTextLength('Note', opts.notes);
  assertOpen(state);
  const found = locateItem(state, def, itemId);
  if (found.itemDef.verification.type !== 'manual_gate') {
    throw new OrchError('InvalidTransition', `Item '${itemId}' is not a manual gate item; complete it with \`orch complete ${itemId}\`.`, { itemId });
  }
  if (found.itemState.status === 'completed') return { state: copyState(state), events: [], message: 'Item already approved' };
  if (found.itemState.status === 'skipped') {
    throw new OrchError('InvalidTransition', `Item ${itemId} was skipped, so it cannot be approved; skipped items stay skipped.`, { itemId });
  }
  const next = beginChange(state, now);
  const { itemState, phaseDef } = locateItem(next, def, itemId);
  itemState.status = 'completed';
  itemState.completed_at = utcZ(now);
  const by = opts.approver === undefined ? {} : { approved_by: approverRecord(opts.approver) };
  itemState.verification_result = { approved: true, approved_at: utcOffset(now), type: 'manual_gate', ...by };
  if (opts.notes) itemState.notes = opts.notes;
  const event = makeEvent(next, now, 'item_completed', `Approved manual gate: ${itemId}`, {
    phaseId: phaseDef.id,
    itemId,
    details: { notes: opts.notes ?? null, approved: true, ...by },
    actor: 'human',
  });
  return { state: next, events: [event], message: `Item '${itemId}' approved` };
}

/** The check `orch verify` re-runs for a completed item: its plan as `complete` would make it, never skipped. */
export function checkPlanFor(item: ItemDef, settings: Record<string, unknown>): CompletePlan {
  return planFor(item, settings, false);
}

/**
 * Applies a re-run check to a completed item of `next` (a copy being changed): a pass refreshes
 * its stored result and evidence and leaves it completed; a failure marks it `failed` (a gate too)
 * and counts a retry. Returns the events and, on failure, the error describing it.
 */
export function recheckItem(
  next: WorkflowState,
  def: WorkflowDef,
  itemId: string,
  plan: CompletePlan,
  outcome: VerificationOutcome | undefined,
  now: Date,
): { events: LogEvent[]; error?: OrchError } {
  const ctx: Ctx = { state: next, loc: locateItem(next, def, itemId), events: [], now };
  if (plan.kind === 'none') return { events: [] };
  const error =
    plan.kind === 'refused' ? applyRefused(ctx, plan) : applyOutcome(ctx, plan, assertOutcomeMatches(itemId, plan, outcome));
  if (error !== undefined) ctx.loc.itemState.status = 'failed';
  return error === undefined ? { events: ctx.events } : { events: ctx.events, error };
}
