import { describe, expect, test } from '@jest/globals';
import {
  agentsMayApprove,
  assertMayApproveItem,
  assertMayApprovePhase,
  assertMayForcePast,
  assertMaySkip,
  type Caller,
} from '../../daemon/engine/human-gates.js';
import { approveItem, approvePhase } from '../../daemon/engine/operations.js';
import type { WorkflowDef } from '../../daemon/engine/types.js';
import { deepFreeze, item, NOW, phase, refusal, stateFor } from '../helpers/engine-fixture.js';

const def: WorkflowDef = {
  name: 'Gates', version: '1.0', description: null, settings: {},
  phases: [
    phase('PLAN', [item('write'), item('sign_off', { step_type: 'gate' }, { type: 'manual_gate' })], { exit_gate: 'human_approval' }),
    phase('BUILD', [item('code')]),
  ],
};
const allowing: WorkflowDef = { ...def, settings: { approvals: { allow_agent: true } } };
const person: Caller = { approver: { by: 'Ada', channel: 'cli', pid: 10 }, agent: false };
const agent: Caller = { approver: { by: 'bot', channel: 'mcp', pid: 11 }, agent: true };
const fresh = () => deepFreeze(stateFor(def));
const gateDef = def.phases[0]!.items[1]!;

describe('approvals carry an actor', () => {
  test('approving a manual gate keeps who, how and pid in verification_result and in the event', () => {
    const r = approveItem(fresh(), def, 'sign_off', { approver: person.approver }, NOW);
    expect(r.state.phases['PLAN']!.items['sign_off']!.verification_result).toEqual({
      approved: true, approved_at: expect.stringMatching(/\+00:00$/), type: 'manual_gate', approved_by: { by: 'Ada', channel: 'cli', pid: 10 },
    });
    expect(r.events[0]).toMatchObject({ actor: 'human', details: { approved: true, approved_by: { by: 'Ada', channel: 'cli', pid: 10 } } });
  });

  test('approving a phase keeps who, how and pid in metadata and in the event', () => {
    const r = approvePhase(fresh(), def, 'PLAN', NOW, { by: 'Bo', channel: 'web', pid: null });
    expect(r.state.metadata['phase_PLAN_approved_by']).toEqual({ by: 'Bo', channel: 'web', pid: null });
    expect(r.events[0]).toMatchObject({ actor: 'human', details: { approved_by: { by: 'Bo', channel: 'web', pid: null } } });
  });
});

describe('agents cannot approve by default', () => {
  test('an agent is refused at approve-item and approve, and told to run orch wait', () => {
    const item = refusal(() => assertMayApproveItem(agent, def, 'sign_off'));
    expect(item.errorName).toBe('AgentCannotApprove');
    expect(item.message).toContain('orch wait --item sign_off');
    expect(item.message).toContain('orch approve-item sign_off');
    const ph = refusal(() => assertMayApprovePhase(agent, def, 'PLAN'));
    expect(ph.errorName).toBe('AgentCannotApprove');
    expect(ph.message).toContain('orch wait --phase');
    expect(() => assertMayApproveItem(person, def, 'sign_off')).not.toThrow();
    expect(() => assertMayApprovePhase(person, def, 'PLAN')).not.toThrow();
  });

  test('settings.approvals.allow_agent: true lets agents approve', () => {
    expect(agentsMayApprove(allowing)).toBe(true);
    expect(agentsMayApprove(def)).toBe(false);
    expect(agentsMayApprove({ ...def, settings: { approvals: { allow_agent: 'yes' } } })).toBe(false);
    expect(() => assertMayApproveItem(agent, allowing, 'sign_off')).not.toThrow();
    expect(() => assertMaySkip(agent, allowing, gateDef)).not.toThrow();
  });

  test('an agent cannot skip a manual gate nor force past a person\'s approval', () => {
    expect(refusal(() => assertMaySkip(agent, def, gateDef)).errorName).toBe('AgentCannotApprove');
    expect(() => assertMaySkip(agent, def, def.phases[0]!.items[0])).not.toThrow();
    expect(() => assertMaySkip(person, def, gateDef)).not.toThrow();
    const forced = refusal(() => assertMayForcePast(agent, fresh(), def, 'advance'));
    expect(forced).toMatchObject({ errorName: 'AgentCannotApprove', details: { itemId: 'sign_off' } });
    // With the gate approved, the phase's human_approval gate still stands in the way.
    const gateDone = approveItem(fresh(), def, 'sign_off', { approver: person.approver }, NOW).state;
    expect(refusal(() => assertMayForcePast(agent, gateDone, def, 'finish'))).toMatchObject({ details: { phase: 'PLAN' } });
    const allDone = approvePhase(gateDone, def, 'PLAN', NOW, person.approver).state;
    expect(() => assertMayForcePast(agent, allDone, def, 'advance')).not.toThrow();
    expect(() => assertMayForcePast(person, fresh(), def, 'advance')).not.toThrow();
  });
});
