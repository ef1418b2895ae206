/**
 * What the `orch ui` server sends its page (JSON over `/events` and `/api/*`), declared once for
 * both: the server (client/ui/server.ts) and the page script (client/ui/web/app.ts, built for the
 * browser by its own tsconfig). Types only: nothing here runs.
 */
import type { CheckpointSummary, LogEventView } from '../../protocol/workflow.js';
import type { RosterEntry } from '../../protocol/roster.js';
import type { ProgressCount, WorkflowStatusView } from '../../protocol/session.js';

/** The daemon as the server sees it. */
export interface DaemonState {
  /** `connected`; `reconnecting` after the daemon went away; `stopped` after a deliberate stop (waits for a new one). */
  state: 'connected' | 'reconnecting' | 'stopped';
  instanceId: string | null;
  /** Why it is not connected, or that it restarted; null when there is nothing to say. */
  note: string | null;
}

/** One row of the session list. */
export interface SessionRow {
  sessionId: string;
  task: string | null;
  status: string;
  phase: string | null;
  phaseName: string | null;
  progress: ProgressCount | null;
  current: boolean;
  createdAt: string | null;
  updatedAt: string | null;
  /** Clients bound to this session now (`watch`, `editor orch.nvim`, …). */
  clients: string[];
  /** True when a gate of this session waits for a person. */
  waiting: boolean;
  error?: string;
}

/** A gate waiting for a person: a manual-gate item, or a phase's human_approval exit gate. */
export interface WaitingGate {
  sessionId: string;
  task: string;
  kind: 'item' | 'phase';
  /** The item id (kind item) or the phase id (kind phase). */
  id: string;
  /** The item's or phase's name. */
  name: string;
  phase: string;
  /** The CLI command a person would run, e.g. `orch approve-item plan_review`. */
  command: string;
}

/** Everything the page's lists show; sent whole on every change. */
export interface Snapshot {
  repo: string;
  /** Who approves from this page (git config user.name, else the account name). */
  approver: string;
  daemon: DaemonState;
  /** Newest first. */
  sessions: SessionRow[];
  /** Full status of each open session (active or paused), by id. */
  statuses: Record<string, WorkflowStatusView>;
  waiting: WaitingGate[];
  /** Clients connected to the daemon now. */
  roster: RosterEntry[];
  /** True when more sessions exist than are listed. */
  truncated: boolean;
}

/** `GET /api/session/<id>`: one session's status, log tail and checkpoints. */
export interface SessionDetail {
  status: WorkflowStatusView | null;
  log: LogEventView[];
  checkpoints: CheckpointSummary[];
  error?: string;
}

/** `POST /api/approve` body. */
export interface ApproveBody {
  sessionId: string;
  kind: 'item' | 'phase';
  id: string;
  note?: string;
}

/** `POST /api/approve` answer. */
export interface ApproveAnswer {
  ok: boolean;
  message: string;
}
