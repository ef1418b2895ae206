/**
 * `gate/wait`: answers when a manual gate item is approved (or the current phase's human-approval
 * gate opens), the workflow is abandoned, the item fails, or the timeout passes. It never polls:
 * it re-checks the session on the daemon's own change events (a commit hands over what it wrote;
 * an edit outside the daemon is reported by the watcher and read once), through one listener per
 * context that fans out to the waiters of the changed session. A waiter is removed when it is
 * answered, cancelled (`$/cancelRequest`), or its connection closes, so nothing outlives it.
 *
 * Without a daemon (no-daemon mode) the command holds the repository's single-writer lock while it
 * runs, so waiting there would shut out the very approval it waits for: the answer comes at once
 * (`timeout` when still closed) and the client asks again after releasing the lock.
 */
import type { Disposable } from 'vscode-jsonrpc/node.js';
import { ResponseError } from 'vscode-jsonrpc/node.js';
import { REQUEST_CANCELLED } from '../../protocol/errors.js';
import type { GateWaitOutcome, GateWaitParams, GateWaitResult } from '../../protocol/gates.js';
import type { DaemonContext } from '../context.js';
import { buildStatusView } from '../engine/status-view.js';
import type { WorkflowDef, WorkflowState } from '../engine/types.js';
import { approverOf } from '../engine/human-gates.js';
import { OrchError } from '../errors.js';
import type { DaemonEvents } from '../events.js';
import type { CallContext } from '../runtime/router.js';
import { requireState, resolveSession } from './session-records.js';

/** Default wait when the caller names none. */
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
/** Waits one connection may have pending at once. */
export const MAX_WAITS_PER_CONNECTION = 16;

type Target = { itemId: string } | { phaseId: string };

interface Verdict {
  outcome: Exclude<GateWaitOutcome, 'timeout'> | null;
  approvedBy: GateWaitResult['approvedBy'];
}

/** Who approved, from the record approvals store (engine/human-gates.ts), as the wait reports it. */
function approver(record: unknown): GateWaitResult['approvedBy'] {
  const a = approverOf(record);
  return a ? { by: a.by, channel: a.channel } : null;
}

/** Where the item is (any phase), or a refusal naming the current phase's items. */
function findItem(state: WorkflowState, def: WorkflowDef, itemId: string) {
  for (const phase of def.phases) {
    const items = state.phases[phase.id]?.items;
    if (items && Object.hasOwn(items, itemId) && phase.items.some((i) => i.id === itemId)) return items[itemId]!;
  }
  const current = def.phases.find((p) => p.id === state.current_phase_id);
  const ids = current?.items.map((i) => i.id) ?? [];
  throw new OrchError('ItemNotFound', `There is no item ${itemId.slice(0, 100)} in this workflow; the current phase's items are ${ids.join(', ') || 'none'}.`, {
    itemId: itemId.slice(0, 100),
  });
}

/** Whether the gate is open, will never open, or is still closed (null). */
export function judge(state: WorkflowState, def: WorkflowDef, target: Target): Verdict {
  if (state.status === 'abandoned') return { outcome: 'abandoned', approvedBy: null };
  if ('itemId' in target) {
    const item = findItem(state, def, target.itemId);
    if (item.status === 'completed') return { outcome: 'open', approvedBy: approver((item.verification_result as Record<string, unknown> | null | undefined)?.['approved_by']) };
    // A skipped item no longer holds anyone up; a failed one, or a workflow finished without it, never opens.
    if (item.status === 'skipped') return { outcome: 'open', approvedBy: null };
    if (item.status === 'failed' || state.status === 'completed') return { outcome: 'failed', approvedBy: null };
    return { outcome: null, approvedBy: null };
  }
  const { phaseId } = target;
  const phaseDef = def.phases.find((p) => p.id === phaseId);
  const meta = state.metadata;
  const approved = meta[`phase_${phaseId}_approved`] === true;
  if (approved) return { outcome: 'open', approvedBy: approver(meta[`phase_${phaseId}_approved_by`]) };
  // No person's gate on this phase, or the workflow moved past it (advanced by force, finished).
  const passed = state.current_phase_id !== phaseId || state.phases[phaseId]?.status === 'completed' || state.status === 'completed';
  if (phaseDef?.exit_gate !== 'human_approval' || passed) return { outcome: 'open', approvedBy: null };
  return { outcome: null, approvedBy: null };
}

/** One pending wait: told about every change of its session. */
interface Waiter {
  sessionId: string;
  changed(state: WorkflowState | null, def: WorkflowDef | null): void;
}

/**
 * The waiters of one context, by session, behind one listener on its events (so a thousand waits
 * add no listeners to the emitter).
 */
export class GateWaiters {
  private readonly bySession = new Map<string, Set<Waiter>>();
  private listening = false;

  constructor(private readonly events: DaemonEvents) {}

  get size(): number {
    let n = 0;
    for (const s of this.bySession.values()) n += s.size;
    return n;
  }

  add(w: Waiter): () => void {
    this.listen();
    let set = this.bySession.get(w.sessionId);
    if (!set) this.bySession.set(w.sessionId, (set = new Set()));
    set.add(w);
    return () => {
      set.delete(w);
      if (set.size === 0 && this.bySession.get(w.sessionId) === set) this.bySession.delete(w.sessionId);
    };
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.events.on('sessionChanged', ({ sessionId, committed }) => {
      for (const w of [...(this.bySession.get(sessionId) ?? [])]) w.changed(committed?.state ?? null, committed?.def ?? null);
    });
    this.events.on('sessionRemoved', ({ sessionId }) => {
      for (const w of [...(this.bySession.get(sessionId) ?? [])]) w.changed(null, null);
    });
  }
}

function cancelled(): ResponseError<undefined> {
  return new ResponseError(REQUEST_CANCELLED, 'gate/wait was cancelled by the client.');
}

export async function waitGate(ctx: DaemonContext, p: GateWaitParams, call: CallContext): Promise<GateWaitResult> {
  if ((p.itemId === undefined) === (p.phase !== true)) {
    throw new OrchError('InvalidArgument', 'gate/wait needs exactly one of itemId (a manual gate item) or phase: true (the current phase\'s approval gate).');
  }
  const sessionId = await resolveSession(ctx, p.sessionId);
  if (sessionId === null) throw new OrchError('NoActiveWorkflow', 'No workflow has been started in this repository; start one with orch start "<task>".');
  const first = await requireState(ctx, sessionId);
  const phaseId = p.phaseId ?? first.state.current_phase_id;
  if (p.itemId === undefined && !first.def.phases.some((ph) => ph.id === phaseId)) {
    throw new OrchError('InvalidArgument', `There is no phase ${phaseId.slice(0, 100)} in this workflow; the phases are ${first.def.phases.map((ph) => ph.id).join(', ')}.`);
  }
  const target: Target = p.itemId !== undefined ? { itemId: p.itemId } : { phaseId };
  const itemId = 'itemId' in target ? target.itemId : null;
  const answer = (outcome: GateWaitOutcome, state: WorkflowState, def: WorkflowDef, approvedBy: GateWaitResult['approvedBy']): GateWaitResult => ({
    outcome,
    sessionId,
    itemId,
    approvedBy,
    status: buildStatusView(state, def, { sessionId, source: 'session', warnings: [] }),
  });
  const now = judge(first.state, first.def, target);
  if (now.outcome !== null) return answer(now.outcome, first.state, first.def, now.approvedBy);
  const timeoutMs = ctx.live === null ? 0 : (p.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  if (timeoutMs === 0) return answer('timeout', first.state, first.def, null);
  if (call.token?.isCancellationRequested) throw cancelled();

  return new Promise<GateWaitResult>((resolve, reject) => {
    let last = first;
    const disposables: Disposable[] = [];
    let done = false;
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      remove();
      for (const d of disposables) d.dispose();
      settle();
    };
    /** Re-judges after a change: the committed state as written, else (an outside edit) the file. */
    const recheck = async (state: WorkflowState | null, def: WorkflowDef | null) => {
      try {
        if (state === null || def === null) {
          if (!(await ctx.store.exists(sessionId))) return finish(() => resolve(answer('failed', last.state, last.def, null)));
          const loaded = await requireState(ctx, sessionId);
          ({ state, def } = loaded);
        }
        last = { state, def, warnings: [] };
        const v = judge(state, def, target);
        if (v.outcome !== null) finish(() => resolve(answer(v.outcome!, state!, def!, v.approvedBy)));
      } catch (err) {
        // A state file someone broke by hand may be mended: keep waiting; the timeout still holds.
        call.log.warn({ err, session: sessionId }, 'gate/wait could not read the session after a change; still waiting');
      }
    };
    // An approval written by hand or by another tool is seen too: watch this session's folder.
  ctx.live?.watcher.watchClosely(sessionId);
  const remove = ctx.waiters.add({ sessionId, changed: (state, def) => void recheck(state, def) });
    const timer = setTimeout(() => finish(() => resolve(answer('timeout', last.state, last.def, null))), timeoutMs);
    if (call.token) disposables.push(call.token.onCancellationRequested(() => finish(() => reject(cancelled()))));
    // A closed connection has nobody to answer: let go of everything now.
    disposables.push(call.conn.onClose(() => finish(() => reject(cancelled()))));
    // A change between the first read and the listener being in place is caught by one more look.
    void recheck(null, null);
  });
}
