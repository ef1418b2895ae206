/**
 * Shared pieces of the pure state transitions: the result type, copying, event construction, and
 * the checks every item operation makes first (open workflow, item in the current phase).
 */
import { OrchError } from '../errors.js';
import { utcZ } from './time.js';
import type { Actor, ItemDef, ItemState, LogEvent, PhaseDef, PhaseState, WorkflowDef, WorkflowState } from './types.js';

/**
 * What a transition produces. The input state is never modified: `state` is a new object.
 * `events` are the log lines to append, in order; an empty list means nothing changed.
 *
 * When `error` is set the operation was refused but the refusal itself is part of the record (a
 * failed verification counts a retry and marks the item; a rejected skip reason is logged): the
 * daemon saves `state`, appends `events`, and then reports `error` to the caller.
 */
export interface OpResult {
  state: WorkflowState;
  events: LogEvent[];
  message: string;
  error?: OrchError;
}

/** Longest note or reason accepted (the Python CLI's limit). */
export const MAX_TEXT_CHARS = 2000;

export function checkTextLength(label: 'Note' | 'Reason', text: string | undefined): void {
  if (text === undefined || text.length <= MAX_TEXT_CHARS) return;
  throw new OrchError(
    'InvalidArgument',
    `${label} exceeds maximum length of ${MAX_TEXT_CHARS} characters (got ${text.length} characters); shorten it.`,
    { length: text.length, max: MAX_TEXT_CHARS },
  );
}

/** Completed and abandoned workflows are records; the Python tool let them be mutated (a defect). */
export function assertOpen(state: WorkflowState): void {
  if (state.status !== 'completed' && state.status !== 'abandoned') return;
  throw new OrchError(
    'InvalidTransition',
    `Workflow ${state.workflow_id} is already ${state.status} and cannot change; start a new one with \`orch start "<task>"\`.`,
    { workflowId: state.workflow_id, status: state.status },
  );
}

/**
 * A deep copy of everything operations may change. The embedded `workflow_definition` (most of a
 * state's size) is shared, not copied: no operation ever modifies a definition (checksum.ts freezes
 * it). Key order is kept, since state.json is written in the state's own key order.
 */
export function copyState(state: WorkflowState): WorkflowState {
  const next: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state)) {
    next[k] = k === 'workflow_definition' ? v : copyData(v);
  }
  return next as unknown as WorkflowState;
}

/**
 * A deep copy of JSON data (what a state holds): plain objects and arrays copied, anything else
 * through structuredClone. Every change copies its session's state, so this runs once per change;
 * structuredClone serialises and rebuilds the whole value and cost several times as much.
 */
function copyData(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyData(value[i]);
    return out;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    const v = copyData((value as Record<string, unknown>)[k]);
    // A "__proto__" key (from a file) stays data, as in the original, not the copy's prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}

/** A copy (see {@link copyState}) with `updated_at` set, to be modified and returned. */
export function beginChange(state: WorkflowState, now: Date): WorkflowState {
  const next = copyState(state);
  next.updated_at = utcZ(now);
  return next;
}

export interface EventFields {
  phaseId?: string | null;
  itemId?: string | null;
  details?: Record<string, unknown>;
  actor?: Actor;
}

/** A log line in the Python tool's field order. */
export function makeEvent(state: WorkflowState, now: Date, eventType: string, message: string, f: EventFields = {}): LogEvent {
  return {
    timestamp: utcZ(now),
    event_type: eventType,
    workflow_id: state.workflow_id,
    phase_id: f.phaseId ?? null,
    item_id: f.itemId ?? null,
    message,
    details: f.details ?? {},
    actor: f.actor ?? 'system',
  };
}

/** `gate` and `required` steps are always required, whatever the YAML says (the schema forces it). */
export function isRequired(item: ItemDef): boolean {
  return item.required || item.step_type === 'gate' || item.step_type === 'required';
}

export function phaseDefOf(def: WorkflowDef, phaseId: string): PhaseDef | undefined {
  return def.phases.find((p) => p.id === phaseId);
}

/** The current phase's definition and state; a mismatch between them means the state is damaged. */
export function currentPhase(state: WorkflowState, def: WorkflowDef): { phaseDef: PhaseDef; phaseState: PhaseState } {
  const phaseDef = phaseDefOf(def, state.current_phase_id);
  const phaseState = state.phases[state.current_phase_id];
  if (phaseDef === undefined || phaseState === undefined) {
    throw new OrchError(
      'StateCorrupt',
      `The current phase ${state.current_phase_id} is missing from the workflow definition or the state; the session cannot continue, start a new one.`,
      { phase: state.current_phase_id },
    );
  }
  return { phaseDef, phaseState };
}

export interface LocatedItem {
  phaseDef: PhaseDef;
  phaseState: PhaseState;
  itemDef: ItemDef;
  itemState: ItemState;
}

function wrongPhaseError(def: WorkflowDef, itemId: string, current: string): OrchError {
  const owner = def.phases.find((p) => p.items.some((i) => i.id === itemId));
  if (owner === undefined) {
    return new OrchError('ItemNotFound', `Item not found: ${itemId}; run \`orch status\` to see the current phase's item ids.`, {
      itemId,
      currentPhase: current,
    });
  }
  const behind = def.phases.findIndex((p) => p.id === owner.id) < def.phases.findIndex((p) => p.id === current);
  const fix = behind
    ? 'earlier phases can no longer change'
    : `finish ${current} and run \`orch advance\` first`;
  return new OrchError('ItemNotFound', `Item '${itemId}' exists but is in phase '${owner.id}', not the current phase '${current}'; ${fix}.`, {
    itemId,
    phase: owner.id,
    currentPhase: current,
  });
}

/** Finds an item of the current phase in `state` (so callers may modify what they get). */
export function locateItem(state: WorkflowState, def: WorkflowDef, itemId: string): LocatedItem {
  const { phaseDef, phaseState } = currentPhase(state, def);
  // Own properties only: an item id from a client such as `constructor` or `__proto__` must not
  // find Object.prototype's members.
  const itemState = Object.hasOwn(phaseState.items, itemId) ? phaseState.items[itemId] : undefined;
  if (itemState === undefined) throw wrongPhaseError(def, itemId, state.current_phase_id);
  const itemDef = phaseDef.items.find((i) => i.id === itemId);
  if (itemDef === undefined) {
    throw new OrchError('ItemNotFound', `Item definition not found: ${itemId}; the workflow definition in this session lacks it.`, { itemId });
  }
  if (phaseState.status === 'completed') {
    throw new OrchError(
      'InvalidTransition',
      `Phase ${phaseDef.id} is already completed, so its items cannot change; run \`orch finish\` to complete the workflow.`,
      { phase: phaseDef.id },
    );
  }
  return { phaseDef, phaseState, itemDef, itemState };
}
