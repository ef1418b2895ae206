/**
 * The older Python tool's 3.0 on-disk formats, field for field (snake_case, Pydantic's defaults made
 * explicit). Key order in these interfaces is the order written to disk, which matters for
 * byte-compatibility of `state.json` with files the Python tool wrote.
 */
import type { LogEventView } from '../../protocol/workflow.js';

export type StepType = 'gate' | 'required' | 'documented' | 'flexible';
export type VerificationType = 'none' | 'file_exists' | 'command' | 'manual_gate';

export interface VerificationDef {
  type: VerificationType;
  path: string | null;
  command: string | null;
  expect_exit_code: number;
  description: string | null;
}

export interface ItemDef {
  id: string;
  name: string;
  description: string | null;
  required: boolean;
  skippable: boolean;
  skip_conditions: string[];
  verification: VerificationDef;
  agent: string | null;
  notes: string[];
  step_type: StepType;
  evidence_schema: string | null;
  evidence_prompt: string | null;
  /**
   * orch's own key (written only when set, after the Python model's fields, which that tool ignores):
   * globs of which at least one file must differ from the tree the phase started on.
   */
  expect_changes?: string[];
}

export interface PhaseDef {
  id: string;
  name: string;
  description: string | null;
  agent: string | null;
  executor: string | null;
  items: ItemDef[];
  exit_gate: string | null;
  notes: string[];
  required_reviews: string[];
  phase_type: string;
  intended_tools: string[];
}

/** A parsed, normalised workflow.yaml, as frozen into `state.workflow_definition`. */
export interface WorkflowDef {
  name: string;
  version: string;
  description: string | null;
  phases: PhaseDef[];
  settings: Record<string, unknown>;
}

export type WorkflowStatusValue = 'active' | 'completed' | 'abandoned' | 'paused';
export type PhaseStatusValue = 'pending' | 'active' | 'completed' | 'blocked';
export type ItemStatusValue = 'pending' | 'in_progress' | 'completed' | 'skipped' | 'blocked' | 'failed';

export interface ItemState {
  id: string;
  status: ItemStatusValue;
  started_at: string | null;
  completed_at: string | null;
  skipped_at: string | null;
  skip_reason: string | null;
  skip_context_considered: string[] | null;
  notes: string | null;
  verification_result: Record<string, unknown> | null;
  retry_count: number;
  files_modified: string[] | null;
  evidence: Record<string, unknown> | null;
  gate_result: Record<string, unknown> | null;
}

export interface PhaseState {
  id: string;
  status: PhaseStatusValue;
  started_at: string | null;
  completed_at: string | null;
  /** Item id → state, in workflow order. */
  items: Record<string, ItemState>;
}

/** The content of `state.json` without the integrity trailer. */
export interface WorkflowState {
  workflow_id: string;
  workflow_type: string;
  workflow_version: string;
  task_description: string;
  project: string | null;
  status: WorkflowStatusValue;
  current_phase_id: string;
  /** Phase id → state, in workflow order. */
  phases: Record<string, PhaseState>;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  metadata: Record<string, unknown>;
  workflow_definition: WorkflowDef | null;
  constraints: string[];
}

/** The integrity trailer appended after the state's own keys. */
export interface StateTrailer {
  _version: string;
  _checksum: string;
  _updated_at: string;
}

export type Actor = 'system' | 'human';

/** One line of `log.jsonl` (the wire shape in protocol/workflow.ts), as the daemon writes it. */
export interface LogEvent extends LogEventView {
  actor: Actor;
}

/** A `checkpoints/cp_*.json` file. */
export interface Checkpoint {
  checkpoint_id: string;
  workflow_id: string;
  phase_id: string;
  item_id: string | null;
  timestamp: string;
  /** null when made without a message (Python's default). */
  message: string | null;
  context_summary: string;
  key_decisions: string[];
  file_manifest: string[];
  workflow_state_snapshot: WorkflowState;
  parent_checkpoint_id: string | null;
}
