/**
 * Runs store/state-file.ts's {@link reconcileLog} once per session and daemon (or command run
 * without one), under the session's mutex: log lines a crash left without their state change are
 * moved aside (or, with nothing writable, reported) before the session is used. Which sessions
 * were checked is kept on the context (`ctx.reconciled`).
 */
import type { DaemonContext } from '../context.js';
import type { WorkflowState } from '../engine/types.js';
import { reconcileLog } from '../store/state-file.js';

/** For callers that hold the session's mutex. Returns a warning to show, or null. */
export async function reconcileLocked(ctx: DaemonContext, id: string, state: WorkflowState): Promise<string | null> {
  if (ctx.reconciled.has(id)) return null;
  const readOnly = Boolean(ctx.readOnly);
  const warning = await reconcileLog(ctx.store, ctx.paths.root, id, state, readOnly);
  // Read-only: nothing could be fixed, so the warning is shown every time.
  if (!readOnly || warning === null) ctx.reconciled.add(id);
  if (warning) ctx.log.warn({ session: id }, warning);
  return warning;
}

/** After a failed save: look again on the next load (the log may not have been cut back). */
export function forgetReconciled(ctx: DaemonContext, id: string): void {
  ctx.reconciled.delete(id);
}

/** For readers that do not hold the mutex: takes it only the first time a session is seen. */
export async function reconcileUnlocked(ctx: DaemonContext, id: string): Promise<string | null> {
  if (ctx.reconciled.has(id)) return null;
  return ctx.locks.runExclusive(id, async () => {
    const loaded = await ctx.states.load(id);
    return loaded === null ? null : reconcileLocked(ctx, id, loaded.state);
  });
}
