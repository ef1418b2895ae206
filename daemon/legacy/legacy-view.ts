/**
 * What reads show of the legacy files: the legacy workflow's status when no session is current,
 * and the "present and ignored" warning when one is. Reads never adopt (no surprising side
 * effects on read-only commands); only a change does.
 */
import type { SessionShowResult, SessionStatusResult } from '../../protocol/session.js';
import type { DaemonContext } from '../context.js';
import { buildStatusView } from '../engine/status-view.js';
import { OrchError } from '../errors.js';
import { LEGACY_ENTRY_ID, labelOf, legacyStateSha256, pathExists, presentLegacyFiles, readLegacyState } from './legacy-state.js';
import { readMarker } from './marker.js';

/** The session the legacy workflow was adopted into, when the marker names one that still exists. */
export async function adoptedSessionId(ctx: DaemonContext): Promise<string | null> {
  const marker = await readMarker(ctx.paths);
  if (marker?.sessionId && (await ctx.store.exists(marker.sessionId))) return marker.sessionId;
  return null;
}

/**
 * Status when no session is current and none was adopted: the legacy workflow (`source:
 * legacy`), or null when there are no legacy files. A corrupt legacy state fails with
 * `StateCorrupt` naming the file.
 */
export async function legacyStatus(ctx: DaemonContext): Promise<SessionStatusResult | null> {
  const marker = await readMarker(ctx.paths);
  if (marker) {
    const where = marker.sessionId ? `session ${marker.sessionId}, which no longer exists` : 'a session (the marker is unreadable)';
    return {
      active: false,
      reason: `The older Python tool's workflow was adopted into ${where}; orch adopts only once (see ${labelOf(ctx.paths, ctx.paths.migrationMarker)}), so start a new workflow with orch start.`,
      warnings: [],
    };
  }
  const legacy = await readLegacyState(ctx.paths);
  if (!legacy) return null;
  const note = `This workflow is read from the older Python tool's ${legacy.label}; the first change (orch complete, skip, approve, advance, …) adopts it into a new session under .orchestrator/ and never changes the legacy files.`;
  return buildStatusView(legacy.state, legacy.def, { sessionId: null, source: 'legacy', warnings: [...legacy.warnings, note] });
}

// The daemon log says it once per daemon and situation, not on every status poll.
const logged = new WeakMap<DaemonContext, Set<string>>();

function logOnce(ctx: DaemonContext, key: string, fields: Record<string, unknown>): void {
  const seen = logged.get(ctx) ?? new Set<string>();
  logged.set(ctx, seen);
  if (seen.has(key)) return;
  seen.add(key);
  ctx.log.warn(fields, 'legacy files present and ignored');
}

/**
 * The warning for a session's status when legacy state exists beside it (the session wins), or
 * null when there is none. Phrased by what the marker says: adopted into this session, into
 * another one, or never adopted.
 */
export async function legacyIgnoredWarning(ctx: DaemonContext, sessionId: string): Promise<string | null> {
  if (!(await pathExists(ctx.paths.legacy.state))) return null;
  const files = (await presentLegacyFiles(ctx.paths)).join(', ');
  const marker = await readMarker(ctx.paths);
  let text: string;
  if (marker?.sessionId === sessionId) {
    const changed = marker.sha256 !== null && marker.sha256 !== (await legacyStateSha256(ctx.paths));
    text = changed
      ? `The older Python tool's files (${files}) were adopted into session ${sessionId}, but ${labelOf(ctx.paths, ctx.paths.legacy.state)} has changed since (the old tool ran again?); orch keeps the legacy files unchanged and ignores them.`
      : `The older Python tool's files (${files}) were adopted into session ${sessionId}; the legacy files are kept unchanged and ignored.`;
  } else if (marker) {
    text = `The older Python tool's files (${files}) were adopted into session ${marker.sessionId ?? '(unknown)'}; this session ${sessionId} is used, and the legacy files are kept unchanged and ignored.`;
  } else {
    text = `Legacy files from the older Python tool (${files}) are present and ignored: session ${sessionId} is used; orch never changes them.`;
  }
  logOnce(ctx, `${sessionId}:${marker?.sessionId ?? 'none'}`, { session: sessionId, files, adoptedInto: marker?.sessionId ?? null });
  return text;
}

/** `session/show legacy`: the legacy workflow's row, with the state file as its path. */
export async function showLegacy(ctx: DaemonContext): Promise<SessionShowResult['session']> {
  const row = await ctx.index.legacy.row();
  if (!row) {
    throw new OrchError(
      'SessionNotFound',
      `There is no legacy workflow to show: ${labelOf(ctx.paths, ctx.paths.legacy.state)} is absent or was adopted into a session; orch sessions lists them.`,
      { sessionId: LEGACY_ENTRY_ID },
    );
  }
  const { workflowId, ...entry } = row;
  const current = await ctx.store.readCurrent();
  return { ...entry, current: current === null, path: ctx.paths.legacy.state, repoRoot: ctx.paths.root, workflowId };
}

/** `session/switch legacy` is refused with a pointer to how adoption happens. */
export function refuseSwitchToLegacy(): never {
  throw new OrchError(
    'InvalidSessionId',
    `"${LEGACY_ENTRY_ID}" is the older Python tool's workflow, not a session: while no session is current, its first change (orch complete, skip, …) adopts it into a session.`,
    { sessionId: LEGACY_ENTRY_ID },
  );
}
