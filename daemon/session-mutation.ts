/**
 * The one path every workflow change takes: resolve the session, then under its mutex load the
 * state, apply a pure operation, save state and events durably, and answer with the new status.
 * Nothing is acknowledged before it is on disk.
 */
import type { OperationResult } from '../protocol/workflow.js';
import { REPO_LOCK, type DaemonContext } from './context.js';
import type { OpResult } from './engine/ops-common.js';
import type { LogEvent } from './engine/types.js';
import { buildStatusView } from './engine/status-view.js';
import { OrchError } from './errors.js';
import { adoptLegacyForChange, takeAdoptionNotes } from './legacy/adopt.js';
import { resolveSession, setCurrent } from './session-service.js';
import { forgetReconciled, reconcileLocked } from './log-reconcile.js';
import { loadSessionState, saveSessionState, type LoadedState } from './state-io.js';

/**
 * The session a change applies to; fails when there is none. With no session current and the
 * older Python tool's workflow present, this is where the first change adopts it (legacy/adopt.ts).
 */
export async function requireSession(ctx: DaemonContext, explicit: string | undefined): Promise<string> {
  const resolved = await resolveSession(ctx, explicit);
  // A change through the adopted session when `current` was lost makes it current again.
  if (resolved !== null && explicit === undefined && (await ctx.store.readCurrent()) === null) {
    await ctx.locks.runExclusive(REPO_LOCK, () => setCurrent(ctx, resolved));
  }
  const id = resolved ?? (await adoptLegacyForChange(ctx));
  if (id === null) {
    throw new OrchError('NoActiveWorkflow', 'No workflow has been started in this repository; start one with orch start "<task>".');
  }
  return id;
}

/**
 * Loads a session's state or fails with NoActiveWorkflow when it has none. Callers hold the
 * session's mutex: the first load also sets aside log lines a crash left without their state.
 */
export async function requireState(ctx: DaemonContext, id: string): Promise<LoadedState> {
  const loaded = await loadSessionState(ctx.store, ctx.paths.root, id);
  if (!loaded) {
    throw new OrchError('NoActiveWorkflow', `Session ${id} has no workflow state (state.json is missing); start a workflow with orch start "<task>".`, {
      sessionId: id,
    });
  }
  const warning = await reconcileLocked(ctx, id, loaded.state);
  if (warning) loaded.warnings.push(warning);
  return loaded;
}

/** Runs `fn` on the session's state under its mutex (read-only use: no save). */
export async function withSessionState<T>(ctx: DaemonContext, id: string, fn: (loaded: LoadedState) => Promise<T> | T): Promise<T> {
  return ctx.locks.runExclusive(id, async () => fn(await requireState(ctx, id)));
}

type Op = (loaded: LoadedState) => OpResult | Promise<OpResult>;

interface Queued {
  op: Op;
  resolve: (r: OperationResult) => void;
  reject: (err: unknown) => void;
}

/** Per daemon (context), the changes of each session still waiting for the session's mutex. */
const waiting = new WeakMap<DaemonContext, Map<string, Queued[]>>();

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
  let sessions = waiting.get(ctx);
  if (!sessions) waiting.set(ctx, (sessions = new Map()));
  const queues = sessions;
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
    try {
      savedAt = (await saveSessionState(ctx.store, id, state, events)).updated_at;
    } catch (err) {
      forgetReconciled(ctx, id);
      // Nothing of this batch is on disk: no change in it may be acknowledged.
      applied.forEach((a) => a.item.reject(a.result ? err : a.error));
      return;
    }
    ctx.log.info({ session: id, events: events.map((e) => e.event_type) }, 'session changed');
    ctx.events.emit('sessionChanged', { sessionId: id, external: false });
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

/** One caller's answer: a recorded refusal is thrown, anything else reports the state after its change. */
function answerFor(ctx: DaemonContext, id: string, def: LoadedState['def'], result: OpResult, warnings: string[], savedAt: string | null): OperationResult {
  if (result.error) throw result.error;
  // What was saved carries the save's `updated_at`, as a one-change write would report it.
  const state = result.events.length > 0 && savedAt !== null ? { ...result.state, updated_at: savedAt } : result.state;
  return {
    message: result.message,
    sessionId: id,
    status: buildStatusView(state, def, { sessionId: id, source: 'session', warnings }),
    warnings: [...takeAdoptionNotes(ctx, id), ...warnings],
  };
}
