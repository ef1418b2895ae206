/**
 * The small summary of a session that `orch sessions` lists, kept in the session's meta.json
 * under `summary` so that listing 10,000 sessions never parses 10,000 state files (each embeds
 * its whole workflow definition). It carries the (mtime, size) of the state.json it describes;
 * a summary whose key no longer matches the file (an outside edit, a crash between the two
 * writes) is ignored and rebuilt from the state.
 */
import { statSync } from 'node:fs';
import type { ProgressCount, WorkflowStatus } from '../../protocol/session.js';
import { summarizeForList } from '../engine/status-view.js';
import type { WorkflowState } from '../engine/types.js';

export interface StoredSummary {
  task: string;
  status: WorkflowStatus;
  phase: string;
  progress: ProgressCount;
  workflow_id: string;
  /** `<mtimeMs>:<size>` of the state.json this summary was made from. */
  state_key: string;
}

/** The cache key of a state file, or 'none' when it does not exist. */
export function stateKeyOf(path: string): string {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}`;
  } catch {
    return 'none';
  }
}

export function storedSummaryOf(state: WorkflowState, stateKey: string): StoredSummary {
  const s = summarizeForList(state);
  return {
    task: s.task,
    status: s.status as WorkflowStatus,
    phase: s.phase,
    progress: s.progress,
    workflow_id: state.workflow_id,
    state_key: stateKey,
  };
}

/** A stored summary from meta.json, if it is well-formed and made from the state file as it is now. */
export function validSummary(value: unknown, stateKey: string): StoredSummary | null {
  if (typeof value !== 'object' || value === null) return null;
  const s = value as Partial<StoredSummary>;
  if (s.state_key !== stateKey || typeof s.task !== 'string' || typeof s.phase !== 'string') return null;
  if (typeof s.progress !== 'object' || s.progress === null) return null;
  return s as StoredSummary;
}
