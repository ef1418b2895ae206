import { describe, expect, test } from '@jest/globals';
import { abandonWorkflow, advancePhase, approveItem, approvePhase, completeItem, skipItem } from '../../daemon/engine/operations.js';
import { buildStatusView, summarizeForList } from '../../daemon/engine/status-view.js';
import type { WorkflowDef, WorkflowState } from '../../daemon/engine/types.js';
import { deepFreeze, item, NOW, phase, stateFor } from '../helpers/engine-fixture.js';

const def: WorkflowDef = {
  name: 'View flow', version: '1.0', description: null, settings: {},
  phases: [
    phase('PLAN', [
      item('opt', { required: false }),
      item('write', { step_type: 'required' }, { type: 'file_exists', path: 'docs/plan.md' }),
      item('ok_gate', { step_type: 'gate' }, { type: 'manual_gate' }),
    ], { name: 'Planning' }),
    phase('BUILD', [item('code')], { exit_gate: 'human_approval', name: 'Building' }),
  ],
};
const ctx = { sessionId: 'ab12cd34', source: 'session' as const, warnings: ['checksum mismatch'] };
const fresh = (): WorkflowState => deepFreeze(stateFor(def));
const step = (s: WorkflowState, f: (s: WorkflowState) => { state: WorkflowState }): WorkflowState => deepFreeze(f(s).state);
const view = (s: WorkflowState) => buildStatusView(s, def, ctx);

describe('buildStatusView', () => {
  test('describes the current phase checklist, progress and blockers', () => {
    const v = view(fresh());
    expect(v).toMatchObject({
      active: true, sessionId: 'ab12cd34', workflowId: 'wf_test0001', workflowName: 'View flow', task: 'Test task',
      status: 'active', phase: 'PLAN', phaseName: 'Planning', canAdvance: false, source: 'session',
      warnings: ['checksum mismatch'], progress: { completed: 0, total: 4 },
      phaseProgress: { completed: 0, skipped: 0, total: 3 },
      blockers: ['write (pending)', 'ok_gate (pending)'],
    });
    expect(v.phases).toEqual([
      { id: 'PLAN', name: 'Planning', status: 'active' },
      { id: 'BUILD', name: 'Building', status: 'pending' },
    ]);
    expect(v.items[1]).toEqual({
      id: 'write', name: 'Item write', status: 'pending', required: true, stepType: 'required', verification: 'file_exists',
      skipReason: null, notes: null, approvedBy: null,
    });
    expect(v.items[0]!.required).toBe(false);
  });

  // Issue 12 changed what NEXT_ACTION says at a person's gate: the agent waits (orch wait), the
  // person approves (waitingForPerson), so these expectations changed from `orch approve-item`/`orch approve`.
  test('nextAction follows the first unfinished item, then advance, waits at a person\'s gate, and finish', () => {
    let s = fresh();
    expect(view(s).nextAction).toBe('orch complete opt --notes "<what you did>"');
    s = step(s, (x) => skipItem(x, def, 'opt', { reason: 'nothing optional' }, NOW));
    s = step(s, (x) => completeItem(x, def, 'write', { skipVerify: true }, undefined, NOW));
    expect(view(s)).toMatchObject({ nextAction: 'orch wait --item ok_gate', waitingForPerson: 'orch approve-item ok_gate' });
    s = step(s, (x) => approveItem(x, def, 'ok_gate', {}, NOW));
    expect(view(s)).toMatchObject({ nextAction: 'orch advance', waitingForPerson: null, canAdvance: true, phaseProgress: { completed: 2, skipped: 1, total: 3 } });
    s = step(s, (x) => advancePhase(x, def, {}, NOW));
    s = step(s, (x) => completeItem(x, def, 'code', {}, undefined, NOW));
    expect(view(s)).toMatchObject({
      nextAction: 'orch wait --phase', waitingForPerson: 'orch approve', blockers: ['Awaiting human approval'], progress: { completed: 3, total: 4 },
    });
    s = step(s, (x) => approvePhase(x, def, undefined, NOW));
    expect(view(s).nextAction).toBe('orch finish');
    s = step(s, (x) => advancePhase(x, def, {}, NOW));
    expect(view(s)).toMatchObject({ nextAction: 'orch finish', canAdvance: true });
  });

  test('a workflow that lets agents approve gets the approval command itself, with no one to wait for', () => {
    const open: WorkflowDef = { ...def, settings: { approvals: { allow_agent: true } } };
    let s = fresh();
    s = step(s, (x) => skipItem(x, open, 'opt', { reason: 'nothing optional' }, NOW));
    s = step(s, (x) => completeItem(x, open, 'write', { skipVerify: true }, undefined, NOW));
    expect(buildStatusView(s, open, ctx)).toMatchObject({ nextAction: 'orch approve-item ok_gate', waitingForPerson: null });
  });

  test('shows who approved a manual gate and the current phase', () => {
    const ada = { by: 'Ada', channel: 'cli', pid: 4242 };
    let s = fresh();
    s = step(s, (x) => approveItem(x, def, 'ok_gate', { approver: ada }, NOW));
    expect(view(s).items.find((i) => i.id === 'ok_gate')!.approvedBy).toEqual(ada);
    expect(view(s).phaseApprovedBy).toBeNull();
    s = step(s, (x) => approvePhase(x, def, undefined, NOW, { by: 'Bo', channel: 'editor', pid: null }));
    expect(view(s).phaseApprovedBy).toEqual({ by: 'Bo', channel: 'editor', pid: null });
  });

  test('a failed item is the next action', () => {
    const failed = structuredClone(fresh());
    failed.phases['PLAN']!.items['opt']!.status = 'completed';
    failed.phases['PLAN']!.items['write']!.status = 'failed';
    expect(view(failed).nextAction).toBe('orch complete write --notes "<what you did>"');
  });

  test('a finished workflow is inactive and suggests starting a new one', () => {
    const s = step(fresh(), (x) => abandonWorkflow(x, def, { reason: 'changed plans' }, NOW));
    expect(view(s)).toMatchObject({ active: false, status: 'abandoned', canAdvance: false, blockers: [], nextAction: 'orch start "<task>"' });
  });
});

describe('summarizeForList', () => {
  test('gives task, status, phase and overall progress', () => {
    const s = step(fresh(), (x) => completeItem(x, def, 'opt', {}, undefined, NOW));
    expect(summarizeForList(s)).toEqual({ task: 'Test task', status: 'active', phase: 'PLAN', progress: { completed: 1, total: 4 } });
  });
});
