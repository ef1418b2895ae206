/**
 * `.orchestrator/session-index.jsonl`: the summaries `orch sessions` lists, one JSON line per
 * session after a one-line header, so a daemon (or a no-daemon command) lists 10,000 sessions from
 * one read instead of 10,000 meta.json files. It is a cache and never the only copy of anything:
 * every line carries the `<mtimeMs>:<size>` of the state.json it was made from and is believed only
 * while that still matches; which sessions exist is always taken from the session folders, never
 * from this file. A missing, corrupt or foreign file is rebuilt from the folders.
 *
 * Each line starts with the session's id, its created time as a number and its state key, in that
 * order, so loading 10,000 lines reads those three with one regular expression per line and keeps
 * the rest as text: the whole line is parsed (and checked) only when its row is shown.
 *
 * Append-friendly: a change appends the session's new line (no fsync; later lines win, a `gone`
 * line drops a session) and the file is rewritten whole, atomically, when it holds many more lines
 * than sessions. It is per checkout: in portable mode it is git-ignored (repo-meta.ts), and sessions
 * that arrive from a pull are found through the session folders.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { RepoPaths } from '../../protocol/node/paths.js';
import { readFileNoFollow } from '../../protocol/node/safe-fs.js';
import type { ProgressCount, WorkflowStatus } from '../../protocol/session.js';
import { parseTime } from '../engine/time.js';
import { appendCache, writeCache } from './durable-write.js';

export const INDEX_FILE_NAME = 'session-index.jsonl';
const FORMAT = 2;
const HEADER = JSON.stringify({ orch_session_index: FORMAT });
/** A larger file is not read (10,000 sessions take about 3 MB): it is rebuilt. */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;
const STATUSES = new Set<string>(['active', 'completed', 'abandoned', 'paused', 'unknown']);

/** One session's row, as listed, with the key of the state file it was made from. */
export interface IndexedSummary {
  /** `<mtimeMs>:<size>` of state.json when this was made ('none': there was none). */
  key: string;
  createdAt: string | null;
  task: string | null;
  status: WorkflowStatus | 'unknown';
  phase: string | null;
  progress: ProgressCount | null;
  workflowId: string | null;
  repoRoot: string | null;
  error?: string;
}

export function indexFilePath(paths: RepoPaths): string {
  return join(paths.orchDir, INDEX_FILE_NAME);
}

const strOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

function progressOf(v: unknown): ProgressCount | null | undefined {
  if (v === null) return null;
  const p = v as Partial<ProgressCount> | undefined;
  if (typeof p !== 'object' || typeof p.completed !== 'number' || typeof p.total !== 'number') return undefined;
  return { completed: p.completed, total: p.total };
}

/** A line's summary, or null when any field is not what orch writes (the line is then ignored). */
function summaryOf(o: Record<string, unknown>): IndexedSummary | null {
  const progress = progressOf(o.progress);
  if (typeof o.key !== 'string' || progress === undefined || typeof o.status !== 'string' || !STATUSES.has(o.status)) return null;
  if (!strOrNull(o.created_at) || !strOrNull(o.task) || !strOrNull(o.phase) || !strOrNull(o.workflow_id) || !strOrNull(o.repo_root)) return null;
  if (o.error !== undefined && typeof o.error !== 'string') return null;
  const s: IndexedSummary = {
    key: o.key,
    createdAt: o.created_at,
    task: o.task,
    status: o.status as IndexedSummary['status'],
    phase: o.phase,
    progress,
    workflowId: o.workflow_id,
    repoRoot: o.repo_root,
  };
  if (typeof o.error === 'string') s.error = o.error;
  return s;
}

/** A row's `createdAt` as a number, for sorting (0 when unknown). */
export function createdMs(row: { createdAt: string | null }): number {
  return parseTime(row.createdAt) || 0;
}

export function entryLine(id: string, s: IndexedSummary): string {
  const o: Record<string, unknown> = {
    id, t: createdMs(s), key: s.key, created_at: s.createdAt, task: s.task, status: s.status, phase: s.phase,
    progress: s.progress, workflow_id: s.workflowId, repo_root: s.repoRoot,
  };
  if (s.error !== undefined) o.error = s.error;
  return JSON.stringify(o);
}

export function goneLine(id: string): string {
  return JSON.stringify({ id, gone: true });
}

/** A stored line as loaded: what sorting and checking need, and the line itself, parsed only when shown. */
export interface StoredLine {
  t: number;
  key: string;
  line: string;
}

/** The start of every line orch writes: a gone line whole, or id (a session id's form), created time and key. */
const LINE_HEAD = /^\{"id":"([0-9a-f]{8})",(?:"gone":true\}$|"t":(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?),"key":"([^"\\]{1,100})",)/;

/** A stored line's summary, or null when it does not parse or a field is not what orch writes. */
export function parseLine(line: string): IndexedSummary | null {
  try {
    const o = JSON.parse(line) as unknown;
    return typeof o === 'object' && o !== null ? summaryOf(o as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export interface LoadedIndex {
  entries: Map<string, StoredLine>;
  /** Lines after the header (to decide when to compact). */
  lines: number;
  /** Lines that were not understood (a torn append, an edit): the file is rewritten. */
  junk: number;
}

/** The index as stored, or null when it is missing, too large, or not one orch wrote (wrong header). */
export async function readIndexFile(path: string): Promise<LoadedIndex | null> {
  let text: string;
  try {
    const st = lstatSync(path);
    if (!st.isFile() || st.size > MAX_INDEX_BYTES) return null;
    text = await readFileNoFollow(path);
  } catch {
    return null;
  }
  const lines = text.split('\n');
  if (lines[0] !== HEADER) return null;
  const entries = new Map<string, StoredLine>();
  let count = 0;
  let junk = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    count++;
    const m = LINE_HEAD.exec(line);
    if (m === null || !line.endsWith('}')) {
      junk++;
      continue;
    }
    if (m[2] === undefined) entries.delete(m[1]);
    else entries.set(m[1], { t: Number(m[2]), key: m[3]!, line });
  }
  return { entries, lines: count, junk };
}

/** Replaces the whole file atomically (no fsync: a lost or stale copy is detected and rebuilt). */
export async function writeIndexFile(path: string, lines: Iterable<string>): Promise<void> {
  const out = [HEADER, ...lines];
  await writeCache(path, out.join('\n') + '\n');
}

/** Appends lines to an existing index file. */
export async function appendIndexLines(path: string, lines: string[]): Promise<void> {
  await appendCache(path, lines);
}
