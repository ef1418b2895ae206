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
import { OrchError } from '../errors.js';
import type { CallContext } from '../runtime/router.js';
import { mutateSession, requireSession, withSessionState } from './commit.js';
import { AGENT_CLIENT_KINDS } from '../../protocol/roster.js';

/** The daemon's own user: only the owner may connect, so it is the caller's account too. */
function accountName(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Who asks, from the connection's hello: the name (`by` as the client sent it, else the account),
 * the channel (the client's kind, `library` when it did not say), its pid, and whether an agent
 * drives it.
 */
export function callerOf(call: CallContext, by?: string): Caller {
  const info = call.client.info;
  let name = accountName();
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
function commandTimeoutMs(ctx: DaemonContext, def: WorkflowDef): number {
  const s = def.settings.command_timeout_seconds;
  return typeof s === 'number' && s > 0 ? s * 1000 : ctx.config.commandTimeoutMs;
}

async function runPlan(ctx: DaemonContext, plan: CompletePlan, timeoutMs: number): Promise<VerificationOutcome | undefined> {
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
  const { plan, timeoutMs } = await withSessionState(ctx, id, (l) => ({
    plan: planComplete(l.state, l.def, p.itemId, opts),
    timeoutMs: commandTimeoutMs(ctx, l.def),
  }));
  const outcome = await runPlan(ctx, plan, timeoutMs);
  return mutateSession(ctx, id, (l) => completeItem(l.state, l.def, p.itemId, opts, outcome, new Date()));
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
  return mutateSession(ctx, id, (l) => {
    if (p.force) assertMayForcePast(caller, l.state, l.def, 'advance');
    return advancePhase(l.state, l.def, { force: p.force }, new Date());
  });
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
  return mutateSession(ctx, id, (l) => {
    if (p.force) assertMayForcePast(caller, l.state, l.def, 'finish');
    return finishWorkflow(l.state, l.def, { notes: p.notes, force: p.force }, new Date());
  });
}
