import { RequestType } from 'vscode-jsonrpc';
import type { OrchErrorData } from './errors.js';
import type { SessionSelector, StateSource, WorkflowStatusView } from './session.js';

/** What every workflow change returns: what happened, and the session's status afterwards. */
export interface OperationResult {
  /** One sentence, e.g. `Item write_plan completed`. */
  message: string;
  sessionId: string;
  status: WorkflowStatusView;
  /** Non-fatal notes (e.g. legacy state adopted, checksum mismatch). */
  warnings: string[];
}

export interface ItemCompleteParams extends SessionSelector {
  itemId: string;
  /** What was done; at most 2000 characters. */
  notes?: string;
  /** Skip file/command verification (never a manual approval, never a gate command). */
  skipVerify?: boolean;
}
/** Completes an item of the current phase, running its verification first. Fails with `ItemNotFound`, `InvalidTransition`, `VerificationFailed` (the failure is recorded in state). */
export const ItemCompleteRequest = new RequestType<ItemCompleteParams, OperationResult, OrchErrorData>('item/complete');

export interface ItemSkipParams extends SessionSelector {
  itemId: string;
  /** Why; at least 10 characters (50 for documented items and forced gates). */
  reason: string;
  /** Required to skip a gate. */
  force?: boolean;
}
/** Skips an item of the current phase. Fails with `ItemNotFound`, `InvalidTransition`. */
export const ItemSkipRequest = new RequestType<ItemSkipParams, OperationResult, OrchErrorData>('item/skip');

export interface ItemApproveParams extends SessionSelector {
  itemId: string;
  notes?: string;
}
/** Approves a manual-gate item of the current phase. Fails with `ItemNotFound`, `InvalidTransition`. */
export const ItemApproveRequest = new RequestType<ItemApproveParams, OperationResult, OrchErrorData>('item/approve');

export interface PhaseApproveParams extends SessionSelector {
  /** Phase id; default the current phase. */
  phaseId?: string;
}
/** Records human approval of a phase (`exit_gate: human_approval`). Fails with `InvalidTransition`. */
export const PhaseApproveRequest = new RequestType<PhaseApproveParams, OperationResult, OrchErrorData>('phase/approve');

export interface PhaseAdvanceParams extends SessionSelector {
  /** Advance despite blockers (recorded in the log). */
  force?: boolean;
}
/** Completes the current phase and starts the next. Fails with `InvalidTransition` listing blockers. */
export const PhaseAdvanceRequest = new RequestType<PhaseAdvanceParams, OperationResult, OrchErrorData>('phase/advance');

export interface WorkflowFinishParams extends SessionSelector {
  notes?: string;
  /** Finish despite blockers in the current phase. */
  force?: boolean;
  /** Abandon instead of completing; needs `reason`. */
  abandon?: boolean;
  reason?: string;
}
/** Completes (or abandons) the workflow. Fails with `InvalidTransition`, `InvalidArgument`. */
export const WorkflowFinishRequest = new RequestType<WorkflowFinishParams, OperationResult, OrchErrorData>('workflow/finish');

/** One checkpoint, as listed. */
export interface CheckpointSummary {
  checkpointId: string;
  phaseId: string;
  timestamp: string;
  message: string;
  decisions: string[];
  files: string[];
  /** Path relative to the repo root. */
  path: string;
}

export interface CheckpointCreateParams extends SessionSelector {
  message?: string;
  decisions?: string[];
  /** Files to record in the manifest, relative to the repo root (must be inside it). */
  files?: string[];
}
export interface CheckpointCreateResult {
  sessionId: string;
  checkpoint: CheckpointSummary;
}
/** Writes a checkpoint (a snapshot of the state plus decisions and files). */
export const CheckpointCreateRequest = new RequestType<CheckpointCreateParams, CheckpointCreateResult, OrchErrorData>('checkpoint/create');

export type CheckpointListParams = SessionSelector;
export interface CheckpointListResult {
  sessionId: string | null;
  source: StateSource;
  /** Oldest first. */
  checkpoints: CheckpointSummary[];
}
/** Lists a session's checkpoints. */
export const CheckpointListRequest = new RequestType<CheckpointListParams, CheckpointListResult, OrchErrorData>('checkpoint/list');

/** One event of `log.jsonl`, in its on-disk (snake_case) shape. */
export interface LogEventView {
  timestamp: string;
  event_type: string;
  workflow_id: string;
  phase_id: string | null;
  item_id: string | null;
  message: string;
  details: Record<string, unknown>;
  actor: string;
}

export interface LogReadParams extends SessionSelector {
  /** The last N events; default 20. */
  limit?: number;
}
export interface LogReadResult {
  sessionId: string | null;
  source: StateSource;
  events: LogEventView[];
  /** Lines that did not parse (skipped). */
  skippedLines: number;
}
/** Reads the last events of a session's log. */
export const LogReadRequest = new RequestType<LogReadParams, LogReadResult, OrchErrorData>('log/read');

export interface WorkflowValidateParams {
  /** Absolute path inside the repo; default `<repo>/workflow.yaml`. */
  file?: string;
}
export interface WorkflowValidateResult {
  valid: true;
  file: string;
  name: string;
  version: string;
  phases: number;
  items: number;
  warnings: string[];
}
/** Validates a workflow file. Fails with `WorkflowNotFound` or `InvalidWorkflow` (details.errors lists every problem). */
export const WorkflowValidateRequest = new RequestType<WorkflowValidateParams, WorkflowValidateResult, OrchErrorData>('workflow/validate');

export interface WorkflowInitParams {
  /** Overwrite an existing workflow.yaml (the old one is kept as workflow.yaml.bak). */
  force?: boolean;
  /** Also switch the repo to portable mode. */
  portable?: boolean;
}
export interface WorkflowInitResult {
  file: string;
  /** Where the previous file was kept, when overwritten. */
  backup: string | null;
}
/** Writes the bundled default workflow to `<repo>/workflow.yaml`. Fails with `InvalidTransition` when it exists and `force` is not set. */
export const WorkflowInitRequest = new RequestType<WorkflowInitParams, WorkflowInitResult, OrchErrorData>('workflow/init');
