import { describe, expect, test } from '@jest/globals';
import type { OrchError } from '../../daemon/errors.js';
import { documentedReasonProblem, skipItem } from '../../daemon/engine/operations.js';
import type { WorkflowDef, WorkflowState } from '../../daemon/engine/types.js';
import { deepFreeze, item, NOW, phase, refusal, stateFor } from '../helpers/engine-fixture.js';

const def: WorkflowDef = {
  name: 'Skip flow', version: '1.0', description: null, settings: {},
  phases: [
    phase('PLAN', [
      item('flex'),
      item('docd', { step_type: 'documented' }),
      item('req', { step_type: 'required' }),
      item('gate', { step_type: 'gate' }),
      item('locked', { skippable: false }),
      item('approval', {}, { type: 'manual_gate' }),
    ]),
    phase('BUILD', [item('later_item')]),
  ],
};
const fresh = (): WorkflowState => deepFreeze(stateFor(def));
const LONG = 'Small isolated middleware change; risks covered inline in docs/plan.md';
const skipRefusal = (id: string, reason: string, force?: boolean): OrchError =>
  refusal(() => skipItem(fresh(), def, id, { reason, ...(force === undefined ? {} : { force }) }, NOW));

describe('skipItem', () => {
  test('a flexible item skips with a 10-character reason and logs item_skipped', () => {
    const r = skipItem(fresh(), def, 'flex', { reason: 'not relevant' }, NOW);
    const st = r.state.phases['PLAN']!.items['flex']!;
    expect([st.status, st.skip_reason]).toEqual(['skipped', 'not relevant']);
    expect(st.skipped_at).toMatch(/Z$/);
    expect(r.events.map((e) => [e.event_type, e.message, e.details])).toEqual([
      ['item_skipped', 'Skipped item: flex', { reason: 'not relevant', step_type: 'flexible', context_considered: null, force_skipped: false }],
    ]);
    expect(r.message).toBe('Item flex skipped');
  });

  test('a flexible item needs at least 10 characters after trimming', () => {
    expect(skipRefusal('flex', '   too short   ').errorName).toBe('InvalidTransition');
    expect(skipRefusal('flex', '').errorName).toBe('InvalidTransition');
  });

  test('a documented item logs skip_validated {reason_length} before item_skipped', () => {
    const r = skipItem(fresh(), def, 'docd', { reason: LONG, contextConsidered: ['size'] }, NOW);
    expect(r.events.map((e) => [e.event_type, e.message])).toEqual([
      ['skip_validated', 'Skip reasoning validated'],
      ['item_skipped', 'Skipped item: docd'],
    ]);
    expect(r.events[0]!.details).toEqual({ reason_length: 70 });
    expect(r.events[1]!.details['context_considered']).toEqual(['size']);
    expect(r.state.phases['PLAN']!.items['docd']!.skip_context_considered).toEqual(['size']);
  });

  test('a documented item refuses reasons under 50 characters, logging skip_rejected', () => {
    const r = skipItem(fresh(), def, 'docd', { reason: 'This one is not needed for this change' }, NOW);
    expect(r.error?.errorName).toBe('InvalidTransition');
    expect(r.events.map((e) => e.event_type)).toEqual(['skip_rejected']);
    expect(r.state.phases['PLAN']!.items['docd']!.status).toBe('pending');
  });

  test.each(['n/a', 'NA', ' none ', 'Not Needed', 'not applicable', 'skip', 'skipped', 'done', 'ok', 'okay', 'no',
    'nothing', 'TBD', 'later'])('the shallow phrase %j is rejected for documented items', (phrase) => {
    expect(documentedReasonProblem(phrase)).toMatch(/too shallow/);
    expect(skipItem(fresh(), def, 'docd', { reason: phrase }, NOW).error?.errorName).toBe('InvalidTransition');
  });

  test('shallow phrases are whole-string matches only', () => {
    expect(documentedReasonProblem(`ok, ${LONG}`)).toBeUndefined();
  });

  test('a gate is refused without --force, with --force and a short reason, and skips with --force and 50 characters', () => {
    expect(skipRefusal('gate', LONG).errorName).toBe('InvalidTransition');
    expect(skipRefusal('gate', 'forced but with a short reason', true).errorName).toBe('InvalidTransition');
    const r = skipItem(fresh(), def, 'gate', { reason: LONG, force: true }, NOW);
    expect(r.message).toBe('Item gate force-skipped (gate verification bypassed)');
    expect(r.events.map((e) => [e.message, e.details['force_skipped']])).toEqual([['Force-skipped item: gate', true]]);
  });

  test('a gate check comes first: an unforced gate is refused even with a bad reason', () => {
    expect(skipRefusal('gate', '').errorName).toBe('InvalidTransition');
  });

  test('a required step is never skipped, even with --force', () => {
    expect(skipRefusal('req', LONG).errorName).toBe('InvalidTransition');
    expect(skipRefusal('req', LONG, true).errorName).toBe('InvalidTransition');
  });

  test('skippable: false is respected, even with --force', () => {
    expect(skipRefusal('locked', LONG).errorName).toBe('InvalidTransition');
    expect(skipRefusal('locked', LONG, true).errorName).toBe('InvalidTransition');
  });

  test('a skippable manual gate can be skipped', () => {
    expect(skipItem(fresh(), def, 'approval', { reason: LONG }, NOW).state.phases['PLAN']!.items['approval']!.status).toBe('skipped');
  });

  test('already completed or skipped items are refused', () => {
    const skipped = skipItem(fresh(), def, 'flex', { reason: 'not relevant' }, NOW).state;
    expect(refusal(() => skipItem(deepFreeze(skipped), def, 'flex', { reason: 'not relevant' }, NOW)).errorName).toBe('InvalidTransition');
    const done = structuredClone(fresh());
    done.phases['PLAN']!.items['flex']!.status = 'completed';
    expect(refusal(() => skipItem(done, def, 'flex', { reason: 'not relevant' }, NOW)).errorName).toBe('InvalidTransition');
  });

  test('items outside the current phase and unknown ids are ItemNotFound', () => {
    const err = skipRefusal('later_item', LONG);
    expect(err.errorName).toBe('ItemNotFound');
    expect(err.details).toMatchObject({ phase: 'BUILD' });
    expect(skipRefusal('ghost', LONG).errorName).toBe('ItemNotFound');
  });

  test('reasons over 2000 characters are InvalidArgument', () => {
    expect(skipRefusal('flex', 'x'.repeat(2001)).errorName).toBe('InvalidArgument');
  });

  test.each(['completed', 'abandoned'] as const)('fix (b): a %s workflow refuses skips', (status) => {
    const st = deepFreeze({ ...stateFor(def), status });
    expect(refusal(() => skipItem(st, def, 'flex', { reason: 'not relevant' }, NOW)).errorName).toBe('InvalidTransition');
  });
});
