/**
 * The summaries behind `orch sessions`, kept in memory sorted newest first and stored in one file,
 * `.orchestrator/session-index.jsonl` (index-file.ts), so that listing 10,000 sessions neither
 * opens 10,000 files nor sorts them again. The index is a cache, never the only copy of anything:
 *
 * - which sessions exist comes from the session folders: the sessions folder is read again
 *   whenever its identity (mtime, link count = number of session folders + 2, inode) changed, so a
 *   folder copied in, removed, or brought by a `git pull` is noticed on the next listing;
 * - each summary carries the (mtime, size) of the state.json it was made from and is checked
 *   against the file (one synchronous stat, no open file) before it is shown: a page of the list
 *   (`orch sessions` shows the newest 20) checks its own rows at every listing; a listing of every
 *   session checks those loaded from the index file, those in a sessions folder that changed, those
 *   the watcher saw change, and otherwise each at most every {@link VERIFY_MS}. One that no longer
 *   matches (an outside edit, a pull, a lost append) is made again from the session's files. A stat
 *   per session per listing would cost 10,000 stats (50 to 250 ms on the project's machine) for
 *   sessions that are finished: in a listing of every session, a finished session changed behind
 *   the daemon's back, in a folder it does not watch, is listed as changed at most
 *   {@link VERIFY_MS} later;
 * - the daemon's own changes update it as they are saved ({@link SessionIndex.noteSaved}).
 *
 * A session is summarised from the summary stored in its meta.json (session-summary.ts) when that
 * matches, else from its state.json, parsed without entering the state cache: finished sessions
 * hold no cached state, no watcher and no open file.
 */
import { lstatSync } from 'node:fs';
import type { RepoPaths } from '../../protocol/node/paths.js';
import type { SessionListEntry } from '../../protocol/session.js';
import { summarizeForList } from '../engine/status-view.js';
import type { WorkflowState } from '../engine/types.js';
import { OrchError } from '../errors.js';
import {
  appendIndexLines,
  createdMs,
  entryLine,
  goneLine,
  indexFilePath,
  parseLine,
  readIndexFile,
  writeIndexFile,
  type IndexedSummary,
  type StoredLine,
} from './index-file.js';
import { stateKeyOf, validSummary } from './session-summary.js';
import type { SessionStore } from './session-store.js';
import type { StateFiles } from './state-file.js';

export type Summary = IndexedSummary;

interface Held {
  /** The summary; null while it is held only as its stored line (loaded, not yet shown). */
  s: Summary | null;
  /** The index file's line it was loaded from, parsed only when the row is shown; null once `s` is set. */
  line: string | null;
  /** The state key the summary was made from. */
  key: string;
  /** The state file's path, built when first needed (most loaded summaries never are). */
  statePath: string | null;
  /** `createdAt` as a number, for sorting. */
  t: number;
  /** When the summary was last known to match its state file (performance.now()); 0: never. */
  checkedAt: number;
}

/** How long a summary checked against its state file is believed without looking again. */
export const VERIFY_MS = 2000;

/** Summaries built at once on a cold cache (file reads in flight). */
const BUILD_CONCURRENCY = 16;
/** Appends made without the index loaded after which it is loaded and compacted. */
const UNLOADED_APPENDS_MAX = 2000;

/** `Promise.all(items.map(fn))` with at most `limit` calls in flight. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The sessions folder's identity: its mtime moves and its link count changes when a session folder comes or goes. */
function dirKeyOf(path: string): string {
  try {
    const st = lstatSync(path);
    return `${st.mtimeMs}:${st.nlink}:${st.ino}`;
  } catch {
    return 'missing';
  }
}

export class SessionIndex {
  private readonly held = new Map<string, Held>();
  /** Ids newest first; null when it must be sorted again. */
  private order: string[] | null = null;
  private loading: Promise<void> | null = null;
  private loaded = false;
  /** The sessions folder's identity when its list was last read. */
  private dirKey = '';
  /** Lines to append; `rewrite` asks for the whole file to be written instead. */
  private pending: string[] = [];
  private rewrite = false;
  /** Lines in the file after its header (as far as this process knows). */
  private fileLines = 0;
  private unloadedAppends = 0;
  private writing: Promise<void> = Promise.resolve();
  private syncing: Promise<void> | null = null;
  private readonly file: string;

  constructor(
    private readonly store: SessionStore,
    private readonly states: StateFiles,
    private readonly paths: RepoPaths,
    private readonly readOnly = false,
  ) {
    this.file = indexFilePath(paths);
  }

  /** The index file's path (tests, README). */
  get path(): string {
    return this.file;
  }

  /** Records a summary; `checked`: it was just made from (or checked against) the file as it is. */
  private put(id: string, s: Summary, checked: boolean): void {
    this.hold(id, { s, line: null, key: s.key, t: createdMs(s) }, checked);
  }

  private hold(id: string, h: Pick<Held, 's' | 'line' | 'key' | 't'>, checked: boolean): void {
    const before = this.held.get(id);
    if (!before || before.t !== h.t) this.order = null;
    this.held.set(id, { s: h.s, line: h.line, key: h.key, t: h.t, statePath: before?.statePath ?? null, checkedAt: checked ? performance.now() : 0 });
  }

  /** The state file of a held session: the id is a checked session id (from the folder list or the index file's reader), so the path is put together directly (path.join's normalisation costs 20 µs a session). */
  private statePathOf(id: string, h: Held): string {
    return (h.statePath ??= `${this.paths.sessionsDir}/${id}/state.json`);
  }

  /** A held summary in full: parsed from its stored line when needed (not kept); null when that line is bad. */
  private full(h: Held): Summary | null {
    if (h.s !== null) return h.s;
    const s = h.line === null ? null : parseLine(h.line);
    return s !== null && s.key === h.key ? s : null;
  }

  /** Session `id`'s state file changed (the watcher saw it): check its summary at the next listing. */
  invalidate(id: string): void {
    const h = this.held.get(id);
    if (h) h.checkedAt = 0;
  }

  private drop(id: string): void {
    if (!this.held.delete(id)) return;
    this.order = null;
    this.pending.push(goneLine(id));
  }

  private async build(id: string, key: string): Promise<Summary> {
    let meta;
    try {
      meta = await this.store.readMeta(id, { remember: false });
    } catch (err) {
      // A session whose meta.json is refused (a planted link) is listed with the reason, not dropped.
      const error = err instanceof Error ? err.message : String(err);
      return { key, createdAt: null, repoRoot: null, task: null, status: 'unknown', phase: null, progress: null, workflowId: null, error };
    }
    const base = {
      key,
      createdAt: typeof meta?.created_at === 'string' ? meta.created_at : null,
      repoRoot: typeof meta?.repo_root === 'string' ? meta.repo_root : null,
    };
    const stored = validSummary(meta?.summary, key);
    if (stored) {
      return { ...base, task: stored.task, status: stored.status, phase: stored.phase, progress: stored.progress, workflowId: stored.workflow_id };
    }
    try {
      // Parsed for its summary only: a finished session must not take a place in the state cache.
      const loaded = await this.states.load(id, { remember: false });
      if (!loaded) return { ...base, task: null, status: 'unknown', phase: null, progress: null, workflowId: null };
      const s = summarizeForList(loaded.state);
      return { ...base, ...s, workflowId: loaded.state.workflow_id, createdAt: base.createdAt ?? loaded.state.created_at };
    } catch (err) {
      const message = err instanceof OrchError ? err.message : String(err);
      return { ...base, task: null, status: 'unknown', phase: null, progress: null, workflowId: null, error: message };
    }
  }

  /** Makes session `id`'s summary again from its files and records it. */
  private async rebuild(id: string, key: string): Promise<Summary> {
    const s = await this.build(id, key);
    this.put(id, s, true);
    this.pending.push(entryLine(id, s));
    return s;
  }

  private async load(): Promise<void> {
    const stored = await readIndexFile(this.file);
    if (stored === null) {
      this.rewrite = true;
    } else {
      // What this process learnt before loading (its own saves) is newer than the file.
      // Straight into the map (no order yet, nothing held before for most): 10,000 lines at a restart.
      for (const [id, l] of stored.entries) {
        if (!this.held.has(id)) this.held.set(id, { s: null, line: l.line, key: l.key, t: l.t, statePath: null, checkedAt: 0 });
      }
      this.order = null;
      this.fileLines = stored.lines;
      if (stored.junk > 0) this.rewrite = true;
    }
    this.loaded = true;
  }

  /**
   * Brings the index in line with the session folders (see the file's comment). `all`: also checks
   * each summary not checked for {@link VERIFY_MS}; a page checks only its own rows ({@link check}).
   */
  private async sync(all: boolean): Promise<void> {
    this.loading ??= this.load();
    await this.loading;
    // The file is about to be written whole (it held junk): check every line that goes into it.
    if (this.rewrite) all = true;
    const stale: Array<[string, string]> = [];
    const dirKey = dirKeyOf(this.paths.sessionsDir);
    if (dirKey !== this.dirKey) {
      const readAt = performance.now();
      const ids = await this.store.listIds();
      // Folders came or went (a pull, a copy, a removal): what else it changed is checked too.
      const everything = this.dirKey !== '';
      this.dirKey = dirKey;
      const live = new Set(ids);
      // A session saved while the folder was being read (just created) is not dropped for missing from it.
      // (Such a one is looked for again at the next listing.)
      for (const [id, h] of [...this.held]) {
        if (live.has(id)) continue;
        if (h.checkedAt <= readAt) this.drop(id);
        else this.dirKey = 'look again';
      }
      for (const id of ids) if (!this.held.has(id)) stale.push([id, stateKeyOf(this.store.pathsFor(id).state)]);
      if (everything) for (const h of this.held.values()) h.checkedAt = 0;
    }
    const now = performance.now();
    if (all) {
      for (const [id, h] of this.held) {
        if (h.checkedAt !== 0 && now - h.checkedAt < VERIFY_MS) continue;
        const key = stateKeyOf(this.statePathOf(id, h));
        if (key !== h.key) stale.push([id, key]);
        else h.checkedAt = now;
      }
    }
    await mapLimit(stale, BUILD_CONCURRENCY, ([id, key]) => this.rebuild(id, key));
    await this.flush();
  }

  /** One sync at a time; a caller arriving during one waits for it and then runs its own. */
  private async fresh(all = true): Promise<void> {
    while (this.syncing) await this.syncing;
    this.syncing = this.sync(all).finally(() => {
      this.syncing = null;
    });
    await this.syncing;
  }

  /** Writes what changed: appended lines, or the whole file when it holds too many old lines. */
  private flush(): Promise<void> {
    const run = async () => {
      if (this.readOnly || dirKeyOf(this.paths.sessionsDir) === 'missing') {
        this.pending = [];
        return;
      }
      if (!this.loaded) {
        // Not loaded (a process that only changes sessions): append while the file exists; a
        // missing one is rebuilt by the next listing.
        const lines = this.pending;
        this.pending = [];
        if (lines.length === 0 || dirKeyOf(this.file) === 'missing') return;
        await appendIndexLines(this.file, lines);
        this.unloadedAppends += lines.length;
        if (this.unloadedAppends > UNLOADED_APPENDS_MAX) {
          this.unloadedAppends = 0;
          void this.fresh().catch(() => undefined);
        }
        return;
      }
      const lines = this.pending;
      this.pending = [];
      const tooLong = this.fileLines + lines.length > 2 * this.held.size + 64;
      if (this.rewrite || tooLong || dirKeyOf(this.file) === 'missing') {
        this.rewrite = false;
        // Oldest first, so the next load finds the lines in order (see sorted).
        const snapshot: string[] = [];
        const order = this.sorted();
        for (let i = order.length - 1; i >= 0; i--) {
          const h = this.held.get(order[i]!)!;
          snapshot.push(h.line ?? entryLine(order[i]!, h.s!));
        }
        await writeIndexFile(this.file, snapshot);
        this.fileLines = snapshot.length;
      } else if (lines.length > 0) {
        await appendIndexLines(this.file, lines);
        this.fileLines += lines.length;
      }
    };
    // A cache: a failed write (full disk, read-only folder) only means a rebuild next time.
    this.writing = this.writing.then(run).catch(() => {
      this.rewrite = true;
    });
    return this.writing;
  }

  /**
   * Records a change the daemon just saved (callers hold the session's mutex), so listing after it
   * neither stats nor reads anything of that session again.
   */
  async noteSaved(id: string, state: WorkflowState, key: string): Promise<void> {
    const held = this.held.get(id);
    const before = held ? this.full(held) : null;
    let createdAt = before?.createdAt;
    let repoRoot = before?.repoRoot;
    if (before === null) {
      const meta = await this.store.readMeta(id).catch(() => null);
      createdAt = typeof meta?.created_at === 'string' ? meta.created_at : state.created_at;
      repoRoot = typeof meta?.repo_root === 'string' ? meta.repo_root : null;
    }
    const s: Summary = { key, createdAt: createdAt ?? null, repoRoot: repoRoot ?? null, ...summarizeForList(state), workflowId: state.workflow_id };
    this.put(id, s, true);
    this.pending.push(entryLine(id, s));
    await this.flush();
  }

  /**
   * The summaries of `ids`, each made again from its files when its stored line does not parse or,
   * with `stat`, when it no longer matches its state file (checked now). `remade`: one was.
   */
  private async settle(ids: string[], stat: boolean): Promise<{ remade: boolean; got: Map<string, Summary> }> {
    const stale: Array<[string, string]> = [];
    const got = new Map<string, Summary>();
    const now = performance.now();
    for (const id of ids) {
      const h = this.held.get(id);
      if (!h) continue;
      const key = stat ? stateKeyOf(this.statePathOf(id, h)) : h.key;
      const s = key === h.key ? this.full(h) : null;
      if (s === null) {
        stale.push([id, key]);
      } else {
        got.set(id, s);
        if (stat) h.checkedAt = now;
      }
    }
    if (stale.length === 0) return { remade: false, got };
    const made = await mapLimit(stale, BUILD_CONCURRENCY, ([id, key]) => this.rebuild(id, key));
    stale.forEach(([id], i) => got.set(id, made[i]!));
    await this.flush();
    return { remade: true, got };
  }

  /** One session's summary, checked against its state file now. */
  async summary(id: string): Promise<Summary> {
    const key = stateKeyOf(this.store.pathsFor(id).state);
    const held = this.held.get(id);
    const s = held && held.key === key ? this.full(held) : null;
    if (held && s !== null) {
      held.checkedAt = performance.now();
      return s;
    }
    const made = await this.rebuild(id, key);
    await this.flush();
    return made;
  }

  toEntry(id: string, s: Summary, current: string | null): SessionListEntry {
    const entry: SessionListEntry = {
      sessionId: id,
      task: s.task,
      status: s.status,
      phase: s.phase,
      createdAt: s.createdAt,
      current: id === current,
      source: 'session',
      progress: s.progress,
    };
    if (s.error) entry.error = s.error;
    return entry;
  }

  /**
   * Sessions newest first, sorted in with `extra` entries (the legacy workflow's row): every one, or
   * `limit` rows after the row of `after`. A page checks and builds only its own rows, so listing
   * the newest 20 costs about the same at 10,000 sessions as at 100; every session is checked as
   * {@link sync} says. `after` that is no longer listed gives `undefined`.
   */
  async list(
    current: string | null,
    extra: SessionListEntry[] = [],
    page: { limit?: number; after?: string } = {},
  ): Promise<{ sessions: SessionListEntry[]; total: number; next: string | null } | undefined> {
    const paged = page.limit !== undefined;
    await this.fresh(!paged);
    // A page's rows are checked after it is cut (at most three times, see below).
    for (let attempt = 0; ; attempt++) {
      const rows = this.rows(extra);
      const idOf = (r: string | SessionListEntry) => (typeof r === 'string' ? r : r.sessionId);
      let start = 0;
      if (page.after !== undefined) {
        start = rows.findIndex((r) => idOf(r) === page.after) + 1;
        if (start === 0) return undefined;
      }
      const end = page.limit === undefined ? rows.length : Math.min(rows.length, start + page.limit);
      const cut = rows.slice(start, end);
      const { remade, got } = await this.settle(cut.filter((r): r is string => typeof r === 'string'), paged);
      // A summary made again with another created time moves: the page is cut again.
      if (remade && this.order === null && attempt < 2) continue;
      const sessions = cut.flatMap((r) => {
        if (typeof r !== 'string') return [r];
        const s = got.get(r);
        return s ? [this.toEntry(r, s, current)] : [];
      });
      return { sessions, total: rows.length, next: end < rows.length && end > 0 ? idOf(rows[end - 1]!) : null };
    }
  }

  /**
   * Held ids newest first (ties by id). The map keeps the order sessions were first held in: the
   * index file's (written oldest first), then sessions as they are made. That is almost always
   * oldest first, so it is read backwards and checked on the way; only when it is not (a pulled
   * session with an older created time) are the ids sorted.
   */
  private sorted(): string[] {
    if (this.order !== null) return this.order;
    const ids = [...this.held.keys()];
    const out = new Array<string>(ids.length);
    let prevT = Infinity;
    let prevId = '';
    let inOrder = true;
    for (let i = ids.length - 1, j = 0; i >= 0; i--, j++) {
      const id = ids[i]!;
      const t = this.held.get(id)!.t;
      if (t > prevT || (t === prevT && id < prevId)) {
        inOrder = false;
        break;
      }
      out[j] = id;
      prevT = t;
      prevId = id;
    }
    if (!inOrder) {
      const keyed = ids.map((id) => ({ id, t: this.held.get(id)!.t }));
      keyed.sort((a, b) => b.t - a.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      for (let j = 0; j < keyed.length; j++) out[j] = keyed[j]!.id;
    }
    this.order = out;
    return out;
  }

  /** Every row newest first: a held session's id, or an `extra` entry sorted in by its time. */
  private rows(extra: SessionListEntry[]): Array<string | SessionListEntry> {
    const order = this.sorted();
    if (extra.length === 0) return order;
    const rows: Array<string | SessionListEntry> = [];
    const others = extra.map((entry) => ({ entry, t: createdMs(entry) })).sort((a, b) => b.t - a.t);
    let o = 0;
    for (const id of order) {
      const t = this.held.get(id)!.t;
      while (o < others.length && others[o]!.t > t) rows.push(others[o++]!.entry);
      rows.push(id);
    }
    while (o < others.length) rows.push(others[o++]!.entry);
    return rows;
  }
}
