import { RequestType } from 'vscode-jsonrpc';
import type { OrchErrorData } from './errors.js';
import type { EvidenceView } from './evidence.js';
import type {
  SessionStartParams,
  SessionStatusParams,
  SessionListParams,
  SessionShowParams,
  SessionSwitchParams,
  SessionResolveParams,
} from './params.js';

/** Each request's params, declared once in params.ts (zod), re-exported here as types. */
export type { SessionStartParams, SessionStatusParams, SessionListParams, SessionShowParams, SessionSwitchParams, SessionResolveParams };

/** A session id: 8 lowercase hex characters when generated; also its folder under `.orchestrator/sessions/`. */
export type SessionId = string;

/** Workflow status, as stored in `state.json`. */
export type WorkflowStatus = 'active' | 'completed' | 'abandoned' | 'paused';

/** Item status, as stored in `state.json`. */
export type ItemStatus = 'pending' | 'in_progress' | 'completed' | 'skipped' | 'blocked' | 'failed';

/** Where a status was read from. */
export type StateSource = 'session' | 'legacy';

/** Selects a session; omitted means the repo's `current` session. */
export interface SessionSelector {
  /** A session id (from `--session` or `ORCH_SESSION`). */
  sessionId?: SessionId;
}


export interface SessionStartResult {
  sessionId: SessionId;
  workflowId: string;
  task: string;
  /** Id of the first phase. */
  phase: string;
  /** Where the workflow definition came from: a path, or `bundled`. */
  workflowSource: string;
  /** Non-fatal notes (e.g. unknown keys in workflow.yaml, repo copied from elsewhere). */
  warnings: string[];
}

/** Starts a workflow in a new session and makes it current. Fails with `WorkflowNotFound`, `InvalidWorkflow`, `PathOutsideRepo`, `InvalidArgument`. */
export const SessionStartRequest = new RequestType<SessionStartParams, SessionStartResult, OrchErrorData>(
  'session/start',
);

/** Who gave a person's approval: the name, the client kind it came through (`cli`, `editor`, `web`, …), the client's pid. */
export interface ApprovalRecord {
  by: string;
  channel: string;
  pid: number | null;
}

/** One checklist line. */
export interface ChecklistItem {
  id: string;
  name: string;
  status: ItemStatus;
  /** True when the item blocks advancing until completed or skipped. */
  required: boolean;
  /** `gate`, `required`, `documented` or `flexible`. */
  stepType: string;
  /** Verification type: `none`, `file_exists`, `command`, `manual_gate`. */
  verification: string;
  /** Skip reason, when skipped. */
  skipReason?: string | null;
  /** Notes recorded on completion. */
  notes?: string | null;
  /** Who approved it, for an approved manual gate (null when not approved, or approved without a record). */
  approvedBy?: ApprovalRecord | null;
  /** The tree its last passed check ran on; `fresh` says whether the working tree still matches (null: not checked). */
  evidence?: ItemEvidence;
}

/** An item's evidence in a status view. */
export interface ItemEvidence extends EvidenceView {
  /** True when the working tree still is the tree the check ran on, false when it changed; null when not checked or unbound. */
  fresh: boolean | null;
}

export interface ProgressCount {
  completed: number;
  total: number;
}

/** Status of an existing workflow. */
export interface WorkflowStatusView {
  /** True when the workflow's status is `active`. */
  active: boolean;
  sessionId: SessionId | null;
  workflowId: string;
  workflowName: string;
  task: string;
  project: string | null;
  status: WorkflowStatus;
  /** Current phase id. */
  phase: string;
  phaseName: string;
  /** Phases in order, with their status. */
  phases: { id: string; name: string; status: string }[];
  /** Completed items over all items of all phases (skipped items do not count as completed). */
  progress: ProgressCount;
  /** Completed and skipped items over the current phase's items. */
  phaseProgress: ProgressCount & { skipped: number };
  /** The current phase's items. */
  items: ChecklistItem[];
  constraints: string[];
  /** What prevents advancing (`<id> (<status>)`, `Awaiting human approval`). */
  blockers: string[];
  /** True when the current phase can be advanced (or finished, on the last phase). */
  canAdvance: boolean;
  /** The exact next command, e.g. `orch complete write_plan --notes "<what you did>"`; at a person's gate, `orch wait --item <id>` or `orch wait --phase`. */
  nextAction: string;
  /** At a person's gate, the command the person runs (`orch approve-item <id>`, `orch approve`); null otherwise. */
  waitingForPerson: string | null;
  /** Who approved the current phase's human_approval gate, when it is approved with a record. */
  phaseApprovedBy: ApprovalRecord | null;
  /** Where the state came from. */
  source: StateSource;
  /** Non-fatal findings: checksum mismatch, legacy files ignored, repo copied. */
  warnings: string[];
  createdAt: string;
  updatedAt: string;
}

/** No workflow to show. */
export interface NoWorkflowView {
  active: false;
  /** Why: no session yet. */
  reason: string;
  warnings: string[];
  /** The command to run next (the CLI fills it in: `orch start "<task>"`, with `--root` when one was given). */
  nextAction?: string;
  /**
   * Set when sessions exist but none is current in this checkout (portable mode: a fresh clone,
   * since `current` is never shared through git): every session, newest first, to pick from.
   */
  sessions?: SessionListEntry[];
}

export type SessionStatusResult = WorkflowStatusView | NoWorkflowView;

/** Reads a session's status. Fails with `SessionNotFound`, `InvalidSessionId`, `StateCorrupt`. */
export const SessionStatusRequest = new RequestType<SessionStatusParams, SessionStatusResult, OrchErrorData>(
  'session/status',
);

/** One row of `orch sessions`. */
export interface SessionListEntry {
  /** The session id; `"legacy"` for the old tool's root files (`source: "legacy"`), which `session/show` accepts and `session/switch` refuses. */
  sessionId: SessionId;
  task: string | null;
  status: WorkflowStatus | 'unknown';
  phase: string | null;
  /** ISO time the session was created. */
  createdAt: string | null;
  /** True for the repo's `current` session. */
  current: boolean;
  /** `session`, or `legacy` for the old tool's root files. */
  source: StateSource;
  /** Completed over total items, when known. */
  progress: ProgressCount | null;
  /** Set when the session's files could not be read. */
  error?: string;
}

/** Rows `orch sessions` lists unless told `--limit N` or `--all` (also a status with no current session). */
export const SESSION_LIST_PAGE = 20;

export interface SessionListResult {
  /** Newest first: every session, or the page asked for with `limit` and `after`. */
  sessions: SessionListEntry[];
  /** How many sessions there are in all (the legacy workflow's row included). */
  total: number;
  /** The `after` that asks for the next page; null when this page is the last. */
  next: SessionId | null;
  /** The repo's current session, also when it is not on this page. */
  current: SessionId | null;
}

/**
 * Lists sessions, newest first; `limit` and `after` ask for one page. Fails with `SessionNotFound`
 * when `after` names a session no longer listed.
 */
export const SessionListRequest = new RequestType<SessionListParams, SessionListResult, OrchErrorData>(
  'session/list',
);

export interface SessionShowResult {
  session: SessionListEntry & {
    /** Absolute path of the session folder. */
    path: string;
    /** Absolute repo root recorded in the session's meta.json. */
    repoRoot: string | null;
    workflowId: string | null;
  };
}

/** Shows one session. Fails with `SessionNotFound`, `InvalidSessionId`. */
export const SessionShowRequest = new RequestType<SessionShowParams, SessionShowResult, OrchErrorData>(
  'session/show',
);

export interface SessionSwitchResult {
  sessionId: SessionId;
  /** The session that was current before, if any. */
  previous: SessionId | null;
}

/** Makes a session the repo's `current`. Fails with `SessionNotFound`, `InvalidSessionId`. */
export const SessionSwitchRequest = new RequestType<SessionSwitchParams, SessionSwitchResult, OrchErrorData>(
  'session/switch',
);

export interface SessionResolveResult {
  sessionId: SessionId;
  /** The version kept: `ours` or `theirs`. */
  kept: 'ours' | 'theirs';
  /**
   * Where the two versions came from: `git` (the copies git keeps of an unmerged file), `markers`
   * (split from the conflict markers in state.json), `merge-head` (the commit being merged in),
   * `file` (only the state.json on disk: its log held the other version's events).
   */
  from: 'git' | 'markers' | 'merge-head' | 'file';
  /** Files written beside the session's files with the other version (paths relative to the repo root). */
  keptAside: string[];
  /** The kept version's phase and progress. */
  phase: string;
  progress: ProgressCount;
  /** Non-fatal notes (e.g. the log could not be split and keeps both versions' events). */
  warnings: string[];
  /** What to run next: commit the resolved session. */
  nextAction: string;
}

/**
 * Keeps one of two versions of a session changed in two clones (portable mode) and sets the other
 * beside it. Fails with `SessionNotFound`, `InvalidSessionId`, `InvalidTransition` (no conflict),
 * `InvalidArgument` (that version is not available), `StateCorrupt` (the kept version is unreadable).
 */
export const SessionResolveRequest = new RequestType<SessionResolveParams, SessionResolveResult, OrchErrorData>(
  'session/resolve',
);
