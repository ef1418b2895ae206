/**
 * `.orchestrator/.migration_complete`: the record that the legacy workflow was adopted, and into
 * which session. Its presence alone means "never adopt again", so an unreadable marker still
 * counts as present: adopting twice would fork the workflow into two sessions.
 */
import { readFile } from 'node:fs/promises';
import type { RepoPaths } from '../../protocol/node/paths.js';
import { isSessionId } from '../../protocol/node/paths.js';
import { writeDurable } from '../store/durable-write.js';
import type { LegacyFileHash } from './legacy-state.js';
import { readFileNoFollow } from '../../protocol/node/safe-fs.js';

/** The marker file's content (JSON, indent 2). */
export interface MigrationMarker {
  /** Format of this file; bumped on incompatible changes. */
  marker_version: 1;
  /** What happened: the legacy files were copied into a session and left in place. */
  action: 'adopted';
  session_id: string;
  /** UTC, `+00:00`. */
  adopted_at: string;
  orchestrator_version: string;
  /** The daemon that adopted. */
  pid: number;
  /** The state file the session was made from. */
  source: { file: string; sha256: string; size: number; workflow_id: string; task: string };
  /** Every legacy file present at adoption, with its hash: they must stay byte-identical. */
  legacy_files: LegacyFileHash[];
}

/** What a reader may rely on, whatever the marker's shape. */
export interface MarkerInfo {
  /** The adopting session, or null when the marker is unreadable. */
  sessionId: string | null;
  /** sha256 of the adopted state file, or null when unknown. */
  sha256: string | null;
}

/** The marker, or null when there is none. An unreadable marker gives nulls, not null. */
export async function readMarker(paths: RepoPaths): Promise<MarkerInfo | null> {
  let text: string;
  try {
    text = await readFileNoFollow(paths.migrationMarker);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { sessionId: null, sha256: null };
  }
  try {
    const parsed = JSON.parse(text) as Partial<MigrationMarker>;
    const sessionId = isSessionId(parsed.session_id) ? parsed.session_id : null;
    const sha = typeof parsed.source?.sha256 === 'string' ? parsed.source.sha256 : null;
    return { sessionId, sha256: sha };
  } catch {
    return { sessionId: null, sha256: null };
  }
}

export async function writeMarker(paths: RepoPaths, marker: MigrationMarker): Promise<void> {
  await writeDurable(paths.migrationMarker, JSON.stringify(marker, null, 2) + '\n');
}
