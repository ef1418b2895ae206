import { describe, expect, test } from '@jest/globals';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LEGACY_FIXTURE, hashLegacy, makeLegacyRepo } from '../helpers/legacy-repo.js';
import { runOrchJson } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const { track } = useRepoRegistry();

const fixtureEvents = readFileSync(join(LEGACY_FIXTURE, '.workflow_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('legacy history in orch log and orch checkpoints', () => {
  test('with no session, log and checkpoints show the legacy files', async () => {
    const r = track(makeLegacyRepo());
    const log = await runOrchJson(['log', '-n', '3'], { cwd: r.root });
    expect(log.code).toBe(0);
    expect(log.json.source).toBe('legacy');
    expect(log.json.events.map((e: { timestamp: string }) => e.timestamp)).toEqual(fixtureEvents.slice(-3).map((e) => e.timestamp));
    const cps = await runOrchJson(['checkpoints'], { cwd: r.root });
    expect(cps.json.source).toBe('legacy');
    expect(cps.json.checkpoints).toHaveLength(1);
    expect(cps.json.checkpoints[0].checkpointId).toBe('cp_20261123_224914_a74650');
  });

  test('after adoption the session log follows the legacy history, and the legacy files are untouched', async () => {
    const r = track(makeLegacyRepo());
    const before = hashLegacy(r.root);
    expect((await runOrchJson(['complete', 'write_tests'], { cwd: r.root })).code).toBe(0);
    const log = await runOrchJson(['log', '-n', '1000'], { cwd: r.root });
    expect(log.json.source).toBe('session');
    const types = log.json.events.map((e: { event_type: string }) => e.event_type);
    expect(types.slice(0, fixtureEvents.length)).toEqual(fixtureEvents.map((e) => e.event_type));
    expect(types.slice(fixtureEvents.length)).toEqual(['workflow_adopted', 'item_completed']);
    const cps = await runOrchJson(['checkpoints'], { cwd: r.root });
    expect(cps.json.checkpoints.map((c: { checkpointId: string }) => c.checkpointId)).toEqual(['cp_20261123_224914_a74650']);
    expect(hashLegacy(r.root)).toEqual(before);
  });

  test('every read finds the adopted session when current is lost: status, log, checkpoints and feedback', async () => {
    const r = track(makeLegacyRepo());
    const done = await runOrchJson(['complete', 'write_tests'], { cwd: r.root });
    expect((await runOrchJson(['feedback', 'add', 'Kept across a lost current'], { cwd: r.root })).code).toBe(0);
    rmSync(join(r.root, '.orchestrator', 'current'));
    const status = await runOrchJson(['status'], { cwd: r.root });
    expect(status.json).toMatchObject({ source: 'session', sessionId: done.json.sessionId });
    const log = await runOrchJson(['log', '-n', '1'], { cwd: r.root });
    expect(log.json).toMatchObject({ sessionId: done.json.sessionId, source: 'session' });
    const cps = await runOrchJson(['checkpoints'], { cwd: r.root });
    expect(cps.json.sessionId).toBe(done.json.sessionId);
    const feedback = await runOrchJson(['feedback', 'list'], { cwd: r.root });
    expect(feedback.json.sessionId).toBe(done.json.sessionId);
    expect(feedback.json.entries.map((e: { text: string | null }) => e.text)).toContain('Kept across a lost current');
  });
});
