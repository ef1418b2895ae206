/**
 * Loading and saving sessions' workflow state: parse + integrity check on the way in,
 * Python-compatible serialisation and whole-line log appends on the way out. One instance per
 * daemon context owns the parsed-state cache (no module state).
 */
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
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

/** Cached parsed states (an LRU bound). */
const STATE_CACHE_MAX = 256;

function fileKey(st: { mtimeNs: bigint; size: bigint; ino: bigint }): string {
  return `${st.mtimeNs}:${st.size}:${st.ino}`;
}

function handOut(loaded: LoadedState): LoadedState {
  return { state: loaded.state, def: loaded.def, warnings: [...loaded.warnings] };
}

/**
 * Sessions' state.json files, with a cache of parsed states by path, each with the identity of the
 * file it came from (or that was just written): (mtime in ns, size, inode). Any outside edit or
 * replacement changes that key, so the file is read and parsed again; otherwise a load costs one
 * stat. Cached states are shared between callers and must never be modified (operations never do).
 */
export class StateFiles {
  private readonly cache = new Map<string, { key: string; loaded: LoadedState }>();

  constructor(
    private readonly store: SessionStore,
    private readonly root: string,
  ) {}

  /** Drops every cached state (tests; the cache is self-validating otherwise). */
  clearCache(): void {
    this.cache.clear();
  }

  private remember(path: string, key: string, loaded: LoadedState): void {
    this.cache.delete(path);
    this.cache.set(path, { key, loaded });
    if (this.cache.size > STATE_CACHE_MAX) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  /** Loads a session's state; null when the session has no state.json yet. */
  async load(id: string): Promise<LoadedState | null> {
    const path = this.store.pathsFor(id).state;
    const cached = this.cache.get(path);
    // Fast path: one synchronous stat of a tiny metadata record (microseconds, no thread-pool hop)
    // answers the common case, an unchanged file already parsed.
    if (cached) {
      try {
        if (fileKey(statSync(path, { bigint: true })) === cached.key) return handOut(cached.loaded);
      } catch {
        // gone or unreadable: the read below says which
      }
    }
    const file = await this.store.readStateFile(id);
    if (file === null) {
      this.cache.delete(path);
      return null;
    }
    const key = fileKey(file.stat);
    if (cached && cached.key === key) {
      this.remember(path, key, cached.loaded);
      return handOut(cached.loaded);
    }
    const { text } = file;
    const label = relative(this.root, path);
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
    this.remember(path, key, loaded);
    return handOut(loaded);
  }

  /**
   * Writes state (bumping `updated_at`, as the Python engine's save does), its list summary, then
   * its events, and returns the state as written. The written state is cached: nobody needs to read
   * it back.
   */
  async save(id: string, state: WorkflowState, events: LogEvent[]): Promise<WorkflowState> {
    const now = new Date();
    const saved: WorkflowState = { ...state, updated_at: utcZ(now) };
    const path = this.store.pathsFor(id).state;
    this.cache.delete(path);
    await this.store.writeStateText(id, serializeState(saved, now));
    // A file with no workflow_definition is never cached.
    if (saved.workflow_definition) {
      this.remember(path, fileKey(await stat(path, { bigint: true })), { state: saved, def: saved.workflow_definition, warnings: [] });
    }
    await this.store.updateMeta(id, { summary: storedSummaryOf(saved, stateKeyOf(path)) }, { durable: false });
    await this.store.appendEvents(id, events);
    return saved;
  }
}
