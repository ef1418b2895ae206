/**
 * The one path every workflow change takes: resolve the session (session-records.ts), then under
 * its mutex load the state, apply a pure operation, and {@link commit} the result: state and log
 * written durably, the list summary updated, and what was written published to listeners (live
 * updates, caches), so nobody reads it back. Nothing is acknowledged before it is on disk.
 */
import type { OperationResult } from '../../protocol/workflow.js';
import type { DaemonContext } from '../context.js';
import type { OpResult } from '../engine/ops-common.js';
import type { LogEvent, WorkflowDef, WorkflowState } from '../engine/types.js';
import { buildStatusView } from '../engine/status-view.js';
import { cloneId, isPortable, repoWarnings } from '../store/repo-meta.js';
import { lastWriterOf, type LoadedState } from '../store/state-file.js';
import type { Op, Queued } from './commit-queues.js';
import { forgetReconciled } from './log-reconcile.js';
import { requireState } from './session-records.js';

export { requireSession, requireState } from './session-records.js';

/** Runs `fn` on the session's state under its mutex (read-only use: no save). */
export async function withSessionState<T>(ctx: DaemonContext, id: string, fn: (loaded: LoadedState) => Promise<T> | T): Promise<T> {
  return ctx.locks.runExclusive(id, async () => fn(await requireState(ctx, id)));
}

/**
 * Writes a session's new state and its events durably (callers hold the session's mutex), then
 * publishes the committed state and its status view. Returns the state as written.
 */
export async function commit(ctx: DaemonContext, id: string, def: WorkflowDef, state: WorkflowState, events: LogEvent[]): Promise<WorkflowState> {
  const saved = await ctx.states.save(id, state, events);
  ctx.log.info({ session: id, events: events.map((e) => e.event_type) }, 'session changed');
  const status = buildStatusView(saved, def, { sessionId: id, source: 'session', warnings: [] });
  ctx.events.emit('sessionChanged', { sessionId: id, external: false, committed: { state: saved, def, status } });
  return saved;
}

/**
 * Applies `op` to session `id` and saves the result. An operation that records a refusal (a failed
 * verification) returns `error`: the record is saved first, then the error is thrown.
 *
 * Group commit: changes that queue up on one session while it is busy are applied in memory one
 * after another, in arrival order, and saved with one write of state.json (and one append of all
 * their events, in order); every caller is answered once that write is done. An operation that
 * throws is answered with its error and does not hold up the others.
 */
export async function mutateSession(ctx: DaemonContext, id: string, op: Op): Promise<OperationResult> {
  const result = await queueChange(ctx, id, op);
  // A copied or moved folder (or per-checkout files git tracks) is worth saying on every change, not only on start.
  const repo = await repoWarnings(ctx);
  if (repo.length > 0) {
    result.warnings = [...repo, ...result.warnings];
    result.status.warnings = [...repo, ...result.status.warnings];
  }
  return result;
}

function queueChange(ctx: DaemonContext, id: string, op: Op): Promise<OperationResult> {
  const queues = ctx.commits.waiting;
  return new Promise<OperationResult>((resolve, reject) => {
    const queued = queues.get(id);
    if (queued) {
      queued.push({ op, resolve, reject });
      return;
    }
    const batch: Queued[] = [{ op, resolve, reject }];
    queues.set(id, batch);
    ctx.locks
      .runExclusive(id, async () => {
        // From here on, new changes start the next batch (which waits for this one).
        if (queues.get(id) === batch) queues.delete(id);
        await applyBatch(ctx, id, batch);
      })
      .catch((err: unknown) => batch.forEach((item) => item.reject(err)));
  });
}

/** One queued change after it ran in memory: its result, or the error it threw. */
interface Applied {
  item: Queued;
  result?: OpResult;
  error?: unknown;
  /** The warnings its answer carries. */
  warnings: string[];
}

async function applyBatch(ctx: DaemonContext, id: string, items: Queued[]): Promise<void> {
  let loaded: LoadedState;
  try {
    loaded = await requireState(ctx, id);
  } catch (err) {
    items.forEach((item) => item.reject(err));
    return;
  }
  const { def } = loaded;
  let state = loaded.state;
  // The file's warnings (a checksum mismatch) belong to the changes up to the first one saved;
  // later ones see the state as orch wrote it, as they would have one write at a time.
  let warnings = loaded.warnings;
  const events: LogEvent[] = [];
  const applied: Applied[] = [];
  for (const item of items) {
    try {
      const result = await item.op({ state, def, warnings });
      applied.push({ item, result, warnings });
      if (result.events.length > 0) {
        state = result.state;
        events.push(...result.events);
        warnings = [];
      }
    } catch (error) {
      applied.push({ item, error, warnings });
    }
  }
  let savedAt: string | null = null;
  if (events.length > 0) {
    let foreign: string | null;
    try {
      foreign = await foreignWriterWarning(ctx, id, loaded.state);
      savedAt = (await commit(ctx, id, def, state, events)).updated_at;
    } catch (err) {
      forgetReconciled(ctx, id);
      // Nothing of this batch is on disk: no change in it may be acknowledged.
      applied.forEach((a) => a.item.reject(a.result ? err : a.error));
      return;
    }
    // Said once: from this save on, this clone is the session's last writer.
    if (foreign !== null) for (const a of applied) if (a.result && a.result.events.length > 0) a.warnings = [foreign, ...a.warnings];
  }
  for (const a of applied) {
    if (!a.result) {
      a.item.reject(a.error);
      continue;
    }
    try {
      a.item.resolve(answerFor(ctx, id, def, a.result, a.warnings, savedAt));
    } catch (err) {
      a.item.reject(err);
    }
  }
}

/**
 * Portable mode: a warning when the session was last saved by another clone, since two clones
 * changing one session produce two versions git cannot merge.
 */
async function foreignWriterWarning(ctx: DaemonContext, id: string, state: WorkflowState): Promise<string | null> {
  const writer = lastWriterOf(state);
  const readSmall = (p: string) => ctx.store.readSmall(p);
  if (writer === null || !isPortable(ctx.paths, readSmall)) return null;
  const mine = await cloneId(ctx.paths, readSmall);
  if (writer.clone === mine) return null;
  ctx.log.info({ session: id, lastWriter: writer.clone, clone: mine }, 'session last written by another clone');
  return (
    `Session ${id} was last changed in another clone (clone ${writer.clone}, at ${writer.at}); this clone (${mine}) now continues it. ` +
    `If the other clone changes it too, the two versions will conflict on the next pull: let one clone at a time work on a session, and push when you hand it over.`
  );
}

/** One caller's answer: a recorded refusal is thrown, anything else reports the state after its change. */
function answerFor(ctx: DaemonContext, id: string, def: LoadedState['def'], result: OpResult, warnings: string[], savedAt: string | null): OperationResult {
  if (result.error) throw result.error;
  // What was saved carries the save's `updated_at`, as a one-change write would report it.
  const state = result.events.length > 0 && savedAt !== null ? { ...result.state, updated_at: savedAt } : result.state;
  return {
    message: result.message,
    sessionId: id,
    status: buildStatusView(state, def, { sessionId: id, source: 'session', warnings }),
    warnings: [...ctx.legacy.takeNotes(id), ...warnings],
  };
}
