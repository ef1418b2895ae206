/**
 * `orch verify`: re-running the checks of completed items of the current phase. Two-step like
 * completion: `planVerify` says what to run (under the lock), the daemon runs it with no lock held,
 * `applyVerify` records the outcomes against the state as it is then.
 */
import { OrchError } from '../errors.js';
import { assertOpen, beginChange, currentPhase, locateItem, type OpResult } from './ops-common.js';
import { checkPlanFor, recheckItem, type CompletePlan, type VerificationOutcome } from './ops-complete.js';
import type { WorkflowDef, WorkflowState } from './types.js';

export interface VerifyStep {
  itemId: string;
  plan: CompletePlan;
}

export interface VerifyRun extends VerifyStep {
  outcome?: VerificationOutcome;
}

const hasCheck = (plan: CompletePlan): boolean => plan.kind !== 'none';

/** The checks to re-run: the named items (each completed and with a check), else every completed item with one. */
export function planVerify(state: WorkflowState, def: WorkflowDef, itemIds: string[] | undefined): VerifyStep[] {
  assertOpen(state);
  const { phaseDef, phaseState } = currentPhase(state, def);
  if (phaseState.status === 'completed') {
    throw new OrchError('InvalidTransition', `Phase ${phaseDef.id} is already completed, so its checks cannot be re-run; run \`orch finish\`.`, {
      phase: phaseDef.id,
    });
  }
  if (itemIds === undefined || itemIds.length === 0) {
    return phaseDef.items
      .filter((item) => phaseState.items[item.id]?.status === 'completed')
      .map((item) => ({ itemId: item.id, plan: checkPlanFor(item, def.settings) }))
      .filter((s) => hasCheck(s.plan));
  }
  return [...new Set(itemIds)].map((itemId) => {
    const { itemDef, itemState } = locateItem(state, def, itemId);
    if (itemState.status !== 'completed') {
      throw new OrchError('InvalidTransition', `Item ${itemId} is ${itemState.status}, not completed; complete it with \`orch complete ${itemId}\`.`, {
        itemId,
        status: itemState.status,
      });
    }
    const plan = checkPlanFor(itemDef, def.settings);
    if (!hasCheck(plan)) {
      throw new OrchError('InvalidTransition', `Item ${itemId} has no check to re-run (verification ${itemDef.verification.type}).`, { itemId });
    }
    return { itemId, plan };
  });
}

/** Records re-run checks; items no longer completed by now are left alone. Failures come back as `error` (recorded). */
export function applyVerify(
  state: WorkflowState,
  def: WorkflowDef,
  runs: VerifyRun[],
  now: Date,
): OpResult & { verified: { itemId: string; passed: boolean; detail: string }[] } {
  assertOpen(state);
  const next = beginChange(state, now);
  const events: OpResult['events'] = [];
  const verified: { itemId: string; passed: boolean; detail: string }[] = [];
  for (const run of runs) {
    if (locateItem(next, def, run.itemId).itemState.status !== 'completed') continue;
    const r = recheckItem(next, def, run.itemId, run.plan, run.outcome, now);
    events.push(...r.events);
    verified.push({ itemId: run.itemId, passed: r.error === undefined, detail: r.error?.message ?? 'passed' });
  }
  const failed = verified.filter((v) => !v.passed);
  const message =
    verified.length === 0
      ? 'No completed item of this phase has a check to re-run'
      : `Verified ${verified.length} item${verified.length === 1 ? '' : 's'}: ` +
        verified.map((v) => `${v.itemId} ${v.passed ? 'passed' : 'FAILED'}`).join(', ');
  if (failed.length === 0) return { state: next, events, message, verified };
  const error = new OrchError(
    'VerificationFailed',
    `${message}. ${failed.map((f) => f.detail).join(' ')}`,
    { items: failed.map((f) => f.itemId) },
  );
  return { state: next, events, message, verified, error };
}
