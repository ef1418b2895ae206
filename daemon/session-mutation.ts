/**
 * The one path every workflow change takes: resolve the session, then under its mutex load the
 * state, apply a pure operation, save state and events durably, and answer with the new status.
 * Nothing is acknowledged before it is on disk.
 */
import type { OperationResult } from '../protocol/workflow.js';
import type { DaemonContext } from './context.js';
import type { OpResult } from './engine/ops-common.js';
import { buildStatusView } from './engine/status-view.js';
import { OrchError } from './errors.js';
import { adoptLegacyForChange, takeAdoptionNotes } from './legacy/adopt.js';
import { resolveSession } from './session-service.js';
import { loadSessionState, saveSessionState, type LoadedState } from './state-io.js';

/**
 * The session a change applies to; fails when there is none. With no session current and the
 * older Python tool's workflow present, this is where the first change adopts it (legacy/adopt.ts).
 */
export async function requireSession(ctx: DaemonContext, explicit: string | undefined): Promise<string> {
  const id = (await resolveSession(ctx, explicit)) ?? (await adoptLegacyForChange(ctx));
  if (id === null) {
    throw new OrchError('NoActiveWorkflow', 'No workflow has been started in this repository; start one with orch start "<task>".');
  }
  return id;
}

/** Loads a session's state or fails with NoActiveWorkflow when it has none. */
export async function requireState(ctx: DaemonContext, id: string): Promise<LoadedState> {
  const loaded = await loadSessionState(ctx.store, ctx.paths.root, id);
  if (!loaded) {
    throw new OrchError('NoActiveWorkflow', `Session ${id} has no workflow state (state.json is missing); start a workflow with orch start "<task>".`, {
      sessionId: id,
    });
  }
  return loaded;
}

/** Runs `fn` on the session's state under its mutex (read-only use: no save). */
export async function withSessionState<T>(ctx: DaemonContext, id: string, fn: (loaded: LoadedState) => Promise<T> | T): Promise<T> {
  return ctx.locks.runExclusive(id, async () => fn(await requireState(ctx, id)));
}

/**
 * Applies `op` to session `id` and saves the result. An operation that records a refusal (a failed
 * verification) returns `error`: the record is saved first, then the error is thrown.
 */
export async function mutateSession(ctx: DaemonContext, id: string, op: (loaded: LoadedState) => OpResult | Promise<OpResult>): Promise<OperationResult> {
  return ctx.locks.runExclusive(id, async () => {
    const loaded = await requireState(ctx, id);
    const result = await op(loaded);
    let state = result.state;
    if (result.events.length > 0) {
      state = await saveSessionState(ctx.store, id, result.state, result.events);
      ctx.log.info({ session: id, events: result.events.map((e) => e.event_type) }, 'session changed');
      ctx.events.emit('sessionChanged', { sessionId: id, external: false });
    }
    if (result.error) throw result.error;
    return {
      message: result.message,
      sessionId: id,
      status: buildStatusView(state, loaded.def, { sessionId: id, source: 'session', warnings: loaded.warnings }),
      warnings: [...takeAdoptionNotes(ctx, id), ...loaded.warnings],
    };
  });
}
