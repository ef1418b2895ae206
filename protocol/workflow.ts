import { RequestType } from 'vscode-jsonrpc';
import type { OrchErrorData } from './errors.js';
import type { SessionSelector, StateSource, WorkflowStatusView } from './session.js';
import type { ItemCompleteParams, ItemSkipParams, ItemApproveParams, PhaseApproveParams, PhaseAdvanceParams, WorkflowFinishParams, CheckpointCreateParams, CheckpointListParams, LogReadParams, WorkflowValidateParams, WorkflowInitParams } from './params.js';

/** Each request's params, declared once in params.ts (zod), re-exported here as types. */
export type { ItemCompleteParams, ItemSkipParams, ItemApproveParams, PhaseApproveParams, PhaseAdvanceParams, WorkflowFinishParams, CheckpointCreateParams, CheckpointListParams, LogReadParams, WorkflowValidateParams, WorkflowInitParams };

/** What every workflow change returns: what happened, and the session's status afterwards. */
export interface OperationResult {
  /** One sentence, e.g. `Item write_plan completed`. */
  message: string;
  sessionId: string;
  status: WorkflowStatusView;
  /** Non-fatal notes (e.g. legacy state adopted, checksum mismatch). */
  warnings: string[];
}

/** Completes an item of the current phase, running its verification first. Fails with `ItemNotFound`, `InvalidTransition`, `VerificationFailed` (the failure is recorded in state). */
export const ItemCompleteRequest = new RequestType<ItemCompleteParams, OperationResult, OrchErrorData>('item/complete');

/** Skips an item of the current phase. Fails with `ItemNotFound`, `InvalidTransition`. */
export const ItemSkipRequest = new RequestType<ItemSkipParams, OperationResult, OrchErrorData>('item/skip');

/** Approves a manual-gate item of the current phase. Fails with `ItemNotFound`, `InvalidTransition`. */
export const ItemApproveRequest = new RequestType<ItemApproveParams, OperationResult, OrchErrorData>('item/approve');

/** Records human approval of a phase (`exit_gate: human_approval`). Fails with `InvalidTransition`. */
export const PhaseApproveRequest = new RequestType<PhaseApproveParams, OperationResult, OrchErrorData>('phase/approve');

/** Completes the current phase and starts the next. Fails with `InvalidTransition` listing blockers. */
export const PhaseAdvanceRequest = new RequestType<PhaseAdvanceParams, OperationResult, OrchErrorData>('phase/advance');

/** Completes (or abandons) the workflow. Fails with `InvalidTransition`, `InvalidArgument`. */
export const WorkflowFinishRequest = new RequestType<WorkflowFinishParams, OperationResult, OrchErrorData>('workflow/finish');

/** One checkpoint, as listed (the `cp_*.json` file's fields, camelCased, without the state snapshot). */
export interface CheckpointSummary {
  /** `cp_<YYYYmmdd_HHMMSS>_<µs6>_<rand4>_<md5(workflow_id)[:4]>`; also the file name without `.json`. */
  checkpointId: string;
  /** The workflow's current phase when the checkpoint was made. */
  phaseId: string;
  /** The first `in_progress` item of that phase, or null (practically always null); absent when unknown. */
  itemId?: string | null;
  /** UTC, `…+00:00` with microseconds. */
  timestamp: string;
  /** `--message`; null when none was given. */
  message: string | null;
  /** `Task: …; Current Phase: …; Progress: x/y items completed[; Constraints: n active]`; absent when unknown. */
  contextSummary?: string | null;
  /** `--decision` values, in order. */
  decisions: string[];
  /** The file manifest: `--file` values, then up to 10 auto-detected changed files; repo-relative. */
  files: string[];
  /** The session's previous checkpoint, or null for the first; absent when unknown (older files). */
  parentCheckpointId?: string | null;
  /** Path relative to the repo root. */
  path: string;
}

export interface CheckpointCreateResult {
  sessionId: string;
  checkpoint: CheckpointSummary;
}
/**
 * Writes a checkpoint (a snapshot of the state plus decisions and files) into the session's
 * `checkpoints/`. It never changes the workflow, so finished workflows accept it too. Fails with
 * `NoActiveWorkflow`, `SessionNotFound`, `PathOutsideRepo`, `InvalidArgument`.
 */
export const CheckpointCreateRequest = new RequestType<CheckpointCreateParams, CheckpointCreateResult, OrchErrorData>('checkpoint/create');

export interface CheckpointListResult {
  /** The session listed; null when the repository has no session (then `checkpoints` is empty). */
  sessionId: string | null;
  source: StateSource;
  /** Oldest first. */
  checkpoints: CheckpointSummary[];
  /** One line per checkpoint file that could not be read (it is left out of the list). */
  warnings: string[];
}
/** Lists a session's checkpoints. Fails with `SessionNotFound`. */
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

export interface LogReadResult {
  /** The session read; null when the repository has no session (then `events` is empty). */
  sessionId: string | null;
  source: StateSource;
  /** Oldest first. */
  events: LogEventView[];
  /**
   * Lines that were not a JSON object with an `event_type` and were skipped, among the lines read to
   * collect `events` (the log is read from its end, so earlier bad lines are not counted).
   */
  skippedLines: number;
  /** Notes about the log, e.g. lines of a change a crash left unapplied that were moved aside. */
  warnings?: string[];
}
/** Reads the last events of a session's log. Fails with `SessionNotFound`, `InvalidArgument` (limit over 10000). */
export const LogReadRequest = new RequestType<LogReadParams, LogReadResult, OrchErrorData>('log/read');

export interface WorkflowValidateResult {
  valid: true;
  /** Absolute path of the file validated. */
  file: string;
  /** The workflow's `name`. */
  name: string;
  /** The workflow's `version`. */
  version: string;
  /** Number of phases. */
  phases: number;
  /** Number of items over all phases. */
  items: number;
  /** `file:line:col: …` lines (unknown keys, undefined `{{vars}}`); never fatal. */
  warnings: string[];
}
/**
 * Validates a workflow file. Fails with `WorkflowNotFound`, `PathOutsideRepo`, or `InvalidWorkflow`
 * (`details.errors` lists every problem, one `file:line:col: field: what is allowed` string each).
 */
export const WorkflowValidateRequest = new RequestType<WorkflowValidateParams, WorkflowValidateResult, OrchErrorData>('workflow/validate');

export interface WorkflowInitResult {
  /** Absolute path of the workflow file written. */
  file: string;
  /** Where the previous file was kept, when overwritten. */
  backup: string | null;
  /** True when the repository is now in portable mode. */
  portable: boolean;
  /** Non-fatal notes (e.g. `.orchestrator/` copied from another folder). */
  warnings: string[];
}
/**
 * Writes the bundled default workflow to `<repo>/workflow.yaml`: the one request that writes
 * outside `.orchestrator/`. Fails with `InvalidTransition` when the file exists and `force` is not
 * set (nothing is changed then), `PathOutsideRepo` when it is a link to outside the repository.
 */
export const WorkflowInitRequest = new RequestType<WorkflowInitParams, WorkflowInitResult, OrchErrorData>('workflow/init');
