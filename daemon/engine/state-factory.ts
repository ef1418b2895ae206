/**
 * Builds `WorkflowState` objects: a fresh one for `start` (the Python engine's `start_workflow`,
 * reference §3), or a complete one from a state file's parsed JSON. Every field is written out in
 * the on-disk order of types.ts, because that order is what a byte-compatible save reproduces.
 */
import { OrchError } from '../errors.js';
import { utcZ } from './time.js';
import type {
  ItemDef,
  ItemState,
  LogEvent,
  PhaseDef,
  PhaseState,
  VerificationDef,
  WorkflowDef,
  WorkflowState,
} from './types.js';

export interface InitialStateOptions {
  task: string;
  project?: string | null;
  constraints?: string[];
  /** Absolute path of the workflow file, or null when none applies. */
  workflowYamlPath: string | null;
  /** `workflowFileChecksum` of that file's bytes, or null. */
  workflowYamlChecksum: string | null;
  workflowId: string;
  now?: Date;
}

/** The state `start` saves: every phase and item pending, the first phase active. */
export function createInitialState(def: WorkflowDef, opts: InitialStateOptions): WorkflowState {
  const first = def.phases[0];
  if (!first) {
    throw new OrchError('InvalidWorkflow', `Workflow "${def.name}" has no phases, so there is nothing to start.`);
  }
  const stamp = utcZ(opts.now ?? new Date());
  const phases: Record<string, PhaseState> = {};
  for (const phase of def.phases) {
    const items: Record<string, ItemState> = {};
    for (const item of phase.items) setOwn(items, item.id, pendingItem(item.id));
    const isFirst = phase === first;
    setOwn(phases, phase.id, {
      id: phase.id,
      status: isFirst ? 'active' : 'pending',
      started_at: isFirst ? stamp : null,
      completed_at: null,
      items,
    });
  }
  // Python writes both keys only when it has a workflow file; null values are left out.
  const metadata: Record<string, unknown> = {};
  if (opts.workflowYamlPath !== null) metadata.workflow_yaml_path = opts.workflowYamlPath;
  if (opts.workflowYamlChecksum !== null) metadata.workflow_yaml_checksum = opts.workflowYamlChecksum;
  return {
    workflow_id: opts.workflowId,
    workflow_type: def.name,
    workflow_version: def.version,
    task_description: opts.task,
    project: opts.project ?? null,
    status: 'active',
    current_phase_id: first.id,
    phases,
    created_at: stamp,
    updated_at: stamp,
    completed_at: null,
    metadata,
    workflow_definition: def,
    constraints: [...(opts.constraints ?? [])],
  };
}

/** The two events `start_workflow` logs, in order: `workflow_started`, then `phase_started`. */
export function initialEvents(state: WorkflowState, now: Date = new Date()): LogEvent[] {
  const phaseId = state.current_phase_id;
  const phaseDef = state.workflow_definition?.phases.find((p) => p.id === phaseId);
  return [
    {
      timestamp: utcZ(now),
      event_type: 'workflow_started',
      workflow_id: state.workflow_id,
      phase_id: null,
      item_id: null,
      message: `Started workflow: ${state.task_description}`,
      details: { project: state.project, workflow_type: state.workflow_type },
      actor: 'system',
    },
    {
      timestamp: utcZ(now),
      event_type: 'phase_started',
      workflow_id: state.workflow_id,
      phase_id: phaseId,
      item_id: null,
      message: `Started phase: ${phaseDef?.name ?? phaseId}`,
      details: {},
      actor: 'system',
    },
  ];
}

function pendingItem(id: string): ItemState {
  return itemStateFrom(id, {});
}

const WORKFLOW_STATUSES = ['active', 'completed', 'abandoned', 'paused'];
const PHASE_STATUSES = ['pending', 'active', 'completed', 'blocked'];
const ITEM_STATUSES = ['pending', 'in_progress', 'completed', 'skipped', 'blocked', 'failed'];
const REQUIRED_STRINGS = ['workflow_id', 'workflow_type', 'task_description', 'current_phase_id'];

/**
 * A complete `WorkflowState` from a state file's parsed JSON (plain numbers, trailer ignored).
 * Fields that older versions did not write get the Python model's defaults; keys the model does
 * not know are dropped, as Pydantic drops them. Throws `StateCorrupt` naming the first problem.
 */
export function normaliseState(raw: Record<string, unknown>, fileLabel: string): WorkflowState {
  const corrupt = (what: string): never => {
    throw new OrchError('StateCorrupt', `${fileLabel} is not a valid workflow state: ${what}.`, { file: fileLabel });
  };
  const missing = REQUIRED_STRINGS.filter((k) => typeof raw[k] !== 'string');
  if (missing.length > 0) corrupt(`${missing.join(', ')} missing or not a string`);
  const status = raw.status ?? 'active';
  if (!WORKFLOW_STATUSES.includes(status as string)) corrupt(`status is ${JSON.stringify(status)}`);
  const rawPhases = raw.phases;
  if (!isRecord(rawPhases)) corrupt('phases is not an object');
  const phases: Record<string, PhaseState> = {};
  for (const [id, value] of Object.entries(rawPhases as Record<string, unknown>)) {
    setOwn(phases, id, phaseStateFrom(id, value, corrupt));
  }
  const def = raw.workflow_definition;
  if (def !== undefined && def !== null && !isRecord(def)) corrupt('workflow_definition is not an object');
  const createdAt = (raw.created_at ?? raw.updated_at ?? utcZ()) as string;
  return {
    workflow_id: raw.workflow_id as string,
    workflow_type: raw.workflow_type as string,
    workflow_version: (raw.workflow_version ?? '1.0') as string,
    task_description: raw.task_description as string,
    project: (raw.project ?? null) as string | null,
    status: status as WorkflowState['status'],
    current_phase_id: raw.current_phase_id as string,
    phases,
    created_at: createdAt,
    updated_at: (raw.updated_at ?? createdAt) as string,
    completed_at: (raw.completed_at ?? null) as string | null,
    metadata: isRecord(raw.metadata) ? raw.metadata : {},
    workflow_definition: isRecord(def) ? workflowDefFrom(def) : null,
    constraints: Array.isArray(raw.constraints) ? (raw.constraints as string[]) : [],
  };
}

function phaseStateFrom(id: string, value: unknown, corrupt: (what: string) => never): PhaseState {
  if (!isRecord(value) || !isRecord(value.items ?? {})) corrupt(`phases.${id} is not a phase object`);
  const p = value as Record<string, unknown>;
  const status = p.status ?? 'pending';
  if (!PHASE_STATUSES.includes(status as string)) corrupt(`phases.${id}.status is ${JSON.stringify(status)}`);
  const items: Record<string, ItemState> = {};
  for (const [itemId, item] of Object.entries((p.items ?? {}) as Record<string, unknown>)) {
    const itemStatus = isRecord(item) ? (item.status ?? 'pending') : undefined;
    if (!ITEM_STATUSES.includes(itemStatus as string)) {
      corrupt(`phases.${id}.items.${itemId} is not an item object with a known status`);
    }
    setOwn(items, itemId, itemStateFrom(itemId, item as Record<string, unknown>));
  }
  return {
    id: (p.id ?? id) as string,
    status: status as PhaseState['status'],
    started_at: (p.started_at ?? null) as string | null,
    completed_at: (p.completed_at ?? null) as string | null,
    items,
  };
}

function itemStateFrom(id: string, r: Record<string, unknown>): ItemState {
  return {
    id: (r.id ?? id) as string,
    status: (r.status ?? 'pending') as ItemState['status'],
    started_at: (r.started_at ?? null) as string | null,
    completed_at: (r.completed_at ?? null) as string | null,
    skipped_at: (r.skipped_at ?? null) as string | null,
    skip_reason: (r.skip_reason ?? null) as string | null,
    skip_context_considered: (r.skip_context_considered ?? null) as string[] | null,
    notes: (r.notes ?? null) as string | null,
    verification_result: (r.verification_result ?? null) as Record<string, unknown> | null,
    retry_count: (r.retry_count ?? 0) as number,
    files_modified: (r.files_modified ?? null) as string[] | null,
    evidence: (r.evidence ?? null) as Record<string, unknown> | null,
    gate_result: (r.gate_result ?? null) as Record<string, unknown> | null,
  };
}

/**
 * A `WorkflowDef` with every field present, from a mapping whose present fields are already valid
 * (a state file's frozen definition, or a workflow the loader has checked). Absent fields get the
 * Pydantic defaults; no validators run here.
 */
export function workflowDefFrom(r: Record<string, unknown>): WorkflowDef {
  return {
    name: r.name as string,
    version: (r.version ?? '1.0') as string,
    description: (r.description ?? null) as string | null,
    phases: asRecords(r.phases).map(phaseDefFrom),
    settings: isRecord(r.settings) ? r.settings : {},
  };
}

export function phaseDefFrom(r: Record<string, unknown>): PhaseDef {
  return {
    id: r.id as string,
    name: r.name as string,
    description: (r.description ?? null) as string | null,
    agent: (r.agent ?? null) as string | null,
    executor: (r.executor ?? null) as string | null,
    items: asRecords(r.items).map(itemDefFrom),
    exit_gate: (r.exit_gate ?? null) as string | null,
    notes: (r.notes ?? []) as string[],
    required_reviews: (r.required_reviews ?? []) as string[],
    phase_type: (r.phase_type ?? 'guided') as string,
    intended_tools: (r.intended_tools ?? []) as string[],
  };
}

export function itemDefFrom(r: Record<string, unknown>): ItemDef {
  return {
    id: r.id as string,
    name: r.name as string,
    description: (r.description ?? null) as string | null,
    required: (r.required ?? true) as boolean,
    skippable: (r.skippable ?? true) as boolean,
    skip_conditions: (r.skip_conditions ?? []) as string[],
    verification: verificationDefFrom(isRecord(r.verification) ? r.verification : {}),
    agent: (r.agent ?? null) as string | null,
    notes: (r.notes ?? []) as string[],
    step_type: (r.step_type ?? 'flexible') as ItemDef['step_type'],
    evidence_schema: (r.evidence_schema ?? null) as string | null,
    evidence_prompt: (r.evidence_prompt ?? null) as string | null,
    // orch's own key, present only when set, so definitions without it stay byte-identical.
    ...(Array.isArray(r.expect_changes) && r.expect_changes.length > 0 ? { expect_changes: r.expect_changes as string[] } : {}),
  };
}

function verificationDefFrom(r: Record<string, unknown>): VerificationDef {
  return {
    type: (r.type ?? 'none') as VerificationDef['type'],
    path: (r.path ?? null) as string | null,
    command: (r.command ?? null) as string | null,
    expect_exit_code: (r.expect_exit_code ?? 0) as number,
    description: (r.description ?? null) as string | null,
  };
}

// Ids come from files; defineProperty keeps an id like "__proto__" an ordinary key.
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function asRecords(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}
