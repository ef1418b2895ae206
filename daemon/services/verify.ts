/**
 * `item/verify`: re-runs the checks of completed items of the current phase on the tree as it is
 * now and refreshes their evidence. Planned under the session's mutex, run with no lock held (one
 * fingerprint, then each check), applied under the mutex against the state as it is by then.
 */
import type { ItemVerifyParams, ItemVerifyResult } from '../../protocol/evidence.js';
import type { DaemonContext } from '../context.js';
import { applyVerify, planVerify, type VerifyRun } from '../engine/ops-verify.js';
import { mutateSession, requireSession, withSessionState } from './commit.js';
import { takeFingerprint, unboundWarning } from './evidence.js';
import { commandTimeoutMs, runPlan } from './workflow.js';

export async function verifyOp(ctx: DaemonContext, p: ItemVerifyParams): Promise<ItemVerifyResult> {
  const id = await requireSession(ctx, p.sessionId);
  const { steps, def, timeoutMs } = await withSessionState(ctx, id, (l) => ({
    steps: planVerify(l.state, l.def, p.itemIds),
    def: l.def,
    timeoutMs: commandTimeoutMs(ctx, l.def),
  }));
  const fp = steps.length > 0 ? await takeFingerprint(ctx, def) : null;
  const runs: VerifyRun[] = [];
  for (const step of steps) {
    const outcome = await runPlan(ctx, step.plan, timeoutMs);
    runs.push({ ...step, ...(outcome ? { outcome: fp ? { ...outcome, evidence: fp.evidence } : outcome } : {}) });
  }
  let verified: ItemVerifyResult['verified'] = [];
  const result = await mutateSession(ctx, id, (l) => {
    const r = applyVerify(l.state, l.def, runs, new Date());
    verified = r.verified;
    return r;
  });
  const warning = fp ? unboundWarning(fp) : null;
  return { ...result, warnings: warning ? [...result.warnings, warning] : result.warnings, verified, evidence: fp?.evidence ?? null };
}
