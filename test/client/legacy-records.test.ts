import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPaths } from '../../protocol/node/paths.js';
import { listLegacyCheckpoints, readLegacyEvents, readLegacyFeedback } from '../../daemon/legacy/legacy-records.js';
import { hashLegacyFiles, readLegacyState } from '../../daemon/legacy/legacy-state.js';
import { LEGACY_FIXTURE, hashLegacy, sha256 } from '../helpers/legacy-repo.js';

// These read the read-only fixture in place: a reader that tried to write would fail here.
const paths = repoPaths(LEGACY_FIXTURE);

describe('legacy records (for the log and checkpoint commands)', () => {
  test('readLegacyEvents returns the last N events of .workflow_log.jsonl, oldest first', async () => {
    const all = await readLegacyEvents(paths, 1000);
    expect(all.skippedLines).toBe(0);
    expect(all.events).toHaveLength(16);
    expect(all.events[0]).toMatchObject({ event_type: 'workflow_started', workflow_id: 'wf_e6e08552', phase_id: null, actor: 'system' });
    const last = await readLegacyEvents(paths, 3);
    expect(last.events).toEqual(all.events.slice(-3));
    expect((await readLegacyEvents(paths, 0)).events).toEqual([]);
    const approvals = all.events.filter((e) => e.actor === 'human').map((e) => e.item_id);
    expect(approvals).toEqual(expect.arrayContaining(['questions_answered', 'user_approval']));
  });

  test('listLegacyCheckpoints reads the checkpoint an older version wrote (no parent_checkpoint_id)', async () => {
    const list = await listLegacyCheckpoints(paths);
    expect(list).toEqual([
      {
        checkpointId: 'cp_20261123_224914_a74650',
        phaseId: 'EXECUTE',
        itemId: null,
        timestamp: '2026-11-23T22:49:14.955600+00:00',
        message: 'Plan approved, starting implementation',
        contextSummary: 'Task: Add rate limiting to the public API; Current Phase: EXECUTE; Progress: 8/37 items completed',
        decisions: ['Token bucket per API key', '429 + Retry-After on limit'],
        files: ['docs/plan.md', 'README.md', 'workflow.yaml', 'tests/test_cases.md'],
        path: '.workflow_checkpoints/cp_20261123_224914_a74650.json',
      },
    ]);
  });

  test('the legacy state parses with defaults and its hash is of the exact bytes; feedback keeps each record', async () => {
    const legacy = await readLegacyState(paths);
    expect(legacy).not.toBeNull();
    expect(legacy!.sha256).toBe(sha256(readFileSync(join(LEGACY_FIXTURE, '.workflow_state.json'))));
    expect(legacy!.warnings).toEqual([]);
    expect(legacy!.state.current_phase_id).toBe('EXECUTE');
    expect(legacy!.def.phases).toHaveLength(6);
    const hashes = await hashLegacyFiles(paths);
    expect(Object.fromEntries(hashes.map((h) => [h.file, h.sha256]))).toEqual(hashLegacy(LEGACY_FIXTURE));
    const feedback = await readLegacyFeedback(paths);
    expect(feedback.entries.map((e) => e.kind)).toEqual(['tool', 'process']);
    expect(feedback.entries[1]!.record).toMatchObject({ workflow_id: 'unknown', learnings: '' });
  });
});
