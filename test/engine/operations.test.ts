import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  approveItem,
  completeItem,
  planComplete,
  type CompletePlan,
  type VerificationOutcome,
} from '../../daemon/engine/operations.js';
import { copyState } from '../../daemon/engine/ops-common.js';
import type { WorkflowDef, WorkflowState } from '../../daemon/engine/types.js';
import { checkFileExists, runCommand, type CommandRunResult } from '../../daemon/engine/verification.js';
import { deepFreeze, item, NOW, phase, refusal, stateFor } from '../helpers/engine-fixture.js';
import { makeTempDir } from '../helpers/temp-repo.js';

const def: WorkflowDef = {
  name: 'Test flow', version: '1.0', description: null, settings: { docs_dir: 'docs', test_command: 'npm test', bad: 'a; rm -rf /' },
  phases: [
    phase('PLAN', [
      item('write_plan', { step_type: 'required' }, { type: 'file_exists', path: '{{docs_dir}}/plan.md' }),
      item('notes_item'),
      item('user_ok', {}, { type: 'manual_gate' }),
      item('plan_gate', { step_type: 'gate' }, { type: 'manual_gate' }),
      item('lint', {}, { type: 'command', command: 'npm run lint' }),
      item('tests_gate', { step_type: 'gate' }, { type: 'command', command: '{{test_command}}' }),
      item('exit3_gate', { step_type: 'gate' }, { type: 'command', command: "bash -c 'exit 3'", expect_exit_code: 3 }),
      item('file_gate', { step_type: 'gate' }, { type: 'file_exists', path: 'docs/gate.md' }),
      item('unsafe', {}, { type: 'command', command: 'echo {{bad}}' }),
      item('piped', {}, { type: 'command', command: 'npm test | tee out' }),
    ]),
    phase('BUILD', [item('build_it')]),
  ],
};
const run = (exitCode: number | null, extra: Partial<CommandRunResult> = {}): CommandRunResult => ({
  exitCode, stdout: 'out', stderr: '', durationSeconds: 0.5, timedOut: false, ...extra,
});
const fileOutcome = (exists: boolean): VerificationOutcome => ({
  kind: 'file_exists', result: { type: 'file_exists', timestamp: 'T', path: '/repo/docs/plan.md', exists },
});
const cmdOutcome = (command: string, r: CommandRunResult): VerificationOutcome => ({ kind: 'command', command, run: r });
const fresh = (): WorkflowState => deepFreeze(stateFor(def));

describe('copyState', () => {
  test('copies everything but the definition, deeply and in the same key order, keeping a __proto__ key as data', () => {
    const state = stateFor(def);
    const meta = JSON.parse('{"z": 1, "__proto__": {"polluted": true}, "a": [{"b": [1, "x", null]}]}') as Record<string, unknown>;
    state.metadata = meta;
    const copy = copyState(state);
    expect(copy).toEqual(state);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(state));
    expect(copy.workflow_definition).toBe(state.workflow_definition);
    expect(copy.phases).not.toBe(state.phases);
    expect(copy.metadata).not.toBe(meta);
    expect(Object.keys(copy.metadata)).toEqual(['z', '__proto__', 'a']);
    expect(Object.getPrototypeOf(copy.metadata)).toBe(Object.prototype);
    expect((copy.metadata as { polluted?: unknown }).polluted).toBeUndefined();
    ((copy.metadata.a as Array<{ b: unknown[] }>)[0]!.b).push(2);
    copy.phases.PLAN!.items.write_plan!.status = 'completed';
    expect((meta.a as Array<{ b: unknown[] }>)[0]!.b).toEqual([1, 'x', null]);
    expect(state.phases.PLAN!.items.write_plan!.status).toBe('pending');
  });
});

describe('completeItem', () => {
  test('completes an item without verification and logs item_completed like the Python tool', () => {
    const before = fresh();
    const r = completeItem(before, def, 'notes_item', { notes: 'did it' }, undefined, NOW);
    const st = r.state.phases['PLAN']!.items['notes_item']!;
    expect(st.status).toBe('completed');
    expect(st.notes).toBe('did it');
    expect(st.completed_at).toMatch(/^2026-01-02T03:04:05\.000\d{3}Z$/);
    expect(r.events.map((e) => [e.event_type, e.message, e.details, e.actor, e.phase_id, e.item_id])).toEqual([
      ['item_completed', 'Completed item: notes_item', { notes: 'did it', step_type: 'flexible', has_evidence: false }, 'system', 'PLAN', 'notes_item'],
    ]);
    expect(before.phases['PLAN']!.items['notes_item']!.status).toBe('pending');
    expect(r.state).not.toBe(before);
  });

  test('an item of another phase is ItemNotFound and names that phase; an unknown id is ItemNotFound', () => {
    const err = refusal(() => completeItem(fresh(), def, 'build_it', {}, undefined, NOW));
    expect(err.errorName).toBe('ItemNotFound');
    expect(err.details).toMatchObject({ phase: 'BUILD', currentPhase: 'PLAN' });
    expect(err.message).toContain("'BUILD'");
    expect(refusal(() => completeItem(fresh(), def, 'nope', {}, undefined, NOW)).errorName).toBe('ItemNotFound');
  });

  test('item ids that name members of Object.prototype are plain unknown items', () => {
    for (const id of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const err = refusal(() => completeItem(fresh(), def, id, {}, undefined, NOW));
      expect(err.errorName).toBe('ItemNotFound');
      expect(err.message).toMatch(/^Item not found/);
    }
  });

  test('completing twice is a no-op; completing a skipped item is refused', () => {
    const once = completeItem(fresh(), def, 'notes_item', {}, undefined, NOW).state;
    const again = completeItem(deepFreeze(once), def, 'notes_item', {}, undefined, NOW);
    expect(again.events).toEqual([]);
    expect(again.message).toBe('Item already completed');
    const skipped = structuredClone(fresh());
    skipped.phases['PLAN']!.items['notes_item']!.status = 'skipped';
    expect(refusal(() => completeItem(skipped, def, 'notes_item', {}, undefined, NOW)).errorName).toBe('InvalidTransition');
  });

  test('notes over 2000 characters are InvalidArgument', () => {
    const err = refusal(() => completeItem(fresh(), def, 'notes_item', { notes: 'x'.repeat(2001) }, undefined, NOW));
    expect(err.errorName).toBe('InvalidArgument');
  });

  test('file_exists: a passing check stores the result and logs verification_passed first', () => {
    const plan = planComplete(fresh(), def, 'write_plan');
    expect(plan).toEqual({ kind: 'file_exists', path: 'docs/plan.md' });
    const r = completeItem(fresh(), def, 'write_plan', {}, fileOutcome(true), NOW);
    expect(r.events.map((e) => e.event_type)).toEqual(['verification_passed', 'item_completed']);
    expect(r.events[0]!.details).toEqual({ type: 'file_exists', timestamp: 'T', path: '/repo/docs/plan.md', exists: true });
    expect(r.state.phases['PLAN']!.items['write_plan']!.verification_result).toMatchObject({ exists: true });
  });

  test('file_exists: a failing check marks the item failed, counts a retry and returns VerificationFailed', () => {
    const r = completeItem(fresh(), def, 'write_plan', {}, fileOutcome(false), NOW);
    expect(r.error?.errorName).toBe('VerificationFailed');
    const st = r.state.phases['PLAN']!.items['write_plan']!;
    expect([st.status, st.retry_count]).toEqual(['failed', 1]);
    expect(r.events.map((e) => e.event_type)).toEqual(['verification_failed']);
    const retried = completeItem(deepFreeze(r.state), def, 'write_plan', {}, fileOutcome(true), NOW);
    expect(retried.state.phases['PLAN']!.items['write_plan']!.status).toBe('completed');
  });

  test('--skip-verify skips file/command verification of non-gate items', () => {
    expect(planComplete(fresh(), def, 'write_plan', { skipVerify: true })).toEqual({ kind: 'none' });
    const r = completeItem(fresh(), def, 'lint', { skipVerify: true }, undefined, NOW);
    expect(r.state.phases['PLAN']!.items['lint']!.status).toBe('completed');
  });

  test('command verification honours expect_exit_code and stores the command result shape', () => {
    const plan = planComplete(fresh(), def, 'lint');
    expect(plan).toEqual({ kind: 'command', command: 'npm run lint', expectExitCode: 0, isGate: false, timeoutMs: 300000 });
    const bad = completeItem(fresh(), def, 'lint', {}, cmdOutcome('npm run lint', run(2, { stderr: 'lint errors' })), NOW);
    expect(bad.error?.errorName).toBe('VerificationFailed');
    expect(bad.error?.message).toContain('Command failed (exit code 2, expected 0)');
    expect(Object.keys(bad.state.phases['PLAN']!.items['lint']!.verification_result!)).toEqual([
      'type', 'timestamp', 'command', 'command_args', 'original_command', 'exit_code', 'stdout', 'stderr',
    ]);
    const good = completeItem(fresh(), def, 'lint', {}, cmdOutcome('npm run lint', run(0)), NOW);
    expect(good.events.map((e) => e.event_type)).toEqual(['verification_passed', 'item_completed']);
  });

  test('template values with shell metacharacters and shell operators are never run, and the item is recorded as failed', () => {
    for (const id of ['unsafe', 'piped']) {
      const plan = planComplete(fresh(), def, id);
      expect(plan).toMatchObject({ kind: 'refused', isGate: false });
      const r = completeItem(fresh(), def, id, {}, undefined, NOW);
      expect(r.error?.errorName).toBe('VerificationFailed');
      expect(r.error?.message).toMatch(/needs a shell|Unsafe characters/);
      expect(r.state.phases['PLAN']!.items[id]!.status).toBe('failed');
      expect(r.events.map((e) => e.event_type)).toEqual(['verification_failed']);
    }
  });

  test('completing with a missing or mismatched outcome is refused', () => {
    expect(refusal(() => completeItem(fresh(), def, 'lint', {}, undefined, NOW)).errorName).toBe('Internal');
    const err = refusal(() => completeItem(fresh(), def, 'lint', {}, cmdOutcome('other', run(0)), NOW));
    expect(err.errorName).toBe('InvalidTransition');
  });
});

describe('gates', () => {
  test('a gate command runs even with --skip-verify and logs gate_executed then gate_passed', () => {
    const plan = planComplete(fresh(), def, 'tests_gate', { skipVerify: true }) as Extract<CompletePlan, { kind: 'command' }>;
    expect([plan.kind, plan.command, plan.isGate]).toEqual(['command', 'npm test', true]);
    const r = completeItem(fresh(), def, 'tests_gate', { skipVerify: true }, cmdOutcome('npm test', run(0)), NOW);
    expect(r.events.map((e) => [e.event_type, e.message])).toEqual([
      ['gate_executed', 'Executing gate: npm test'],
      ['gate_passed', 'Gate passed: tests_gate'],
      ['item_completed', 'Completed item: tests_gate'],
    ]);
    expect(r.state.phases['PLAN']!.items['tests_gate']!.gate_result).toEqual({
      success: true, exit_code: 0, stdout: 'out', stderr: '', command: 'npm test', duration_seconds: 0.5, error: null,
    });
  });

  test('a failing gate counts a retry and stores gate_result but keeps the status', () => {
    const r = completeItem(fresh(), def, 'tests_gate', {}, cmdOutcome('npm test', run(1, { stderr: 'boom' })), NOW);
    const st = r.state.phases['PLAN']!.items['tests_gate']!;
    expect([st.status, st.retry_count, st.gate_result?.['success']]).toEqual(['pending', 1, false]);
    expect(r.error?.errorName).toBe('VerificationFailed');
    expect(r.error?.message).toContain('Gate failed (exit code 1): boom');
    expect(r.events.map((e) => e.event_type)).toEqual(['gate_executed', 'gate_failed']);
  });

  test('fix (f): gate commands honour expect_exit_code', () => {
    const cmd = "bash -c 'exit 3'";
    const ok = completeItem(fresh(), def, 'exit3_gate', {}, cmdOutcome(cmd, run(3)), NOW);
    expect(ok.state.phases['PLAN']!.items['exit3_gate']!.status).toBe('completed');
    const zero = completeItem(fresh(), def, 'exit3_gate', {}, cmdOutcome(cmd, run(0)), NOW);
    expect(zero.error?.errorName).toBe('VerificationFailed');
  });

  test('fix (d): a gate with file_exists verification is checked, even with --skip-verify', () => {
    expect(planComplete(fresh(), def, 'file_gate', { skipVerify: true })).toEqual({ kind: 'file_exists', path: 'docs/gate.md' });
    const r = completeItem(fresh(), def, 'file_gate', { skipVerify: true }, fileOutcome(false), NOW);
    expect(r.error?.errorName).toBe('VerificationFailed');
  });
});

describe('manual gates and approveItem', () => {
  test.each(['user_ok', 'plan_gate'])('fixes (c)(d)(e): %s cannot be completed, with or without --skip-verify', (id) => {
    for (const skipVerify of [false, true]) {
      expect(refusal(() => planComplete(fresh(), def, id, { skipVerify })).errorName).toBe('InvalidTransition');
      expect(refusal(() => completeItem(fresh(), def, id, { skipVerify }, undefined, NOW)).errorName).toBe('InvalidTransition');
    }
  });

  test('zero_human supervision does not auto-skip manual gates', () => {
    const zero: WorkflowDef = { ...def, settings: { ...def.settings, supervision_mode: 'zero_human' } };
    expect(refusal(() => completeItem(fresh(), zero, 'user_ok', {}, undefined, NOW)).errorName).toBe('InvalidTransition');
  });

  test('approve-item completes a manual gate with the Python tool record and a human actor', () => {
    const r = approveItem(fresh(), def, 'plan_gate', { notes: 'Plan approved' }, NOW);
    const st = r.state.phases['PLAN']!.items['plan_gate']!;
    expect(st.status).toBe('completed');
    expect(st.notes).toBe('Plan approved');
    expect(st.verification_result).toEqual({ approved: true, approved_at: expect.stringMatching(/\+00:00$/), type: 'manual_gate' });
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({
      event_type: 'item_completed', message: 'Approved manual gate: plan_gate', details: { notes: 'Plan approved', approved: true },
      actor: 'human', phase_id: 'PLAN', item_id: 'plan_gate',
    });
    expect(approveItem(deepFreeze(r.state), def, 'plan_gate', {}, NOW).message).toBe('Item already approved');
  });

  test('approve-item refuses items that are not manual gates', () => {
    expect(refusal(() => approveItem(fresh(), def, 'notes_item', {}, NOW)).errorName).toBe('InvalidTransition');
    expect(refusal(() => approveItem(fresh(), def, 'build_it', {}, NOW)).errorName).toBe('ItemNotFound');
  });
});

describe('fix (b): finished workflows refuse every change', () => {
  test.each(['completed', 'abandoned'] as const)('a %s workflow refuses complete, approve and plan', (status) => {
    const st = deepFreeze({ ...stateFor(def), status });
    for (const fn of [
      () => completeItem(st, def, 'notes_item', {}, undefined, NOW),
      () => planComplete(st, def, 'notes_item'),
      () => approveItem(st, def, 'user_ok', {}, NOW),
    ]) {
      expect(refusal(fn).errorName).toBe('InvalidTransition');
    }
  });
});

describe('planComplete → real verification → completeItem', () => {
  let repo = '';
  beforeAll(async () => {
    repo = makeTempDir('orch-ops-');
    await mkdir(path.join(repo, 'docs'));
    await writeFile(path.join(repo, 'docs', 'plan.md'), '# plan\n');
  });
  afterAll(async () => rm(repo, { recursive: true, force: true }));

  test('a file check against a real repo completes the item and stores the absolute path', async () => {
    const plan = planComplete(fresh(), def, 'write_plan');
    if (plan.kind !== 'file_exists') throw new Error('expected a file plan');
    const result = await checkFileExists(repo, plan.path);
    const r = completeItem(fresh(), def, 'write_plan', {}, { kind: 'file_exists', result }, NOW);
    expect(r.state.phases['PLAN']!.items['write_plan']!.status).toBe('completed');
    expect(r.events[0]!.details['path']).toMatch(/docs\/plan\.md$/);
  });

  test('a real gate command with expect_exit_code 3 passes', async () => {
    const plan = planComplete(fresh(), def, 'exit3_gate');
    if (plan.kind !== 'command') throw new Error('expected a command plan');
    const result = await runCommand(plan.command, { cwd: repo, timeoutMs: plan.timeoutMs });
    const r = completeItem(fresh(), def, 'exit3_gate', {}, { kind: 'command', command: plan.command, run: result }, NOW);
    expect(r.error).toBeUndefined();
    expect(r.state.phases['PLAN']!.items['exit3_gate']!.gate_result).toMatchObject({ success: true, exit_code: 3 });
  });
});
