import { RequestType } from 'vscode-jsonrpc';
import type { OrchErrorData } from './errors.js';
import type { SessionId, SessionSelector, StateSource } from './session.js';
import type { FeedbackAddParams, FeedbackListParams } from './params.js';

/** Each request's params, declared once in params.ts (zod), re-exported here as types. */
export type { FeedbackAddParams, FeedbackListParams };

/** What a feedback record is about: `tool` (orch itself) or `process` (the workflow and how the work went). */
export type FeedbackKind = 'tool' | 'process';

/** Every feedback kind, in display order. */
export const FEEDBACK_KINDS: readonly FeedbackKind[] = ['tool', 'process'];

/** The default kind of `feedback/add` when none is given. */
export const DEFAULT_FEEDBACK_KIND: FeedbackKind = 'process';

/** File name of each kind's records inside a session's `feedback/` folder (one JSON object per line). */
export const FEEDBACK_FILE_NAMES: Readonly<Record<FeedbackKind, string>> = { tool: 'tool.jsonl', process: 'process.jsonl' };

/** Longest accepted feedback text, in characters. */
export const MAX_FEEDBACK_CHARS = 10_000;

/** One line of a session's `feedback/<kind>.jsonl`, as orch writes it (snake_case, like the other on-disk formats). */
export interface FeedbackRecord {
  /** When it was recorded, UTC with microseconds and `+00:00`. */
  timestamp: string;
  kind: FeedbackKind;
  /** The feedback itself, as given. */
  text: string;
  session_id: SessionId;
  /** The session's workflow, or null when its state could not be read. */
  workflow_id: string | null;
  /** The phase the workflow was in, or null when unknown. */
  phase_id: string | null;
}


export interface FeedbackAddResult {
  sessionId: SessionId;
  /** The file the record was appended to, relative to the repo root. */
  file: string;
  record: FeedbackRecord;
  /** Non-fatal notes (e.g. the legacy workflow was adopted into a new session to hold the record). */
  warnings: string[];
}

/**
 * Appends a feedback record durably to the session's `feedback/<kind>.jsonl`. With no session and
 * a legacy workflow present, adopts it first (like any change). Fails with `InvalidArgument`,
 * `NoActiveWorkflow`, `SessionNotFound`, `InvalidSessionId`, `StateCorrupt` (legacy state),
 * `LockTimeout` (migration lock).
 */
export const FeedbackAddRequest = new RequestType<FeedbackAddParams, FeedbackAddResult, OrchErrorData>('feedback/add');


/** One feedback record as listed: orch's own, or a line of the older Python tool's root files. */
export interface FeedbackEntry {
  /** `session` for a session's `feedback/`, `legacy` for `.workflow_*_feedback.jsonl` in the repo root. */
  source: StateSource;
  kind: FeedbackKind;
  /** The file, relative to the repo root. */
  file: string;
  /** 1-based line number in that file. */
  line: number;
  /** The record's `timestamp` when it has a string one. */
  timestamp: string | null;
  /** `text` when present; for legacy records, their `learnings` or `message` when non-empty; else null. */
  text: string | null;
  /** The whole record as stored; legacy records have shapes of their own. */
  record: Record<string, unknown>;
}

export interface FeedbackListResult {
  /** The session whose records are listed, or null when there is none (legacy records only). */
  sessionId: SessionId | null;
  /** Legacy records first (file order), then the session's (file order). */
  entries: FeedbackEntry[];
  /** Lines that were not JSON objects (skipped). */
  skippedLines: number;
}

/** Lists the session's feedback and the legacy root files' feedback. Fails with `SessionNotFound`, `InvalidSessionId`, `InvalidArgument`. */
export const FeedbackListRequest = new RequestType<FeedbackListParams, FeedbackListResult, OrchErrorData>('feedback/list');
