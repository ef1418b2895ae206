/**
 * One session changed in two clones, found and described (portable mode). git merges what each
 * clone appended to `log.jsonl` (`merge=union`, .orchestrator/.gitattributes), but two versions of
 * a state cannot be combined: either `state.json` holds git's conflict markers, or it holds one
 * version while the log holds the events of both. To tell the second case, every state orch
 * saves in portable mode records the log it reflects ({@link SyncRecord}, in the state's
 * `metadata`, which the Python tool keeps as it is): its length in bytes and a hash of its last
 * line, plus the clone that wrote it. A state whose log no longer ends there is not what that
 * clone wrote.
 */
import { createHash } from 'node:crypto';
import { constants, lstatSync } from 'node:fs';
import type { SessionPaths } from '../../protocol/node/paths.js';
import { openNoFollow, readFileNoFollow } from '../../protocol/node/safe-fs.js';
import { parseStateFile } from '../engine/checksum.js';
import { summarizeForList } from '../engine/status-view.js';
import type { WorkflowState } from '../engine/types.js';
import { OrchError } from '../errors.js';
import { unmergedVersions } from './git-dir.js';

/** The key of the record in `state.metadata`. */
export const SYNC_KEY = 'orch_sync';

/** What a state saved in portable mode says about its log and its writer. */
export interface SyncRecord {
  /** The clone that wrote this state (clone.json's id). */
  clone: string;
  /** log.jsonl's length in bytes right after this state's events were appended. */
  log_bytes: number;
  /** First 16 hex characters of the sha256 of log.jsonl's last line (without its newline); '' for an empty log. */
  log_tail: string;
  /** The state's own `updated_at`: a state saved since by another tool (which keeps metadata as it is) has another one, and is not checked. */
  updated_at: string;
}

export function syncRecordOf(state: WorkflowState): SyncRecord | null {
  const r = state.metadata?.[SYNC_KEY] as Partial<SyncRecord> | undefined;
  if (!r || typeof r !== 'object') return null;
  if (typeof r.clone !== 'string' || typeof r.log_bytes !== 'number' || typeof r.log_tail !== 'string' || typeof r.updated_at !== 'string') return null;
  return r as SyncRecord;
}

export function lineHash(line: string | Buffer): string {
  return createHash('sha256').update(line).digest('hex').slice(0, 16);
}

/** The hash of the last line of `log` (bytes), '' when empty. */
export function lastLineHash(log: Buffer): string {
  let end = log.length;
  while (end > 0 && log[end - 1] === 0x0a) end -= 1;
  if (end === 0) return '';
  const start = log.lastIndexOf(0x0a, end - 1) + 1;
  return lineHash(log.subarray(start, end));
}

/** The hash of the last line of the file at `path` whose length is `size` (reads at most the last 1 MiB). */
export async function lastLineHashOfFile(path: string, size: number): Promise<string> {
  if (size <= 0) return '';
  const n = Math.min(size, 1024 * 1024);
  const handle = await openNoFollow(path, constants.O_RDONLY);
  try {
    const buf = Buffer.alloc(n);
    await handle.read(buf, 0, n, size - n);
    return lastLineHash(buf);
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Conflict markers

const OURS = /^<{7}(?: |$)/;
const BASE = /^\|{7}(?: |$)/;
const MID = /^={7}\s*$/;
const THEIRS = /^>{7}(?: |$)/;

/** True when `text` holds git's conflict markers (a JSON file orch wrote never has a line starting so). */
export function hasConflictMarkers(text: string): boolean {
  return /^<{7}(?: |$)/m.test(text) && /^>{7}(?: |$)/m.test(text);
}

/**
 * The two sides of a file with conflict markers (default and diff3/zdiff3 styles): lines outside
 * the conflicts go to both. Hunks git merged by itself are in both, so a side rebuilt this way is
 * exact only where git could not merge; git's own copies (git-dir.ts unmergedVersions) are exact.
 */
export function splitConflict(text: string): { ours: string; theirs: string } | null {
  if (!hasConflictMarkers(text)) return null;
  const lines = text.split(/(?<=\n)/);
  let ours = '';
  let theirs = '';
  let where: 'both' | 'ours' | 'base' | 'theirs' = 'both';
  for (const line of lines) {
    const bare = line.replace(/\r?\n$/, '');
    if (where === 'both' && OURS.test(bare)) where = 'ours';
    else if (where === 'ours' && BASE.test(bare)) where = 'base';
    else if ((where === 'ours' || where === 'base') && MID.test(bare)) where = 'theirs';
    else if (where === 'theirs' && THEIRS.test(bare)) where = 'both';
    else if (where === 'both') {
      ours += line;
      theirs += line;
    } else if (where === 'ours') ours += line;
    else if (where === 'theirs') theirs += line;
  }
  if (where !== 'both') return null;
  return { ours, theirs };
}

/** One version's phase and progress, for messages. */
export interface VersionSummary {
  phase: string | null;
  status: string | null;
  progress: string | null;
  updatedAt: string | null;
  /** Set when the version does not parse. */
  error?: string;
}

export function summarizeVersion(text: string | null, label: string): VersionSummary | null {
  if (text === null) return null;
  try {
    const { state } = parseStateFile(text, label);
    const s = summarizeForList(state);
    return { phase: s.phase, status: s.status, progress: `${s.progress.completed}/${s.progress.total}`, updatedAt: state.updated_at };
  } catch (err) {
    return { phase: null, status: null, progress: null, updatedAt: null, error: err instanceof Error ? err.message : String(err) };
  }
}

function describe(v: VersionSummary | null): string {
  if (v === null) return 'not available';
  if (v.error !== undefined) return `unreadable (${v.error.replace(/\.$/, '')})`;
  return `phase ${v.phase}, ${v.progress} items done, ${v.status}, updated ${v.updatedAt}`;
}

function resolveHint(id: string): string {
  return `keep one with orch sessions resolve ${id} --keep ours (or --keep theirs); the other version is kept beside it, nothing is lost`;
}

/**
 * The error for a state.json with conflict markers. Each side is described from git's own copy
 * while the merge is under way (exact), else from the markers (hunks git merged by itself show on
 * both sides then).
 */
export async function markersError(id: string, label: string, text: string, root: string, path: string): Promise<OrchError> {
  const staged = await unmergedVersions(root, path);
  const sides = staged && (staged.ours !== null || staged.theirs !== null) ? staged : splitConflict(text);
  const ours = summarizeVersion(sides?.ours ?? null, `${label} (ours)`);
  const theirs = summarizeVersion(sides?.theirs ?? null, `${label} (theirs)`);
  return new OrchError(
    'SessionConflict',
    `Session ${id} was changed in two clones and git could not merge it: ${label} has conflict markers. ` +
      `Ours: ${describe(ours)}. Theirs: ${describe(theirs)}. To go on, ${resolveHint(id)}.`,
    conflictDetails(id, 'markers', ours, theirs),
  );
}

function conflictDetails(id: string, kind: string, ours: VersionSummary | null, theirs: VersionSummary | null): Record<string, string | null> {
  return {
    sessionId: id,
    conflict: kind,
    oursPhase: ours?.phase ?? null,
    oursProgress: ours?.progress ?? null,
    theirsPhase: theirs?.phase ?? null,
    theirsProgress: theirs?.progress ?? null,
    fix: `orch sessions resolve ${id} --keep ours`,
  };
}

/** How a state's log disagrees with it, or null when it agrees (or cannot be checked). */
export interface LogDisagreement {
  recordBytes: number;
  logBytes: number;
  /** Event types of the lines past the recorded end (when the log grew), oldest first. */
  extra: string[];
}

/**
 * Checks `state` (just parsed from `sp.state`) against its log through its {@link SyncRecord}. A
 * log that grew past the record while `commit.pending` says a change of this very state was under
 * way is a crash between the two writes (state-file.ts reconcileLog), not a conflict.
 */
export async function checkLog(sp: SessionPaths, state: WorkflowState): Promise<LogDisagreement | null> {
  const rec = syncRecordOf(state);
  if (rec === null || rec.updated_at !== state.updated_at) return null;
  let size = 0;
  try {
    size = lstatSync(sp.log).size;
  } catch {
    size = 0;
  }
  if (size === rec.log_bytes) return null;
  if (size > rec.log_bytes) {
    try {
      const pending = JSON.parse(await readFileNoFollow(sp.pending)) as { log_size?: unknown };
      if (pending.log_size === rec.log_bytes) return null;
    } catch {
      // no record of a change under way
    }
  }
  const extra: string[] = [];
  if (size > rec.log_bytes && size - rec.log_bytes <= 4 * 1024 * 1024) {
    const handle = await openNoFollow(sp.log, constants.O_RDONLY);
    try {
      const buf = Buffer.alloc(size - rec.log_bytes);
      await handle.read(buf, 0, buf.length, rec.log_bytes);
      for (const line of buf.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          const e = JSON.parse(line) as { event_type?: unknown; item_id?: unknown };
          extra.push(`${String(e.event_type ?? '?')}${typeof e.item_id === 'string' ? ` ${e.item_id}` : ''}`);
        } catch {
          extra.push('a line that is not JSON');
        }
      }
    } finally {
      await handle.close();
    }
  }
  return { recordBytes: rec.log_bytes, logBytes: size, extra };
}

/** The error for a state whose log holds more (or less) than the state reflects. */
export function logError(id: string, label: string, logLabel: string, state: WorkflowState, d: LogDisagreement): OrchError {
  const s = summarizeForList(state);
  const ours: VersionSummary = { phase: s.phase, status: s.status, progress: `${s.progress.completed}/${s.progress.total}`, updatedAt: state.updated_at };
  const shown = d.extra.slice(0, 5).join(', ') + (d.extra.length > 5 ? `, … (${d.extra.length} in all)` : '');
  const what =
    d.logBytes > d.recordBytes
      ? `${logLabel} has ${d.extra.length || 'some'} event(s) this state never saw (${shown || 'unreadable'}): another clone changed the session too and git combined the two logs`
      : `${logLabel} is ${d.logBytes} bytes, shorter than the ${d.recordBytes} this state was saved with: lines were lost or another version of the log was checked out`;
  return new OrchError(
    'SessionConflict',
    `Session ${id} was changed in two clones: ${label} does not match its log. ${what}. ` +
      `This state (ours): ${describe(ours)}. Theirs: only in the log (and in git while the merge is under way). To go on, ${resolveHint(id)}.`,
    conflictDetails(id, 'log', ours, null),
  );
}
