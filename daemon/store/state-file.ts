/**
 * Loading and saving sessions' workflow state: parse + integrity check on the way in,
 * Python-compatible serialisation and whole-line log appends on the way out. One instance per
 * daemon context owns the parsed-state cache (no module state).
 */
import { constants, lstatSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { relative } from 'node:path';
import type { SessionPaths } from '../../protocol/node/paths.js';
import { assertNoLinks, openNoFollow, readFileNoFollow } from '../../protocol/node/safe-fs.js';
import { withPath, writeDurable } from './durable-write.js';
import { parseStateFile, serializeState } from '../engine/checksum.js';
import { utcZ } from '../engine/time.js';
import { pythonDumps } from '../engine/pyjson.js';
import type { LogEvent, WorkflowDef, WorkflowState } from '../engine/types.js';
import { OrchError } from '../errors.js';
import { parseOrQuarantine } from './quarantine.js';
import { checkLog, hasConflictMarkers, lastLineHashOfFile, lineHash, logError, markersError, SYNC_KEY, syncRecordOf, type SyncRecord } from './session-conflict.js';
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
/**
 * Portable mode's bookkeeping: whether the repo is portable now, and this clone's id (both asked
 * at each save; see session-conflict.ts). Absent (tests, no repo): states are saved as in normal mode.
 */
export interface SyncSource {
  portable(): boolean;
  cloneId(): Promise<string>;
}

export class StateFiles {
  private readonly cache = new Map<string, { key: string; loaded: LoadedState }>();

  constructor(
    private readonly store: SessionStore,
    private readonly root: string,
    private readonly sync?: SyncSource,
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

  /**
   * Called after each save with the state as written and its file's list key (the session index
   * records it); set once by the daemon context.
   */
  afterSave: ((id: string, state: WorkflowState, stateKey: string) => Promise<void>) | null = null;

  /**
   * Loads a session's state; null when the session has no state.json yet. `remember: false` parses
   * a file that is not cached without caching it (a summary of a finished session for the list).
   */
  async load(id: string, opts: { remember?: boolean } = {}): Promise<LoadedState | null> {
    const path = this.store.pathsFor(id).state;
    const cached = this.cache.get(path);
    // Fast path: one synchronous stat of a tiny metadata record (microseconds, no thread-pool hop)
    // answers the common case, an unchanged file already parsed.
    if (cached) {
      try {
        if (fileKey(lstatSync(path, { bigint: true })) === cached.key) return handOut(cached.loaded);
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
    // A session changed in two clones is never read as one of them, nor moved aside as corrupt.
    if (hasConflictMarkers(text)) throw await markersError(id, label, text, this.root, path);
    const parsed = await parseOrQuarantine(path, text, () => parseStateFile(text, label));
    const sp = this.store.pathsFor(id);
    const disagreement = await checkLog(sp, parsed.state);
    if (disagreement) throw logError(id, label, relative(this.root, sp.log), parsed.state, disagreement);
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
    if (opts.remember !== false) this.remember(path, key, loaded);
    return handOut(loaded);
  }

  /**
   * Saves a change: its events, then its state (bumping `updated_at`, as the Python engine's save
   * does), then its list summary, and returns the state as written (cached: nobody reads it back).
   * Both or neither, as far as a crash allows:
   *  1. every file it touches is checked first (no link anywhere: protocol/node/safe-fs.ts), so a
   *     refusal leaves nothing changed;
   *  2. `commit.pending` records where log.jsonl ends now and the `updated_at` the new state will
   *     carry ({@link writePending});
   *  3. the events are appended to log.jsonl and fsynced;
   *  4. state.json is replaced atomically and durably; only then is anyone answered.
   * A failure in 3 or 4 cuts the log back at once. A crash between 3 and 4 (kill -9) leaves log
   * lines that state.json does not reflect, for a change nobody was told succeeded: the next writer
   * to load the session finds them through the record of step 2 and moves them aside
   * ({@link reconcileLog}). The record survives a killed process; after a power cut it may be lost
   * (it is not fsynced), and then such lines would stay.
   * The log goes first because its lines can be identified and set aside afterwards, whereas a
   * state.json written without its events could not be told apart from one edited by hand.
   */
  async save(id: string, state: WorkflowState, events: LogEvent[]): Promise<WorkflowState> {
    const sp = this.store.pathsFor(id);
    for (const file of [sp.state, sp.log, sp.meta, sp.pending]) assertNoLinks(file);
    const now = new Date();
    let saved: WorkflowState = { ...state, updated_at: utcZ(now) };
    const logSize = sizeOf(sp.log);
    if (this.sync?.portable()) saved = await this.withSyncRecord(sp, saved, events, logSize);
    // As bytes at once: the 68 KB string would otherwise live on V8's heap across the awaits below
    // and be copied by each young-generation collection meanwhile; the buffer lives outside it.
    const text = Buffer.from(serializeState(saved, now), 'utf8');
    const path = sp.state;
    this.cache.delete(path);
    if (events.length > 0) {
      const previous = await readFileNoFollow(sp.pending).catch(() => null);
      await writePending(sp.pending, { log_size: logSize, state_updated_at: saved.updated_at });
      try {
        await this.store.appendEvents(id, events);
        crashForTest('log');
        await this.store.writeStateText(id, text);
      } catch (err) {
        // A refused change leaves every file as it was (the record too: on a full disk an
        // in-place write of the same length still succeeds).
        await truncateLog(sp.log, logSize).catch(() => undefined);
        await restorePending(sp.pending, previous).catch(() => undefined);
        throw err;
      }
    } else {
      await this.store.writeStateText(id, text);
    }
    // A file with no workflow_definition is never cached.
    if (saved.workflow_definition) {
      this.remember(path, fileKey(await stat(path, { bigint: true })), { state: saved, def: saved.workflow_definition, warnings: [] });
    }
    const stateKey = stateKeyOf(sp.state);
    await this.store.updateMeta(id, { summary: storedSummaryOf(saved, stateKey) }, { durable: false });
    await this.afterSave?.(id, saved, stateKey);
    return saved;
  }

  /** `state` with the record of the log it reflects once `events` are appended, and of this clone as its writer. */
  private async withSyncRecord(sp: SessionPaths, state: WorkflowState, events: LogEvent[], logSize: number): Promise<WorkflowState> {
    const lines = events.map((e) => pythonDumps(e));
    const last = lines[lines.length - 1];
    const record: SyncRecord = {
      clone: await this.sync!.cloneId(),
      log_bytes: logSize + lines.reduce((n, l) => n + Buffer.byteLength(l, 'utf8') + 1, 0),
      log_tail: last !== undefined ? lineHash(last) : await lastLineHashOfFile(sp.log, logSize),
      updated_at: state.updated_at,
    };
    return { ...state, metadata: { ...state.metadata, [SYNC_KEY]: record } };
  }
}

/** The clone that saved `state` last, when it was saved in portable mode. */
export function lastWriterOf(state: WorkflowState): { clone: string; at: string } | null {
  const rec = syncRecordOf(state);
  return rec ? { clone: rec.clone, at: rec.updated_at } : null;
}

/**
 * The bookkeeping that lets a crash between the two writes of a change be found again, in the
 * session's `commit.pending` (orch's own file; the Python tool's state.json and log.jsonl keep
 * their exact formats). `log_size` is log.jsonl's length before the events were appended,
 * `state_updated_at` the `updated_at` the state.json about to be written carries. Before, it was
 * kept in meta.json as `pending_commit`; a session written so is still read from there.
 */
export interface PendingCommit {
  log_size: number;
  state_updated_at: string;
}

/** Every record has this length, so each write replaces the whole previous one in place. */
const PENDING_BYTES = 160;

/**
 * Writes the record in place: one write(2) of a fixed-length record at offset 0 of a file that
 * exists after the first change, so no rename and no folder change per commit (a rename over a
 * file costs ext4 a flush of its data, and each one wakes the watcher). One write of less than a
 * disk sector is all or nothing, even across a power cut; a record that does not parse is ignored.
 */
export async function writePending(path: string, record: PendingCommit): Promise<void> {
  const bytes = Buffer.alloc(PENDING_BYTES, 0x20);
  const used = bytes.write(JSON.stringify(record), 'utf8');
  if (used >= PENDING_BYTES - 1) throw new Error(`commit record longer than ${PENDING_BYTES} bytes`);
  bytes[PENDING_BYTES - 1] = 0x0a;
  const handle = await openNoFollow(path, constants.O_WRONLY | constants.O_CREAT);
  try {
    await handle.write(bytes, 0, PENDING_BYTES, 0);
  } catch (err) {
    throw withPath(err, path);
  } finally {
    await handle.close();
  }
}

/** Puts back the record as it was before a failed change (`null`: there was none). */
async function restorePending(path: string, previous: string | null): Promise<void> {
  if (previous === null) return rm(path, { force: true });
  const handle = await openNoFollow(path, constants.O_WRONLY);
  try {
    const bytes = Buffer.from(previous, 'utf8');
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.truncate(bytes.length);
  } finally {
    await handle.close();
  }
}

/** The record of the last change, from commit.pending, else from meta.json as written before. */
async function readPending(store: SessionStore, sp: SessionPaths, id: string): Promise<PendingCommit | null> {
  try {
    const parsed = JSON.parse(await readFileNoFollow(sp.pending)) as unknown;
    return isPending(parsed) ? parsed : null;
  } catch (err) {
    if ((err as { errorName?: string }).errorName === 'UnsafePath') throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return null;
  }
  const before = (await store.readMeta(id))?.pending_commit;
  return isPending(before) ? before : null;
}

function sizeOf(path: string): number {
  try {
    return lstatSync(path).size;
  } catch {
    return 0;
  }
}

/** Cuts log.jsonl back to `size` (undoing an append whose state write failed), without following links. */
export async function truncateLog(path: string, size: number): Promise<void> {
  const handle = await openNoFollow(path, constants.O_WRONLY);
  try {
    await handle.truncate(size);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * TEST ONLY: `ORCH_TEST_CRASH_AFTER=log` makes the process kill itself (SIGKILL) right after a
 * change's events reached log.jsonl and before state.json is written, so tests can prove the
 * crash is reconciled. Never set it in real use.
 */
function crashForTest(point: string): void {
  if (process.env.ORCH_TEST_CRASH_AFTER === point) process.kill(process.pid, 'SIGKILL');
}

function isPending(value: unknown): value is PendingCommit {
  const v = value as Partial<PendingCommit> | null;
  return !!v && typeof v.log_size === 'number' && typeof v.state_updated_at === 'string';
}

/**
 * Finds log lines a crash left without their state change (see {@link saveSessionState}) and,
 * unless `readOnly`, moves them to `log.jsonl.unapplied-<time>` and cuts the log back, so state and
 * log agree again. Returns the warning to show, or null. Callers hold the session's mutex.
 */
export async function reconcileLog(store: SessionStore, root: string, id: string, state: WorkflowState, readOnly: boolean): Promise<string | null> {
  const sp = store.pathsFor(id);
  const pending = await readPending(store, sp, id);
  if (pending === null) return null;
  const logSize = sizeOf(sp.log);
  if (logSize <= pending.log_size) return null;
  // Portable mode: a state that records the very log on disk agrees with it, whatever this
  // checkout's bookkeeping says (a pull brought both, and another machine's clock may be behind).
  const rec = syncRecordOf(state);
  if (rec !== null && rec.updated_at === state.updated_at && rec.log_bytes === logSize) return null;
  const stateAt = Date.parse(state.updated_at);
  const meantAt = Date.parse(pending.state_updated_at);
  // A state.json as new as the recorded one (or newer: the Python tool saved since) is consistent.
  // Both are written in one format, so within one millisecond the text orders them.
  if (state.updated_at === pending.state_updated_at || !Number.isFinite(stateAt) || !Number.isFinite(meantAt)) return null;
  if (stateAt > meantAt || (stateAt === meantAt && state.updated_at > pending.state_updated_at)) return null;
  const handle = await openNoFollow(sp.log, constants.O_RDONLY);
  let tail: Buffer;
  try {
    tail = Buffer.alloc(logSize - pending.log_size);
    await handle.read(tail, 0, tail.length, pending.log_size);
  } finally {
    await handle.close();
  }
  const types = tail
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return String((JSON.parse(l) as { event_type?: unknown }).event_type ?? '?');
      } catch {
        return 'a torn line';
      }
    });
  const label = relative(root, sp.log);
  const what = `${label} ends with ${types.length} event(s) (${types.join(', ')}) of a change that never reached state.json: orch stopped between the two writes, so the change was not applied and its command did not succeed`;
  if (readOnly) return `${what}; the next change to this session moves them aside.`;
  const aside = `${sp.log}.unapplied-${new Date().toISOString().replace(/[-:]/g, '')}`;
  await writeDurable(aside, tail);
  await truncateLog(sp.log, pending.log_size);
  return `${what}. They were moved to ${relative(root, aside)}; run the command again if the change is still wanted.`;
}
