/**
 * What `orch log` and `orch checkpoints` show of the legacy files: with no session, the legacy
 * workflow's own log and checkpoints; for the session a legacy workflow was adopted into, the
 * legacy history first, then the session's, so the whole story stays readable in one place.
 */
import type { CheckpointSummary, LogEventView } from '../../protocol/workflow.js';
import type { DaemonContext } from '../context.js';
import { pathExists } from './legacy-state.js';
import { listLegacyCheckpoints, readLegacyEvents } from './legacy-records.js';

/** True when session `id` was adopted from the legacy files (its meta.json says so). */
export async function isAdoptedSession(ctx: DaemonContext, id: string): Promise<boolean> {
  const meta = await ctx.store.readMeta(id);
  return typeof meta?.adopted_from === 'object' && meta.adopted_from !== null;
}

/** True when the repo holds a legacy state file. */
export async function hasLegacyState(ctx: DaemonContext): Promise<boolean> {
  return pathExists(ctx.paths.legacy.state);
}

/** The last `limit` of the legacy events followed by `events`. */
export async function withLegacyEvents(ctx: DaemonContext, events: LogEventView[], limit: number): Promise<{ events: LogEventView[]; skippedLines: number }> {
  const legacy = await readLegacyEvents(ctx.paths, limit);
  const all = [...legacy.events, ...events];
  return { events: limit > 0 ? all.slice(-limit) : [], skippedLines: legacy.skippedLines };
}

/** The legacy checkpoints followed by `checkpoints`. */
export async function withLegacyCheckpoints(ctx: DaemonContext, checkpoints: CheckpointSummary[]): Promise<CheckpointSummary[]> {
  return [...(await listLegacyCheckpoints(ctx.paths)), ...checkpoints];
}
