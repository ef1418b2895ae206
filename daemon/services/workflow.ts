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
import type { DaemonContext } from '../context.js';
import { approveItem, completeItem, planComplete, type CompletePlan, type VerificationOutcome } from '../engine/ops-complete.js';
import { abandonWorkflow, advancePhase, approvePhase, finishWorkflow } from '../engine/ops-phase.js';
import { skipItem } from '../engine/ops-skip.js';
import type { WorkflowDef } from '../engine/types.js';
import { checkFileExists, runCommand } from '../engine/verification.js';
import { OrchError } from '../errors.js';
import { mutateSession, requireSession, withSessionState } from './commit.js';

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

export async function skipOp(ctx: DaemonContext, p: ItemSkipParams): Promise<OperationResult> {
  const id = await requireSession(ctx, p.sessionId);
  return mutateSession(ctx, id, (l) => skipItem(l.state, l.def, p.itemId, { reason: p.reason, force: p.force }, new Date()));
}

export async function approveItemOp(ctx: DaemonContext, p: ItemApproveParams): Promise<OperationResult> {
  const id = await requireSession(ctx, p.sessionId);
  return mutateSession(ctx, id, (l) => approveItem(l.state, l.def, p.itemId, { notes: p.notes }, new Date()));
}

export async function approvePhaseOp(ctx: DaemonContext, p: PhaseApproveParams): Promise<OperationResult> {
  const id = await requireSession(ctx, p.sessionId);
  return mutateSession(ctx, id, (l) => approvePhase(l.state, l.def, p.phaseId, new Date()));
}

export async function advanceOp(ctx: DaemonContext, p: PhaseAdvanceParams): Promise<OperationResult> {
  const id = await requireSession(ctx, p.sessionId);
  return mutateSession(ctx, id, (l) => advancePhase(l.state, l.def, { force: p.force }, new Date()));
}

export async function finishOp(ctx: DaemonContext, p: WorkflowFinishParams): Promise<OperationResult> {
  const id = await requireSession(ctx, p.sessionId);
  if (p.abandon) {
    if (!p.reason || p.reason.trim() === '') {
      throw new OrchError('InvalidArgument', 'Abandoning needs a reason: orch finish --abandon --reason "<why>".');
    }
    const reason = p.reason;
    return mutateSession(ctx, id, (l) => abandonWorkflow(l.state, l.def, { reason }, new Date()));
  }
  return mutateSession(ctx, id, (l) => finishWorkflow(l.state, l.def, { notes: p.notes, force: p.force }, new Date()));
}
