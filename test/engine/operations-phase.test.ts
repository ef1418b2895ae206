import { describe, expect, test } from '@jest/globals';
import {
  abandonWorkflow,
  advancePhase,
  approveItem,
  approvePhase,
  canAdvance,
  completeItem,
  finishWorkflow,
  skipItem,
} from '../../daemon/engine/operations.js';
import type { WorkflowDef, WorkflowState } from '../../daemon/engine/types.js';
import { deepFreeze, item, NOW, phase, refusal, stateFor } from '../helpers/engine-fixture.js';

const def: WorkflowDef = {
  name: 'Phase flow', version: '1.0', description: null, settings: {},
  phases: [
    phase('PLAN', [item('a'), item('b'), item('opt', { required: false })]),
    phase('BUILD', [item('c')], { exit_gate: 'human_approval' }),
    phase('SHIP', [item('d')]),
  ],
};
const fresh = (): WorkflowState => deepFreeze(stateFor(def));
/** Completes the given items of the current phase, one transition at a time. */
function done(state: WorkflowState, ...ids: string[]): WorkflowState {
  return ids.reduce((s, id) => deepFreeze(completeItem(s, def, id, {}, undefined, NOW).state), state);
}
const advanced = (s: WorkflowState): WorkflowState => deepFreeze(advancePhase(s, def, {}, NOW).state);

describe('canAdvance', () => {
  test('lists unfinished required items as "<id> (<status>)"; optional items never block', () => {
    const failed = structuredClone(fresh());
    failed.phases['PLAN']!.items['b']!.status = 'failed';
    expect(canAdvance(failed, def)).toEqual({ ok: false, blockers: ['a (pending)', 'b (failed)'], skipped: [] });
  });

  test('skipped required items do not block and are reported as "<id>: <reason>"', () => {
    const s = deepFreeze(skipItem(done(fresh(), 'a'), def, 'b', { reason: 'covered by a' }, NOW).state);
    expect(canAdvance(s, def)).toEqual({ ok: true, blockers: [], skipped: ['b: covered by a'] });
  });

  test('exit_gate human_approval blocks until metadata.phase_<ID>_approved', () => {
    const build = done(advanced(done(fresh(), 'a', 'b')), 'c');
    expect(canAdvance(build, def)).toEqual({ ok: false, blockers: ['Awaiting human approval'], skipped: [] });
    const approved = approvePhase(build, def, undefined, NOW).state;
    expect(canAdvance(approved, def).ok).toBe(true);
  });
});

describe('advancePhase', () => {
  test('refuses with blockers, listing them and the fixes', () => {
    const err = refusal(() => advancePhase(fresh(), def, {}, NOW));
    expect(err.errorName).toBe('InvalidTransition');
    expect(err.details).toEqual({ phase: 'PLAN', blockers: ['a (pending)', 'b (pending)'] });
    expect(err.message).toContain('orch complete');
    expect(err.message).toContain('--force');
  });

  test('completes the phase, starts the next and logs phase_completed then phase_started', () => {
    const before = done(fresh(), 'a', 'b');
    const r = advancePhase(before, def, {}, NOW);
    expect(r.state.current_phase_id).toBe('BUILD');
    expect(r.state.phases['PLAN']).toMatchObject({ status: 'completed', completed_at: expect.stringMatching(/Z$/) });
    expect(r.state.phases['BUILD']).toMatchObject({ status: 'active', started_at: expect.stringMatching(/Z$/) });
    expect(r.events.map((e) => [e.event_type, e.phase_id, e.message, e.details])).toEqual([
      ['phase_completed', 'PLAN', 'Completed phase: PLAN', { skipped_items: [], forced: false }],
      ['phase_started', 'BUILD', 'Started phase: Phase BUILD', {}],
    ]);
    expect(r.message).toBe('Advanced to phase: Phase BUILD');
    expect(before.current_phase_id).toBe('PLAN');
  });

  test('--force advances past blockers and records forced: true', () => {
    const r = advancePhase(fresh(), def, { force: true }, NOW);
    expect(r.state.current_phase_id).toBe('BUILD');
    expect(r.events[0]!.details['forced']).toBe(true);
  });

  test('fix (a): advancing from the last phase marks it completed and points to orch finish', () => {
    const ship = advancePhase(done(advanced(done(fresh(), 'a', 'b')), 'c'), def, { force: true }, NOW).state;
    const r = advancePhase(done(deepFreeze(ship), 'd'), def, {}, NOW);
    expect(r.state.current_phase_id).toBe('SHIP');
    expect(r.state.phases['SHIP']!.status).toBe('completed');
    expect(r.events.map((e) => e.event_type)).toEqual(['phase_completed']);
    expect(r.message).toContain('orch finish');
    expect(refusal(() => advancePhase(deepFreeze(r.state), def, {}, NOW)).errorName).toBe('InvalidTransition');
    expect(refusal(() => skipItem(deepFreeze(r.state), def, 'd', { reason: 'too late now' }, NOW)).errorName).toBe('InvalidTransition');
  });
});

describe('approvePhase', () => {
  test('records the approval in metadata and logs human_override by a human', () => {
    const r = approvePhase(fresh(), def, 'BUILD', NOW);
    expect(r.state.metadata['phase_BUILD_approved']).toBe(true);
    expect(r.state.metadata['phase_BUILD_approved_at']).toMatch(/\+00:00$/);
    expect(r.events).toEqual([expect.objectContaining({
      event_type: 'human_override', phase_id: 'BUILD', message: 'Human approved phase: BUILD', actor: 'human', details: {},
    })]);
  });

  test('refuses a phase that does not exist', () => {
    expect(refusal(() => approvePhase(fresh(), def, 'NOPE', NOW)).errorName).toBe('InvalidTransition');
  });
});

describe('finishWorkflow and abandonWorkflow', () => {
  test('finish checks only the current phase, then completes with notes', () => {
    expect(refusal(() => finishWorkflow(fresh(), def, {}, NOW)).errorName).toBe('InvalidTransition');
    const r = finishWorkflow(done(fresh(), 'a', 'b'), def, { notes: 'shipped' }, NOW);
    expect(r.state.status).toBe('completed');
    expect(r.state.completed_at).toMatch(/Z$/);
    expect(r.state.metadata['completion_notes']).toBe('shipped');
    expect(r.state.phases['PLAN']!.status).toBe('completed');
    expect(r.events.map((e) => e.event_type)).toEqual(['phase_completed', 'workflow_completed']);
    expect(r.events[1]).toMatchObject({ message: 'Workflow completed', details: { notes: 'shipped' }, phase_id: null });
  });

  test('finish --force ignores blockers', () => {
    expect(finishWorkflow(fresh(), def, { force: true }, NOW).state.status).toBe('completed');
  });

  test('abandon requires a reason and records it', () => {
    expect(refusal(() => abandonWorkflow(fresh(), def, { reason: '  ' }, NOW)).errorName).toBe('InvalidArgument');
    const r = abandonWorkflow(fresh(), def, { reason: 'requirements changed' }, NOW);
    expect(r.state.status).toBe('abandoned');
    expect(r.state.metadata['abandon_reason']).toBe('requirements changed');
    expect(r.events).toEqual([expect.objectContaining({ event_type: 'workflow_abandoned', message: 'Workflow abandoned: requirements changed' })]);
  });

  test('fix (b): a completed or abandoned workflow refuses every further change', () => {
    const closed = [
      deepFreeze(finishWorkflow(fresh(), def, { force: true }, NOW).state),
      deepFreeze(abandonWorkflow(fresh(), def, { reason: 'stop' }, NOW).state),
    ];
    for (const s of closed) {
      for (const fn of [
        () => advancePhase(s, def, { force: true }, NOW),
        () => approvePhase(s, def, undefined, NOW),
        () => finishWorkflow(s, def, { force: true }, NOW),
        () => abandonWorkflow(s, def, { reason: 'again' }, NOW),
      ]) {
        expect(refusal(fn).errorName).toBe('InvalidTransition');
      }
    }
  });

  test('notes and reasons over 2000 characters are InvalidArgument', () => {
    expect(refusal(() => finishWorkflow(fresh(), def, { notes: 'x'.repeat(2001), force: true }, NOW)).errorName).toBe('InvalidArgument');
    expect(refusal(() => abandonWorkflow(fresh(), def, { reason: 'x'.repeat(2001) }, NOW)).errorName).toBe('InvalidArgument');
  });
});

describe('purity', () => {
  test('no operation modifies its input state, and each returns a new object', () => {
    const input = stateFor({ ...def, phases: [phase('PLAN', [item('a'), item('g', {}, { type: 'manual_gate' })]), def.phases[1]!] });
    const localDef = input.workflow_definition!;
    const snapshot = JSON.stringify(input);
    const results = [
      completeItem(input, localDef, 'a', { notes: 'n' }, undefined, NOW),
      skipItem(input, localDef, 'a', { reason: 'long enough reason' }, NOW),
      approveItem(input, localDef, 'g', {}, NOW),
      advancePhase(input, localDef, { force: true }, NOW),
      approvePhase(input, localDef, 'BUILD', NOW),
      finishWorkflow(input, localDef, { force: true }, NOW),
      abandonWorkflow(input, localDef, { reason: 'why' }, NOW),
    ];
    expect(JSON.stringify(input)).toBe(snapshot);
    for (const r of results) {
      expect(r.state).not.toBe(input);
      expect(r.state.phases).not.toBe(input.phases);
    }
  });
});
