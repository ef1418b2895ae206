/**
 * The state file's integrity trailer (`src/state_version.py`, reference §2.5) and the file text
 * itself. The checksum is sha256 over Python's default `json.dumps(…, sort_keys=True)` of the state
 * minus the trailer, so it has to be rendered exactly as Python renders it; see pyjson.ts.
 */
import { createHash } from 'node:crypto';
import { OrchError } from '../errors.js';
import { parseLossless, pythonDumps, pythonDumpsAt, toPlain, type DumpOptions } from './pyjson.js';
import { normaliseState } from './state-factory.js';
import { utcOffset } from './time.js';
import type { StateTrailer, WorkflowState } from './types.js';

/** `state_version.STATE_VERSION`; written as `_version`. */
export const STATE_VERSION = '3.0';

const TRAILER_KEYS: ReadonlySet<string> = new Set(['_checksum', '_updated_at', '_version']);

export type Integrity = 'ok' | 'missing' | 'mismatch';

export interface ParsedStateFile {
  /** The state with plain JS numbers and every field present (older files get defaults). */
  state: WorkflowState;
  /** The trailer keys the file had; none for files written before 3.0. */
  trailer: Partial<StateTrailer>;
  /**
   * `missing` when the file has no `_checksum` (Python accepts that silently); `mismatch` when it
   * differs from the recomputed one (Python only warns, and uses the state anyway).
   */
  integrity: Integrity;
  /** The `_checksum` stored in the file, when there is one. */
  expected?: string;
  /** The checksum recomputed from the file's content, when the file has one to compare. */
  actual?: string;
}

/**
 * `compute_state_checksum`: the first 32 hex chars of sha256 over the sorted-keys dump of the
 * state without `_checksum`, `_updated_at` and `_version`. Accepts plain or lossless values.
 */
export function computeChecksum(stateWithoutTrailer: object): string {
  return checksumOf(stateWithoutTrailer, { sortKeys: true });
}

function checksumOf(stateWithoutTrailer: object, opts: DumpOptions): string {
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(stateWithoutTrailer)) {
    if (!TRAILER_KEYS.has(k)) body[k] = v;
  }
  const text = pythonDumps(body, opts);
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 32);
}

/**
 * The two texts of a workflow definition a save writes: sorted on one line (for the checksum) and
 * indented as a value of the state's top level (for the file). The definition is most of a state
 * (40 of 68 KB with 64 items) and the same object from one change to the next (operations share it,
 * ops-common.ts copyState), so it is rendered once per definition object rather than twice per
 * change. Rendering freezes it (deeply): the texts are only right while it never changes, and a
 * change attempted anyway fails loudly (a TypeError in strict code) instead of writing stale text.
 */
const definitionTexts = new WeakMap<object, { sorted: string; indented: string }>();

function definitionTextsOf(def: object): { sorted: string; indented: string } {
  let texts = definitionTexts.get(def);
  if (texts === undefined) {
    deepFreeze(def);
    texts = { sorted: pythonDumps(def, { sortKeys: true }), indented: pythonDumpsAt(def, { indent: 2 }, 1) };
    definitionTexts.set(def, texts);
  }
  return texts;
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/**
 * The full `state.json` text as the Python engine's save writes it: `indent=2`, the state's own key
 * order, then `_version`, `_checksum` and `_updated_at`, with no trailing newline. This does not
 * bump `state.updated_at`; the caller does that before saving, as `engine.save_state` does.
 * `updatedAt` may be a Date (formatted with microseconds) or a ready string used verbatim.
 */
export function serializeState(state: WorkflowState, updatedAt: Date | string = new Date()): string {
  const def = state.workflow_definition;
  const texts = def !== null && typeof def === 'object' ? definitionTextsOf(def) : null;
  const trailer: StateTrailer = {
    _version: STATE_VERSION,
    _checksum: checksumOf(state, { sortKeys: true, reuse: texts ? { value: def as object, text: texts.sorted } : undefined }),
    _updated_at: typeof updatedAt === 'string' ? updatedAt : utcOffset(updatedAt),
  };
  return pythonDumps({ ...state, ...trailer }, { indent: 2, reuse: texts ? { value: def as object, text: texts.indented, level: 1 } : undefined });
}

/**
 * Reads a state file's text. The checksum is recomputed over the lossless parse, so numbers keep
 * their Python text. Throws `StateCorrupt` for invalid JSON or content that is not a workflow state.
 */
export function parseStateFile(text: string, fileLabel: string): ParsedStateFile {
  const raw = parseJsonOrThrow(text, fileLabel);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new OrchError('StateCorrupt', `${fileLabel} does not hold a JSON object, so it is not a workflow state.`, {
      file: fileLabel,
    });
  }
  const record = raw as Record<string, unknown>;
  const trailer: Partial<StateTrailer> = {};
  for (const key of ['_version', '_checksum', '_updated_at'] as const) {
    if (typeof record[key] === 'string') trailer[key] = record[key];
  }
  const state = normaliseState(toPlain(record) as Record<string, unknown>, fileLabel);
  if (!('_checksum' in record)) return { state, trailer, integrity: 'missing' };
  const actual = computeChecksum(record);
  const expected = typeof record._checksum === 'string' ? record._checksum : String(record._checksum);
  return { state, trailer, integrity: expected === actual ? 'ok' : 'mismatch', expected, actual };
}

function parseJsonOrThrow(text: string, fileLabel: string): unknown {
  try {
    return parseLossless(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const where = describePosition(text, message);
    throw new OrchError('StateCorrupt', `${fileLabel} is not valid JSON${where}: ${message}.`, {
      file: fileLabel,
    });
  }
}

// lossless-json reports a character offset ("at position 15"); people need line and column.
function describePosition(text: string, message: string): string {
  const match = /position (\d+)/.exec(message);
  if (!match) return '';
  const offset = Math.min(Number(match[1]), text.length);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}
