/**
 * The workflow changes behind item/*, phase/* and workflow/finish. Completion runs its
 * verification in three steps so a slow command never holds the session's mutex: plan under the
 * lock, run with no lock held, then apply under the lock, re-checking against the state as it
 * is by then.
 */
import type {
  ItemApproveParams,
  ItemCompleteParams,
  ItemSkipParams,
  OperationResult,
  PhaseAdvanceParams,
  PhaseApproveParams,
  WorkflowFinishParams,
} from '../../protocol/workflow.js';
import { userInfo } from 'node:os';
import type { DaemonContext } from '../context.js';
import { assertMayApproveItem, assertMayApprovePhase, assertMayForcePast, assertMaySkip, type Caller } from '../engine/human-gates.js';
import { approveItem, completeItem, planComplete, type CompletePlan, type VerificationOutcome } from '../engine/ops-complete.js';
import { abandonWorkflow, advancePhase, approvePhase, finishWorkflow } from '../engine/ops-phase.js';
import { skipItem } from '../engine/ops-skip.js';
import type { WorkflowDef } from '../engine/types.js';
import { checkFileExists, runCommand } from '../engine/verification.js';
import { expectChangesRefusal } from '../engine/evidence.js';
import { OrchError } from '../errors.js';
import type { CallContext } from '../runtime/router.js';
import { mutateSession, requireSession, withSessionState } from './commit.js';
import { currentTreeFor, expectedChangeBase, expectedChangeCheck, recordedTrees, takeFingerprint, unboundWarning } from './evidence.js';
import { AGENT_CLIENT_KINDS } from '../../protocol/roster.js';

/**
 * The daemon's own user: only the owner may connect, so it is the caller's account too. Read once
 * (getpwuid reads the user database), not on every skip, advance and approval.
 */
const ACCOUNT_NAME: string = (() => {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
})();

/**
 * Who asks, from the connection's hello: the name (`by` as the client sent it, else the account),
 * the channel (the client's kind, `library` when it did not say), its pid, and whether an agent
 * drives it.
 */
export function callerOf(call: CallContext, by?: string): Caller {
  const info = call.client.info;
  let name = ACCOUNT_NAME;
  if (by !== undefined) {
    const trimmed = by.trim();
    // Shown in status lines and logs: one printable line.
    if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(trimmed)) {
      throw new OrchError('InvalidArgument', 'The approver name (--by) must be one line of printable text.', {});
    }
    if (trimmed !== '') name = trimmed;
  }
  return {
    approver: { by: name, channel: info?.kind ?? 'library', pid: info?.pid ?? null },
    agent: info !== null && (info.agent === true || AGENT_CLIENT_KINDS.has(info.kind)),
  };
}

/** The definition of `itemId` in the current phase, if it is there. */
function currentItemDef(l: { state: { current_phase_id: string }; def: WorkflowDef }, itemId: string) {
  return l.def.phases.find((p) => p.id === l.state.current_phase_id)?.items.find((i) => i.id === itemId);
}

/** A workflow's `settings.command_timeout_seconds`, else the daemon's configured default. */
export function commandTimeoutMs(ctx: DaemonContext, def: WorkflowDef): number {
  const s = def.settings.command_timeout_seconds;
  return typeof s === 'number' && s > 0 ? s * 1000 : ctx.config.commandTimeoutMs;
}

export async function runPlan(ctx: DaemonContext, plan: CompletePlan, timeoutMs: number): Promise<VerificationOutcome | undefined> {
  if (plan.kind === 'file_exists') return { kind: 'file_exists', result: await checkFileExists(ctx.paths.root, plan.path) };
  if (plan.kind === 'command') {
    const startedAt = new Date();
    ctx.log.info({ command: plan.command, timeoutMs }, 'running verification command');
    const run = await runCommand(plan.command, { cwd: ctx.paths.root, timeoutMs });
    return { kind: 'command', command: plan.command, run, startedAt };
  }
  return undefined;
}

export async function completeOp(ctx: DaemonContext, p: ItemCompleteParams): Promise<OperationResult> {
  const id = await requireSession(ctx, p.sessionId);
  const opts = { notes: p.notes, skipVerify: p.skipVerify };
  const { plan, timeoutMs, def, expect, itemDef } = await withSessionState(ctx, id, (l) => ({
    plan: planComplete(l.state, l.def, p.itemId, opts),
    timeoutMs: commandTimeoutMs(ctx, l.def),
    def: l.def,
    expect: l.state.phases[l.state.current_phase_id]?.items[p.itemId]?.status === 'completed' ? null : expectedChangeBase(l.state, l.def, p.itemId),
    itemDef: l.def.phases.find((ph) => ph.id === l.state.current_phase_id)?.items.find((i) => i.id === p.itemId),
  }));
  // The tree the check runs on, taken before it runs (with no lock held), and what changed since the phase started.
  const checked = plan.kind === 'file_exists' || plan.kind === 'command';
  const fp =
    checked || expect !== null ? await takeFingerprint(ctx, def, expect?.base ? [{ base: expect.base, globs: expect.globs }] : []) : null;
  const expectChanges = expect !== null && fp !== null ? expectedChangeCheck(expect, fp, 0) : undefined;
  const refusal = itemDef ? expectChangesRefusal(itemDef, expectChanges) : null;
  if (refusal !== null) throw refusal;
  const ran = await runPlan(ctx, plan, timeoutMs);
  const outcome = ran && fp && checked ? { ...ran, evidence: fp.evidence } : ran;
  const result = await mutateSession(ctx, id, (l) => completeItem(l.state, l.def, p.itemId, { ...opts, expectChanges }, outcome, new Date()));
  const warnings: string[] = [];
  const unbound = fp && checked ? unboundWarning(fp) : null;
  if (unbound !== null) warnings.push(unbound);
  if (expectChanges?.change === null) warnings.push(`expect_changes of ${p.itemId} was not checked: ${expectChanges.unknownReason ?? 'unknown'}.`);
  return warnings.length > 0 ? { ...result, warnings: [...result.warnings, ...warnings] } : result;
}

/** The working tree now, when the current phase has passed checks bound to a tree (or the next phase needs its start recorded). */
async function treeForTransition(ctx: DaemonContext, id: string, verb: 'advance' | 'finish') {
  const { trees, def, nextNeedsStart } = await withSessionState(ctx, id, (l) => {
    const idx = l.def.phases.findIndex((ph) => ph.id === l.state.current_phase_id);
    const nextDef = verb === 'advance' ? l.def.phases[idx + 1] : undefined;
    return {
      trees: recordedTrees(l.state, l.def),
      def: l.def,
      nextNeedsStart: nextDef?.items.some((i) => (i.expect_changes ?? []).length > 0) === true,
    };
  });
  if (trees.length === 0 && !nextNeedsStart) return { tree: undefined, warnings: [] as string[] };
  const { tree, fp } = await currentTreeFor(ctx, def, trees);
  const unbound = trees.length > 0 ? unboundWarning(fp) : null;
  return { tree, warnings: unbound ? [unbound.replace('after this check', 'since the checks of this phase ran')] : [] };
}

export async function skipOp(ctx: DaemonContext, p: ItemSkipParams, call: CallContext): Promise<OperationResult> {
  const id = await requireSession(ctx, p.sessionId);
  const caller = callerOf(call);
  return mutateSession(ctx, id, (l) => {
    assertMaySkip(caller, l.def, currentItemDef(l, p.itemId));
    return skipItem(l.state, l.def, p.itemId, { reason: p.reason, force: p.force }, new Date());
  });
}

export async function approveItemOp(ctx: DaemonContext, p: ItemApproveParams, call: CallContext): Promise<OperationResult> {
  const id = await requireSession(ctx, p.sessionId);
  const caller = callerOf(call, p.by);
  return mutateSession(ctx, id, (l) => {
    assertMayApproveItem(caller, l.def, p.itemId);
    return approveItem(l.state, l.def, p.itemId, { notes: p.notes, approver: caller.approver }, new Date());
  });
}

export async function approvePhaseOp(ctx: DaemonContext, p: PhaseApproveParams, call: CallContext): Promise<OperationResult> {
  const id = await requireSession(ctx, p.sessionId);
  const caller = callerOf(call, p.by);
  return mutateSession(ctx, id, (l) => {
    assertMayApprovePhase(caller, l.def, p.phaseId ?? l.state.current_phase_id);
    return approvePhase(l.state, l.def, p.phaseId, new Date(), caller.approver);
  });
}

export async function advanceOp(ctx: DaemonContext, p: PhaseAdvanceParams, call: CallContext): Promise<OperationResult> {
  const id = await requireSession(ctx, p.sessionId);
  const caller = callerOf(call);
  const { tree, warnings } = await treeForTransition(ctx, id, 'advance');
  const result = await mutateSession(ctx, id, (l) => {
    if (p.force) assertMayForcePast(caller, l.state, l.def, 'advance');
    return advancePhase(l.state, l.def, { force: p.force, reason: p.reason, tree }, new Date());
  });
  return warnings.length > 0 ? { ...result, warnings: [...result.warnings, ...warnings] } : result;
}

export async function finishOp(ctx: DaemonContext, p: WorkflowFinishParams, call: CallContext): Promise<OperationResult> {
  const id = await requireSession(ctx, p.sessionId);
  if (p.abandon) {
    if (!p.reason || p.reason.trim() === '') {
      throw new OrchError('InvalidArgument', 'Abandoning needs a reason: orch finish --abandon --reason "<why>".');
    }
    const reason = p.reason;
    return mutateSession(ctx, id, (l) => abandonWorkflow(l.state, l.def, { reason }, new Date()));
  }
  const caller = callerOf(call);
  const { tree, warnings } = await treeForTransition(ctx, id, 'finish');
  const result = await mutateSession(ctx, id, (l) => {
    if (p.force) assertMayForcePast(caller, l.state, l.def, 'finish');
    return finishWorkflow(l.state, l.def, { notes: p.notes, force: p.force, reason: p.reason, tree }, new Date());
  });
  return warnings.length > 0 ? { ...result, warnings: [...result.warnings, ...warnings] } : result;
}
