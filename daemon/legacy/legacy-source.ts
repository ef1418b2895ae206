/**
 * The one face of the older Python tool's files for the rest of the daemon. Consulted only where a
 * session is resolved (services/session-records.ts: no session current → the legacy workflow as a
 * read-only session; the first change → adoption) or listed (services/sessions.ts). Everything it
 * remembers (notes for the reply to an adopting change, what it already logged) lives on this
 * instance, owned by the daemon context.
 */
import type { FeedbackEntry, FeedbackKind } from '../../protocol/feedback.js';
import type { SessionListEntry, SessionShowResult, SessionStatusResult } from '../../protocol/session.js';
import type { CheckpointSummary, LogEventView } from '../../protocol/workflow.js';
import { buildStatusView } from '../engine/status-view.js';
import { OrchError } from '../errors.js';
import { adoptLegacyForChange, type LegacyDeps } from './adopt.js';
import { LegacyEntrySource } from './legacy-list.js';
import { listLegacyCheckpoints, readLegacyEvents, readLegacyFeedback } from './legacy-records.js';
import { LEGACY_ENTRY_ID, labelOf, legacyStateSha256, pathExists, presentLegacyFiles, readLegacyState } from './legacy-state.js';
import { readMarker } from './marker.js';

export { LEGACY_ENTRY_ID };

export class LegacySource {
  private readonly entries: LegacyEntrySource;
  /** Notes about an adoption, for the reply to the change that adopted (each returned once). */
  private readonly notes = new Map<string, string[]>();
  /** Situations already logged: the daemon log says each once, not on every status poll. */
  private readonly logged = new Set<string>();

  constructor(private readonly deps: LegacyDeps) {
    this.entries = new LegacyEntrySource(deps.paths);
  }

  /** True when the repo holds a legacy state file. */
  hasState(): Promise<boolean> {
    return pathExists(this.deps.paths.legacy.state);
  }

  /** The session the legacy workflow was adopted into, when the marker names one that still exists. */
  async adoptedSessionId(): Promise<string | null> {
    const marker = await readMarker(this.deps.paths);
    if (marker?.sessionId && (await this.deps.store.exists(marker.sessionId))) return marker.sessionId;
    return null;
  }

  /** True when session `id` was adopted from the legacy files (its meta.json says so). */
  async isAdopted(id: string): Promise<boolean> {
    const meta = await this.deps.store.readMeta(id);
    return typeof meta?.adopted_from === 'object' && meta.adopted_from !== null;
  }

  /**
   * For a change when no session is current: the session it applies to, adopting the legacy
   * workflow when there is one (see adopt.ts); null when there is none.
   */
  async adoptForChange(): Promise<string | null> {
    const adopted = await adoptLegacyForChange(this.deps);
    if (adopted && adopted.notes.length > 0) this.notes.set(adopted.id, adopted.notes);
    return adopted?.id ?? null;
  }

  /** The notes about an adoption into session `id` not yet shown to a client; each is returned once. */
  takeNotes(id: string): string[] {
    const notes = this.notes.get(id) ?? [];
    this.notes.delete(id);
    return notes;
  }

  /**
   * Status when no session is current and none was adopted: the legacy workflow (`source:
   * legacy`), or null when there are no legacy files. A corrupt legacy state fails with
   * `StateCorrupt` naming the file.
   */
  async status(): Promise<SessionStatusResult | null> {
    const { paths } = this.deps;
    const marker = await readMarker(paths);
    if (marker) {
      const where = marker.sessionId ? `session ${marker.sessionId}, which no longer exists` : 'a session (the marker is unreadable)';
      return {
        active: false,
        reason: `The older Python tool's workflow was adopted into ${where}; orch adopts only once (see ${labelOf(paths, paths.migrationMarker)}), so start a new workflow with orch start.`,
        warnings: [],
      };
    }
    const legacy = await readLegacyState(paths);
    if (!legacy) return null;
    const note = `This workflow is read from the older Python tool's ${legacy.label}; the first change (orch complete, skip, approve, advance, …) adopts it into a new session under .orchestrator/ and never changes the legacy files.`;
    return buildStatusView(legacy.state, legacy.def, { sessionId: null, source: 'legacy', warnings: [...legacy.warnings, note] });
  }

  /**
   * The warning for a session's status when legacy state exists beside it (the session wins), or
   * null when there is none. Phrased by what the marker says: adopted into this session, into
   * another one, or never adopted.
   */
  async ignoredWarning(sessionId: string): Promise<string | null> {
    const { paths } = this.deps;
    if (!(await pathExists(paths.legacy.state))) return null;
    const files = (await presentLegacyFiles(paths)).join(', ');
    const marker = await readMarker(paths);
    let text: string;
    if (marker?.sessionId === sessionId) {
      const changed = marker.sha256 !== null && marker.sha256 !== (await legacyStateSha256(paths));
      text = changed
        ? `The older Python tool's files (${files}) were adopted into session ${sessionId}, but ${labelOf(paths, paths.legacy.state)} has changed since (the old tool ran again?); orch keeps the legacy files unchanged and ignores them.`
        : `The older Python tool's files (${files}) were adopted into session ${sessionId}; the legacy files are kept unchanged and ignored.`;
    } else if (marker) {
      text = `The older Python tool's files (${files}) were adopted into session ${marker.sessionId ?? '(unknown)'}; this session ${sessionId} is used, and the legacy files are kept unchanged and ignored.`;
    } else {
      text = `Legacy files from the older Python tool (${files}) are present and ignored: session ${sessionId} is used; orch never changes them.`;
    }
    const key = `${sessionId}:${marker?.sessionId ?? 'none'}`;
    if (!this.logged.has(key)) {
      this.logged.add(key);
      this.deps.log.warn({ session: sessionId, files, adoptedInto: marker?.sessionId ?? null }, 'legacy files present and ignored');
    }
    return text;
  }

  /** The legacy workflow's row in `orch sessions` while it is not adopted (current when no session is). */
  listEntry(current: string | null): Promise<SessionListEntry | null> {
    return this.entries.entry(current);
  }

  /** `session/show legacy`: the legacy workflow's row, with the state file as its path. */
  async show(current: string | null): Promise<SessionShowResult['session']> {
    const { paths } = this.deps;
    const row = await this.entries.row();
    if (!row) {
      throw new OrchError(
        'SessionNotFound',
        `There is no legacy workflow to show: ${labelOf(paths, paths.legacy.state)} is absent or was adopted into a session; orch sessions lists them.`,
        { sessionId: LEGACY_ENTRY_ID },
      );
    }
    const { workflowId, ...entry } = row;
    return { ...entry, current: current === null, path: paths.legacy.state, repoRoot: paths.root, workflowId };
  }

  /** `session/switch legacy` is refused with a pointer to how adoption happens. */
  refuseSwitch(): never {
    throw new OrchError(
      'InvalidSessionId',
      `"${LEGACY_ENTRY_ID}" is the older Python tool's workflow, not a session: while no session is current, its first change (orch complete, skip, …) adopts it into a session.`,
      { sessionId: LEGACY_ENTRY_ID },
    );
  }

  /** The last `limit` events of `.workflow_log.jsonl`, oldest first. */
  events(limit: number): Promise<{ events: LogEventView[]; skippedLines: number }> {
    return readLegacyEvents(this.deps.paths, limit);
  }

  /** The checkpoints of `.workflow_checkpoints/`, oldest first. */
  checkpoints(): Promise<CheckpointSummary[]> {
    return listLegacyCheckpoints(this.deps.paths);
  }

  /** The records of the legacy feedback files (or one kind). */
  feedback(kind?: FeedbackKind): Promise<{ entries: FeedbackEntry[]; skipped: number }> {
    return readLegacyFeedback(this.deps.paths, kind);
  }
}
