/**
 * What adoption writes about itself: the first event of the new session's log, the
 * `adopted_from` block of its meta.json, and the repo's migration marker. Pure builders.
 */
import type { RepoPaths } from '../../protocol/node/paths.js';
import { ORCH_VERSION } from '../../protocol/version.js';
import { utcOffset, utcZ } from '../engine/time.js';
import type { LogEvent } from '../engine/types.js';
import { labelOf, type LegacyFileHash, type LegacyState } from './legacy-state.js';
import type { MigrationMarker } from './marker.js';

/** `event_type` of the adoption event. Not one of the Python tool's types: only orch writes session logs. */
export const ADOPTED_EVENT = 'workflow_adopted';

/** The session log's first line: where the workflow came from and where its earlier events are. */
export function adoptionEvent(paths: RepoPaths, legacy: LegacyState, sessionId: string, now: Date): LogEvent {
  const legacyLog = labelOf(paths, paths.legacy.log);
  return {
    timestamp: utcZ(now),
    event_type: ADOPTED_EVENT,
    workflow_id: legacy.state.workflow_id,
    phase_id: legacy.state.current_phase_id,
    item_id: null,
    message: `Adopted workflow from ${legacy.label} (the older Python tool); its earlier events stay in ${legacyLog}`,
    details: { session_id: sessionId, source_file: legacy.label, sha256: legacy.sha256, legacy_log: legacyLog },
    actor: 'system',
  };
}

/** `meta.json`'s `adopted_from`: enough to find and verify the source later. */
export function adoptedFrom(paths: RepoPaths, legacy: LegacyState, present: string[], now: Date): Record<string, unknown> {
  const legacyLog = labelOf(paths, paths.legacy.log);
  const checkpoints = labelOf(paths, paths.legacy.checkpoints) + '/';
  return {
    file: legacy.label,
    path: legacy.file,
    sha256: legacy.sha256,
    size: legacy.size,
    workflow_id: legacy.state.workflow_id,
    adopted_at: utcOffset(now),
    tool: 'workflow-orchestrator (Python)',
    legacy_log: present.includes(legacyLog) ? legacyLog : null,
    legacy_checkpoints: present.includes(checkpoints) ? checkpoints : null,
  };
}

export function markerFor(sessionId: string, legacy: LegacyState, hashes: LegacyFileHash[], now: Date): MigrationMarker {
  return {
    marker_version: 1,
    action: 'adopted',
    session_id: sessionId,
    adopted_at: utcOffset(now),
    orchestrator_version: ORCH_VERSION,
    pid: process.pid,
    source: {
      file: legacy.label,
      sha256: legacy.sha256,
      size: legacy.size,
      workflow_id: legacy.state.workflow_id,
      task: legacy.state.task_description,
    },
    legacy_files: hashes,
  };
}

/** The note a client sees with the change that adopted. */
export function adoptionNote(legacy: LegacyState, sessionId: string): string {
  return `Adopted the older Python tool's workflow from ${legacy.label} into the new session ${sessionId}, now current; the legacy files are kept unchanged and ignored from now on.`;
}
