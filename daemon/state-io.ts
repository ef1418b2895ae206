/**
 * Loading and saving one session's workflow state: parse + integrity check on the way in,
 * Python-compatible serialisation and whole-line log appends on the way out.
 */
import { relative } from 'node:path';
import { parseStateFile, serializeState } from './engine/checksum.js';
import { utcZ } from './engine/time.js';
import type { LogEvent, WorkflowDef, WorkflowState } from './engine/types.js';
import { OrchError } from './errors.js';
import { parseOrQuarantine } from './quarantine.js';
import { stateKeyOf, storedSummaryOf } from './session-summary.js';
import type { SessionStore } from './session-store.js';

export interface LoadedState {
  state: WorkflowState;
  def: WorkflowDef;
  warnings: string[];
}

/** Loads a session's state; null when the session has no state.json yet. */
export async function loadSessionState(store: SessionStore, root: string, id: string): Promise<LoadedState | null> {
  const text = await store.readStateText(id);
  if (text === null) return null;
  const label = relative(root, store.pathsFor(id).state);
  const parsed = await parseOrQuarantine(store.pathsFor(id).state, text, () => parseStateFile(text, label));
  const warnings: string[] = [];
  if (parsed.integrity === 'mismatch') {
    warnings.push(
      `${label} does not match its checksum (stored ${parsed.expected}, content gives ${parsed.actual}): it was changed outside orch. orch uses it as it is and writes a fresh checksum on the next change.`,
    );
  }
  const def = parsed.state.workflow_definition;
  if (!def) {
    throw new OrchError(
      'StateCorrupt',
      `${label} has no workflow_definition, so orch cannot tell which workflow it follows; start a new session with orch start.`,
      { file: label },
    );
  }
  return { state: parsed.state, def, warnings };
}

/** Writes state (bumping `updated_at`, as the Python engine's save does) and then its events. */
export async function saveSessionState(store: SessionStore, id: string, state: WorkflowState, events: LogEvent[]): Promise<WorkflowState> {
  const now = new Date();
  const saved: WorkflowState = { ...state, updated_at: utcZ(now) };
  await store.writeStateText(id, serializeState(saved, now));
  await store.writeSummary(id, { ...storedSummaryOf(saved, stateKeyOf(store.pathsFor(id).state)) });
  await store.appendEvents(id, events);
  return saved;
}
