/**
 * The legacy workflow's row in `orch sessions`: shown while it is not adopted, with the id
 * {@link LEGACY_ENTRY_ID} and `source: legacy`. The state file embeds its workflow definition
 * (tens of KB), so the summary is cached by the file's mtime and size.
 */
import { stat } from 'node:fs/promises';
import type { RepoPaths } from '../../protocol/node/paths.js';
import type { SessionListEntry } from '../../protocol/session.js';
import { summarizeForList } from '../engine/status-view.js';
import { OrchError } from '../errors.js';
import { LEGACY_ENTRY_ID, readLegacyState } from './legacy-state.js';
import { readMarker } from './marker.js';

type LegacyRow = Omit<SessionListEntry, 'current'> & { workflowId: string | null };

export class LegacyEntrySource {
  private cached: { key: string; row: LegacyRow } | null = null;

  constructor(private readonly paths: RepoPaths) {}

  private async build(): Promise<LegacyRow | null> {
    const base = { sessionId: LEGACY_ENTRY_ID, source: 'legacy' as const };
    try {
      const legacy = await readLegacyState(this.paths);
      if (!legacy) return null;
      const s = summarizeForList(legacy.state);
      return { ...base, ...s, createdAt: legacy.state.created_at, workflowId: legacy.state.workflow_id };
    } catch (err) {
      const error = err instanceof OrchError ? err.message : String(err);
      return { ...base, task: null, status: 'unknown', phase: null, createdAt: null, progress: null, workflowId: null, error };
    }
  }

  /** The row (with `workflowId` for `show`), or null when there is no legacy state or it was adopted. */
  async row(): Promise<LegacyRow | null> {
    let key: string;
    try {
      const st = await stat(this.paths.legacy.state);
      key = `${st.mtimeMs}:${st.size}`;
    } catch {
      this.cached = null;
      return null;
    }
    if ((await readMarker(this.paths)) !== null) return null;
    if (this.cached?.key !== key) {
      const row = await this.build();
      if (!row) return null;
      this.cached = { key, row };
    }
    return this.cached.row;
  }

  /** The list entry: current when no session is, since then status shows the legacy workflow. */
  async entry(current: string | null): Promise<SessionListEntry | null> {
    const row = await this.row();
    if (!row) return null;
    const entry: SessionListEntry = {
      sessionId: row.sessionId,
      task: row.task,
      status: row.status,
      phase: row.phase,
      createdAt: row.createdAt,
      current: current === null,
      source: row.source,
      progress: row.progress,
    };
    if (row.error) entry.error = row.error;
    return entry;
  }
}
