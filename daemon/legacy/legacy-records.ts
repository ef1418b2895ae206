/**
 * The older Python tool's records, read-only and tolerant: its event log, checkpoints and feedback
 * files. Lines and files that do not parse are skipped (and counted), as the Python readers did;
 * missing fields get defaults, since older versions wrote fewer of them.
 */
import { readFileNoFollow } from '../../protocol/node/safe-fs.js';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeedbackEntry, FeedbackKind } from '../../protocol/feedback.js';
import type { RepoPaths } from '../../protocol/node/paths.js';
import type { CheckpointSummary, LogEventView } from '../../protocol/workflow.js';
import { labelOf } from './legacy-state.js';

export interface JsonLines {
  rows: { line: number; value: Record<string, unknown> }[];
  /** Non-empty lines that are not JSON objects. */
  skipped: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Reads a JSONL file; an absent file is empty. */
export async function readJsonLines(file: string): Promise<JsonLines> {
  let text: string;
  try {
    // Not through a link: what a link points at is outside what orch reads.
    text = await readFileNoFollow(file);
  } catch {
    return { rows: [], skipped: 0 };
  }
  const out: JsonLines = { rows: [], skipped: 0 };
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      const value: unknown = JSON.parse(raw);
      if (isRecord(value)) out.rows.push({ line: i + 1, value });
      else out.skipped += 1;
    } catch {
      out.skipped += 1;
    }
  });
  return out;
}

function toEventView(r: Record<string, unknown>): LogEventView {
  return {
    timestamp: str(r.timestamp) ?? '',
    event_type: str(r.event_type) ?? 'unknown',
    workflow_id: str(r.workflow_id) ?? '',
    phase_id: str(r.phase_id),
    item_id: str(r.item_id),
    message: str(r.message) ?? '',
    details: isRecord(r.details) ? r.details : {},
    actor: str(r.actor) ?? 'system',
  };
}

/** The last `limit` events of `.workflow_log.jsonl` (oldest first), and how many lines were skipped. */
export async function readLegacyEvents(paths: RepoPaths, limit: number): Promise<{ events: LogEventView[]; skippedLines: number }> {
  const { rows, skipped } = await readJsonLines(paths.legacy.log);
  const events = rows.map((r) => toEventView(r.value));
  return { events: limit > 0 ? events.slice(-limit) : [], skippedLines: skipped };
}

function toCheckpointSummary(value: Record<string, unknown>, name: string, path: string): CheckpointSummary {
  const summary: CheckpointSummary = {
    checkpointId: str(value.checkpoint_id) ?? name.replace(/\.json$/, ''),
    phaseId: str(value.phase_id) ?? '',
    timestamp: str(value.timestamp) ?? '',
    message: str(value.message),
    decisions: strings(value.key_decisions),
    files: strings(value.file_manifest),
    path,
  };
  // Absent stays absent: older files did not write these (e.g. parent_checkpoint_id before V3).
  if ('item_id' in value) summary.itemId = str(value.item_id);
  if ('context_summary' in value) summary.contextSummary = str(value.context_summary);
  if ('parent_checkpoint_id' in value) summary.parentCheckpointId = str(value.parent_checkpoint_id);
  return summary;
}

/** The checkpoints in `.workflow_checkpoints/`, oldest first; unreadable files are skipped. */
export async function listLegacyCheckpoints(paths: RepoPaths): Promise<CheckpointSummary[]> {
  let names: string[];
  try {
    names = (await readdir(paths.legacy.checkpoints)).filter((n) => /^cp_.*\.json$/.test(n));
  } catch {
    return [];
  }
  const found = await Promise.all(
    names.map(async (name) => {
      const abs = join(paths.legacy.checkpoints, name);
      try {
        const value: unknown = JSON.parse(await readFile(abs, 'utf8'));
        return isRecord(value) ? toCheckpointSummary(value, name, labelOf(paths, abs)) : null;
      } catch {
        return null;
      }
    }),
  );
  const list = found.filter((c): c is CheckpointSummary => c !== null);
  return list.sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.checkpointId.localeCompare(b.checkpointId));
}

/** A record's text: `text`, else (legacy shapes) non-empty `learnings` or `message`. */
export function feedbackText(r: Record<string, unknown>): string | null {
  for (const key of ['text', 'learnings', 'message']) {
    const v = r[key];
    if (typeof v === 'string' && v.trim() !== '') return v;
  }
  return null;
}

/** Feedback entries of one JSONL file. */
export async function feedbackEntries(
  paths: RepoPaths,
  file: string,
  kind: FeedbackKind,
  source: FeedbackEntry['source'],
): Promise<{ entries: FeedbackEntry[]; skipped: number }> {
  const { rows, skipped } = await readJsonLines(file);
  const label = labelOf(paths, file);
  const entries = rows.map(({ line, value }) => ({ source, kind, file: label, line, timestamp: str(value.timestamp), text: feedbackText(value), record: value }));
  return { entries, skipped };
}

/** The records of `.workflow_tool_feedback.jsonl` and `.workflow_process_feedback.jsonl` (or one kind). */
export async function readLegacyFeedback(paths: RepoPaths, kind?: FeedbackKind): Promise<{ entries: FeedbackEntry[]; skipped: number }> {
  const files: [FeedbackKind, string][] = [
    ['tool', paths.legacy.toolFeedback],
    ['process', paths.legacy.processFeedback],
  ];
  const parts = await Promise.all(files.filter(([k]) => kind === undefined || k === kind).map(([k, f]) => feedbackEntries(paths, f, k, 'legacy')));
  return { entries: parts.flatMap((p) => p.entries), skipped: parts.reduce((n, p) => n + p.skipped, 0) };
}
