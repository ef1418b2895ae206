/**
 * The small per-session summaries behind `orch sessions`. A state file embeds its whole workflow
 * definition (tens of KB), so a session is summarised from the summary stored in its meta.json
 * (session-summary.ts) and cached in memory; a state.json is parsed only when neither matches the
 * file as it is now (by mtime and size, one stat per session per listing).
 */
import type { ProgressCount, SessionListEntry, WorkflowStatus } from '../../protocol/session.js';
import { summarizeForList } from '../engine/status-view.js';
import { parseTime } from '../engine/time.js';
import { OrchError } from '../errors.js';
import { stateKeyOf, validSummary } from './session-summary.js';
import type { SessionStore } from './session-store.js';
import type { StateFiles } from './state-file.js';

interface Summary {
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

/** Summaries built at once on a cold cache (file reads in flight). */
const BUILD_CONCURRENCY = 64;

/** `Promise.all(items.map(fn))` with at most `limit` calls in flight. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class SessionIndex {
  private readonly cache = new Map<string, Summary>();

  constructor(
    private readonly store: SessionStore,
    private readonly states: StateFiles,
  ) {}

  private cacheKey(id: string): string {
    return stateKeyOf(this.store.pathsFor(id).state);
  }

  private async build(id: string, key: string): Promise<Summary> {
    let meta;
    try {
      meta = await this.store.readMeta(id);
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
      const loaded = await this.states.load(id);
      if (!loaded) return { ...base, task: null, status: 'unknown', phase: null, progress: null, workflowId: null };
      const s = summarizeForList(loaded.state);
      return { ...base, ...s, workflowId: loaded.state.workflow_id, createdAt: base.createdAt ?? loaded.state.created_at };
    } catch (err) {
      const message = err instanceof OrchError ? err.message : String(err);
      return { ...base, task: null, status: 'unknown', phase: null, progress: null, workflowId: null, error: message };
    }
  }

  async summary(id: string): Promise<Summary> {
    const key = this.cacheKey(id);
    const cached = this.cache.get(id);
    if (cached && cached.key === key) return cached;
    const fresh = await this.build(id, key);
    this.cache.set(id, fresh);
    return fresh;
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

  /** Every session, newest first, sorted in with `extra` entries (the legacy workflow's row). */
  async list(current: string | null, extra: SessionListEntry[] = []): Promise<SessionListEntry[]> {
    const ids = await this.store.listIds();
    const summaries = await mapLimit(ids, BUILD_CONCURRENCY, async (id) => [id, await this.summary(id)] as const);
    const live = new Set(ids);
    for (const id of this.cache.keys()) if (!live.has(id)) this.cache.delete(id);
    const entries = [...summaries.map(([id, s]) => this.toEntry(id, s, current)), ...extra];
    // Each entry's time is parsed once, not twice per comparison.
    const keyed = entries.map((entry) => ({ entry, t: parseTime(entry.createdAt) || 0 }));
    keyed.sort((a, b) => b.t - a.t);
    return keyed.map((k) => k.entry);
  }
}
