/**
 * Loading and saving one session's workflow state: parse + integrity check on the way in,
 * Python-compatible serialisation and whole-line log appends on the way out.
 */
import { open, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { relative } from 'node:path';
import { parseStateFile, serializeState } from '../engine/checksum.js';
import { utcZ } from '../engine/time.js';
import type { LogEvent, WorkflowDef, WorkflowState } from '../engine/types.js';
import { OrchError } from '../errors.js';
import { parseOrQuarantine } from './quarantine.js';
import { stateKeyOf, storedSummaryOf } from './session-summary.js';
import type { SessionStore } from './session-store.js';

export interface LoadedState {
  state: WorkflowState;
  def: WorkflowDef;
  warnings: string[];
}

/**
 * Parsed states by state.json path, each with the identity of the file it came from (or that was
 * just written): (mtime in ns, size, inode). Any outside edit or replacement changes that key, so
 * the file is read and parsed again; otherwise a load costs one open + fstat. Bounded LRU.
 * Cached states are shared between callers and must never be modified (operations never do).
 */
const STATE_CACHE_MAX = 256;
const stateCache = new Map<string, { key: string; loaded: LoadedState }>();

function fileKey(st: { mtimeNs: bigint; size: bigint; ino: bigint }): string {
  return `${st.mtimeNs}:${st.size}:${st.ino}`;
}

function remember(path: string, key: string, loaded: LoadedState): void {
  stateCache.delete(path);
  stateCache.set(path, { key, loaded });
  if (stateCache.size > STATE_CACHE_MAX) {
    const oldest = stateCache.keys().next().value;
    if (oldest !== undefined) stateCache.delete(oldest);
  }
}

function handOut(loaded: LoadedState): LoadedState {
  return { state: loaded.state, def: loaded.def, warnings: [...loaded.warnings] };
}

/** Drops every cached state (tests; the cache is self-validating otherwise). */
export function clearStateCache(): void {
  stateCache.clear();
}

/**
 * Opens state.json and takes the identity of the very file opened: a cache hit for it, or its text.
 * Null when there is no state.json.
 */
async function readStateFile(path: string): Promise<{ key: string; hit: LoadedState } | { key: string; text: string } | null> {
  // Fast path: one synchronous stat of a tiny metadata record (microseconds, no thread-pool hop)
  // answers the common case, an unchanged file already parsed.
  const cached = stateCache.get(path);
  if (cached) {
    try {
      if (fileKey(statSync(path, { bigint: true })) === cached.key) return { key: cached.key, hit: cached.loaded };
    } catch {
      // gone or unreadable: the slow path below says which
    }
  }
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const key = fileKey(await handle.stat({ bigint: true }));
    if (cached && cached.key === key) return { key, hit: cached.loaded };
    return { key, text: await handle.readFile('utf8') };
  } finally {
    await handle.close();
  }
}

/** Loads a session's state; null when the session has no state.json yet. */
export async function loadSessionState(store: SessionStore, root: string, id: string): Promise<LoadedState | null> {
  const path = store.pathsFor(id).state;
  const file = await readStateFile(path);
  if (file === null) {
    stateCache.delete(path);
    return null;
  }
  if ('hit' in file) {
    remember(path, file.key, file.hit);
    return handOut(file.hit);
  }
  const { text } = file;
  const label = relative(root, path);
  const parsed = await parseOrQuarantine(path, text, () => parseStateFile(text, label));
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
  const loaded: LoadedState = { state: parsed.state, def, warnings };
  remember(path, file.key, loaded);
  return handOut(loaded);
}

/** Writes state (bumping `updated_at`, as the Python engine's save does) and then its events. */
export async function saveSessionState(store: SessionStore, id: string, state: WorkflowState, events: LogEvent[]): Promise<WorkflowState> {
  const now = new Date();
  const saved: WorkflowState = { ...state, updated_at: utcZ(now) };
  const path = store.pathsFor(id).state;
  stateCache.delete(path);
  await store.writeStateText(id, serializeState(saved, now));
  // What was just written needs no re-read; a file with no workflow_definition is never cached.
  if (saved.workflow_definition) {
    remember(path, fileKey(await stat(path, { bigint: true })), { state: saved, def: saved.workflow_definition, warnings: [] });
  }
  await store.updateMeta(id, { summary: storedSummaryOf(saved, stateKeyOf(store.pathsFor(id).state)) }, { durable: false });
  await store.appendEvents(id, events);
  return saved;
}
