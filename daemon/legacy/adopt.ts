/**
 * Adoption: the first change of a legacy workflow copies it into a new session and applies the
 * change there. It runs under the repo mutex (other requests of this daemon) and the filesystem
 * lock `.orchestrator/.migration.lock` (other processes), and re-checks inside both, because
 * whoever held them before may have adopted already.
 *
 * Write order: session folder and meta.json (SessionStore.create), state.json, the adoption event,
 * meta.json's `adopted_from`, the marker, then `current`. A session whose meta carries
 * `adopted_from` is therefore complete, so after a crash before the marker the next attempt
 * finishes that adoption instead of adopting a second time.
 */
import type { RepoPaths } from '../../protocol/node/paths.js';
import { serializeState } from '../engine/checksum.js';
import { OrchError } from '../errors.js';
import type { DaemonEvents } from '../events.js';
import type { DaemonConfig } from '../runtime/config.js';
import { REPO_LOCK, type KeyedMutex } from '../runtime/keyed-mutex.js';
import { acquire, isHolderAlive, readHolder, type LockHandle } from '../runtime/lock-file.js';
import type { Logger } from '../runtime/logger.js';
import { ensureRepoMeta } from '../store/repo-meta.js';
import type { SessionStore } from '../store/session-store.js';
import type { StateFiles } from '../store/state-file.js';
import { adoptedFrom, adoptionEvent, adoptionNote, markerFor } from './adoption-records.js';
import { hashLegacyFiles, labelOf, pathExists, presentLegacyFiles, readLegacyState, type LegacyState } from './legacy-state.js';
import { readMarker, writeMarker, type MarkerInfo } from './marker.js';

/** What adoption needs of the daemon (a narrow slice of its context, so legacy/ never imports services). */
export interface LegacyDeps {
  readonly paths: RepoPaths;
  readonly store: SessionStore;
  readonly states: StateFiles;
  readonly log: Logger;
  readonly locks: KeyedMutex;
  readonly events: DaemonEvents;
  readonly config: DaemonConfig;
  /** Writes `current` and announces the switch (callers hold the repo mutex). */
  makeCurrent(id: string): Promise<unknown>;
}


/** An adoption's outcome: the session, and notes for the reply to the change that caused it. */
export interface Adopted {
  id: string;
  notes: string[];
}

/**
 * For a change when no session is current: the session it applies to, adopting the legacy
 * workflow when there is one; null when there is none. Fails with `StateCorrupt` (nothing is
 * written), `LockTimeout`, or `NoActiveWorkflow` when the marker names a session that is gone.
 */
export async function adoptLegacyForChange(ctx: LegacyDeps): Promise<Adopted | null> {
  const hasLegacy = (await pathExists(ctx.paths.legacy.state)) || (await pathExists(ctx.paths.migrationMarker));
  if (!hasLegacy) return null;
  return ctx.locks.runExclusive(REPO_LOCK, async () => {
    const lock = await takeMigrationLock(ctx);
    try {
      return await adoptLocked(ctx);
    } finally {
      await lock.release();
    }
  });
}

async function takeMigrationLock(ctx: LegacyDeps): Promise<LockHandle> {
  const path = ctx.paths.migrationLock;
  const seen = await readHolder(path);
  if (seen && !isHolderAlive(seen)) ctx.log.warn({ lock: path, holder: seen }, 'taking over a migration lock left by a dead process');
  try {
    return await acquire(path, 'migration', ctx.config.migrationLockTimeoutMs);
  } catch (err) {
    if (!(err instanceof OrchError) || err.errorName !== 'LockTimeout') throw err;
    ctx.log.warn({ lock: path, details: err.details }, 'migration lock timeout');
    const reason = err.message.charAt(0).toLowerCase() + err.message.slice(1);
    throw new OrchError('LockTimeout', `Another process is adopting the older Python tool's workflow: ${reason}`, err.details);
  }
}

async function adoptLocked(ctx: LegacyDeps): Promise<Adopted | null> {
  // Whoever held the locks before us may have made a session current or written the marker.
  const current = await ctx.store.readCurrent();
  if (current !== null) return { id: current, notes: [] };
  const marker = await readMarker(ctx.paths);
  if (marker) return { id: await resumeFromMarker(ctx, marker), notes: [] };
  // Parsed before anything is written: a corrupt legacy file leaves no trace.
  const legacy = await readLegacyState(ctx.paths);
  if (!legacy) return null;
  const hashes = await hashLegacyFiles(ctx.paths);
  const { warnings } = await ensureRepoMeta(ctx.paths, undefined);
  const now = new Date();
  const id = (await findAdoptedSession(ctx, legacy.sha256)) ?? (await createAdoptedSession(ctx, legacy, now));
  await writeMarker(ctx.paths, markerFor(id, legacy, hashes, now));
  await ctx.makeCurrent(id);
  ctx.log.info({ session: id, file: legacy.label, sha256: legacy.sha256, workflow: legacy.state.workflow_id }, 'legacy workflow adopted');
  return { id, notes: [adoptionNote(legacy, id), ...warnings, ...legacy.warnings] };
}

async function resumeFromMarker(ctx: LegacyDeps, marker: MarkerInfo): Promise<string> {
  if (marker.sessionId !== null && (await ctx.store.exists(marker.sessionId))) {
    await ctx.makeCurrent(marker.sessionId);
    ctx.log.info({ session: marker.sessionId }, 'legacy workflow already adopted; its session made current again');
    return marker.sessionId;
  }
  const label = labelOf(ctx.paths, ctx.paths.migrationMarker);
  const where = marker.sessionId ? ` into session ${marker.sessionId}, which no longer exists` : '';
  throw new OrchError(
    'NoActiveWorkflow',
    `The older Python tool's workflow was already adopted${where} (see ${label}) and orch adopts it only once; run orch start "<task>" to begin a new session.`,
    { marker: label, sessionId: marker.sessionId },
  );
}

/** A session a crashed adoption completed before writing the marker. */
async function findAdoptedSession(ctx: LegacyDeps, sha256: string): Promise<string | null> {
  for (const id of await ctx.store.listIds()) {
    const from = (await ctx.store.readMeta(id))?.adopted_from as { sha256?: unknown } | undefined;
    if (from?.sha256 === sha256 && (await ctx.store.readStateText(id)) !== null) return id;
  }
  return null;
}

async function createAdoptedSession(ctx: LegacyDeps, legacy: LegacyState, now: Date): Promise<string> {
  const id = await ctx.store.create();
  const present = await presentLegacyFiles(ctx.paths);
  await ctx.locks.runExclusive(id, async () => {
    await ctx.store.writeStateText(id, serializeState(legacy.state, now));
    await ctx.store.appendEvents(id, [adoptionEvent(ctx.paths, legacy, id, now)]);
    await ctx.store.updateMeta(id, { adopted_from: adoptedFrom(ctx.paths, legacy, present, now) }, { durable: true });
  });
  ctx.events.emit('sessionCreated', { sessionId: id });
  return id;
}

