/**
 * The workflow rules (reference §3 and §7), through the spawned CLI and a real daemon: gates and
 * verification, skip rules, human approval, the last phase, finished workflows, blockers.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TempRepo } from '../helpers/temp-repo.js';
import { runOrch, runOrchJson } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const { repo } = useRepoRegistry();

/** A temp git repo with `workflow.yaml` and a started session; returns the repo and the session id. */
async function started(workflow: string): Promise<{ r: TempRepo; id: string }> {
  const r = repo();
  writeFileSync(join(r.root, 'workflow.yaml'), workflow);
  const { code, json, stderr } = await runOrchJson(['start', 'Exercise the rules'], { cwd: r.root });
  if (code !== 0) throw new Error(`orch start exited ${code}: ${stderr} ${JSON.stringify(json)}`);
  return { r, id: json.sessionId as string };
}

function state(r: TempRepo, id: string): any {
  return JSON.parse(readFileSync(join(r.root, '.orchestrator', 'sessions', id, 'state.json'), 'utf8'));
}

function eventTypes(r: TempRepo, id: string): string[] {
  const text = readFileSync(join(r.root, '.orchestrator', 'sessions', id, 'log.jsonl'), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l).event_type as string);
}

/** Runs orch --json in the repo and returns exit code and the document. */
async function orch(r: TempRepo, ...args: string[]): Promise<{ code: number | null; json: any }> {
  const { code, json } = await runOrchJson(args, { cwd: r.root });
  return { code, json };
}

const CHECKS = `name: "Checks"
version: "1.0"
phases:
  - id: CHECKS
    name: "Checks"
    items:
      - id: gate_ok
        name: "A gate that passes"
        step_type: gate
        verification: {type: command, command: "true"}
      - id: gate_bad
        name: "A gate that fails"
        step_type: gate
        verification: {type: command, command: "ls /nonexistent-orch-dir"}
      - id: plan_file
        name: "The plan exists"
        verification: {type: file_exists, path: "docs/plan.md"}
      - id: sign_off
        name: "A person signs off"
        verification: {type: manual_gate, description: "orch approve-item sign_off"}
`;

describe('verification', () => {
  test('a command gate that passes completes; one that fails exits 1 and counts a retry', async () => {
    const { r, id } = await started(CHECKS);
    const ok = await orch(r, 'complete', 'gate_ok');
    expect(ok.code).toBe(0);
    expect(state(r, id).phases.CHECKS.items.gate_ok).toMatchObject({ status: 'completed', gate_result: { success: true, exit_code: 0 } });

    const bad = await orch(r, 'complete', 'gate_bad');
    expect(bad.code).toBe(1);
    expect(bad.json.error.name).toBe('VerificationFailed');
    expect(bad.json.error.message).toMatch(/Gate failed \(exit code 2\)/);
    const item = state(r, id).phases.CHECKS.items.gate_bad;
    expect(item).toMatchObject({ status: 'pending', retry_count: 1, gate_result: { success: false, exit_code: 2, command: 'ls /nonexistent-orch-dir' } });
    expect(item.gate_result.stderr).toMatch(/nonexistent-orch-dir/);
    // --skip-verify never skips a gate's command: it runs again and fails again.
    expect((await orch(r, 'complete', 'gate_bad', '--skip-verify')).code).toBe(1);
    expect(state(r, id).phases.CHECKS.items.gate_bad.retry_count).toBe(2);
    expect(eventTypes(r, id).slice(2)).toEqual([
      'gate_executed', 'gate_passed', 'item_completed', 'gate_executed', 'gate_failed', 'gate_executed', 'gate_failed',
    ]);
  });

  test('file_exists fails (recorded as failed) until the file exists, then completes', async () => {
    const { r, id } = await started(CHECKS);
    const missing = await orch(r, 'complete', 'plan_file');
    expect(missing.code).toBe(1);
    expect(missing.json.error.message).toMatch(/File not found: docs\/plan\.md/);
    expect(state(r, id).phases.CHECKS.items.plan_file).toMatchObject({
      status: 'failed',
      retry_count: 1,
      verification_result: { type: 'file_exists', path: join(r.root, 'docs', 'plan.md'), exists: false },
    });
    const blocked = await orch(r, 'advance');
    expect(blocked.json.error.details.blockers).toEqual(expect.arrayContaining(['plan_file (failed)', 'gate_ok (pending)']));

    mkdirSync(join(r.root, 'docs'));
    writeFileSync(join(r.root, 'docs', 'plan.md'), '# plan\n');
    expect((await orch(r, 'complete', 'plan_file', '--notes', 'wrote it')).code).toBe(0);
    const item = state(r, id).phases.CHECKS.items.plan_file;
    expect(item).toMatchObject({ status: 'completed', notes: 'wrote it', retry_count: 1, verification_result: { type: 'file_exists', exists: true } });
    // The Python tool's keys in its order, then orch's fingerprint of the tree the check ran on.
    expect(Object.keys(item.verification_result)).toEqual(['type', 'timestamp', 'path', 'exists', 'evidence']);
  });

  test('--skip-verify never completes a manual gate; only approve-item does', async () => {
    const { r, id } = await started(CHECKS);
    const res = await orch(r, 'complete', 'sign_off', '--skip-verify');
    expect(res.code).toBe(1);
    expect(res.json.error.message).toMatch(/orch approve-item sign_off/);
    expect(state(r, id).phases.CHECKS.items.sign_off.status).toBe('pending');
    const status = await orch(r, 'status');
    expect(status.json.nextAction).toBe('orch complete gate_ok --notes "<what you did>"');
    expect((await orch(r, 'approve-item', 'sign_off', '--notes', 'Looks right')).code).toBe(0);
    expect(state(r, id).phases.CHECKS.items.sign_off).toMatchObject({
      status: 'completed',
      notes: 'Looks right',
      verification_result: { approved: true, type: 'manual_gate' },
    });
  });
});

const SKIPS = `name: "Skips"
version: "1.0"
phases:
  - id: WORK
    name: "Work"
    items:
      - id: flex
        name: "Flexible"
      - id: doc
        name: "Documented"
        step_type: documented
      - id: req
        name: "Required step"
        step_type: required
      - id: gate1
        name: "A gate"
        step_type: gate
        verification: {type: command, command: "true"}
`;
const LONG_REASON = 'This change touches no public interface, so the documented analysis would be empty.';

describe('skip rules', () => {
  test('reasons must be long enough, documented steps must say something, required steps never skip', async () => {
    const { r, id } = await started(SKIPS);
    const short = await orch(r, 'skip', 'flex', '--reason', 'nah');
    expect(short.code).toBe(1);
    expect(short.json.error.message).toMatch(/at least 10 characters/);
    expect((await orch(r, 'skip', 'flex', '--reason', 'Not relevant to this task')).code).toBe(0);

    const shallow = await orch(r, 'skip', 'doc', '--reason', 'not needed');
    expect(shallow.code).toBe(1);
    expect(shallow.json.error.message).toMatch(/too shallow/);
    const tooShort = await orch(r, 'skip', 'doc', '--reason', 'x'.repeat(49));
    expect(tooShort.code).toBe(1);
    expect(tooShort.json.error.message).toMatch(/too short \(49 chars\)/);
    expect((await orch(r, 'skip', 'doc', '--reason', LONG_REASON)).code).toBe(0);

    const required = await orch(r, 'skip', 'req', '--reason', LONG_REASON, '--force');
    expect(required.code).toBe(1);
    expect(required.json.error.message).toMatch(/required step and cannot be skipped/);

    const items = state(r, id).phases.WORK.items;
    expect(items.flex).toMatchObject({ status: 'skipped', skip_reason: 'Not relevant to this task' });
    expect(items.doc).toMatchObject({ status: 'skipped', skip_reason: LONG_REASON });
    expect(items.req.status).toBe('pending');
    expect(eventTypes(r, id).slice(2)).toEqual(['item_skipped', 'skip_rejected', 'skip_rejected', 'skip_validated', 'item_skipped']);
  });

  test('a gate is skipped only with --force and a reason of at least 50 characters', async () => {
    const { r, id } = await started(SKIPS);
    const plain = await orch(r, 'skip', 'gate1', '--reason', LONG_REASON);
    expect(plain.code).toBe(1);
    expect(plain.json.error.message).toMatch(/gate step and cannot be skipped/);
    const forcedShort = await orch(r, 'skip', 'gate1', '--force', '--reason', 'Flaky in CI today');
    expect(forcedShort.code).toBe(1);
    expect(forcedShort.json.error.message).toMatch(/at least 50 characters\)\. Got 17/);
    const forced = await orch(r, 'skip', 'gate1', '--force', '--reason', LONG_REASON);
    expect(forced.code).toBe(0);
    expect(forced.json.message).toMatch(/force-skipped/);
    expect(state(r, id).phases.WORK.items.gate1.status).toBe('skipped');
    const log = readFileSync(join(r.root, '.orchestrator', 'sessions', id, 'log.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(log.at(-1)!).details).toMatchObject({ force_skipped: true, step_type: 'gate' });
  });
});

const PHASES = `name: "Phases"
version: "1.0"
phases:
  - id: DESIGN
    name: "Design"
    exit_gate: human_approval
    items:
      - id: sketch
        name: "Sketch it"
      - id: polish
        name: "Optional polish"
        required: false
  - id: SHIP
    name: "Ship"
    items:
      - id: release
        name: "Release it"
`;

describe('phases and finished workflows', () => {
  test('advance lists blockers by id and status, and waits for orch approve on a human_approval gate', async () => {
    const { r, id } = await started(PHASES);
    const first = await orch(r, 'advance');
    expect(first.code).toBe(1);
    expect(first.json.error.name).toBe('InvalidTransition');
    expect(first.json.error.details.blockers).toEqual(['sketch (pending)', 'Awaiting human approval']);
    const human = await runOrch(['advance'], { cwd: r.root });
    expect(human.stderr).toMatch(/Blockers: sketch \(pending\), Awaiting human approval/);

    expect((await orch(r, 'complete', 'sketch')).code).toBe(0);
    const second = await orch(r, 'advance');
    expect(second.code).toBe(1);
    expect(second.json.error.details.blockers).toEqual(['Awaiting human approval']);
    // Issue 12: at a person's gate the agent waits, and the person is told how to approve.
    expect((await orch(r, 'status')).json).toMatchObject({ nextAction: 'orch wait --phase', waitingForPerson: 'orch approve' });

    expect((await orch(r, 'approve')).code).toBe(0);
    expect(state(r, id).metadata.phase_DESIGN_approved).toBe(true);
    const advanced = await orch(r, 'advance');
    expect(advanced.code).toBe(0);
    expect(advanced.json.status.phase).toBe('SHIP');
    expect(state(r, id).phases.DESIGN.status).toBe('completed');
  });

  test('advancing from the last phase completes it and points to orch finish; a finished workflow refuses changes', async () => {
    const { r, id } = await started(PHASES.replace('    exit_gate: human_approval\n', ''));
    for (const args of [['complete', 'sketch'], ['advance'], ['complete', 'release']]) expect((await orch(r, ...args)).code).toBe(0);
    const last = await orch(r, 'advance');
    expect(last.code).toBe(0);
    expect(last.json.status.nextAction).toBe('orch finish');
    expect(state(r, id).phases.SHIP.status).toBe('completed');
    expect(state(r, id).current_phase_id).toBe('SHIP');
    const text = await runOrch(['status'], { cwd: r.root });
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe('NEXT_ACTION: orch finish');

    expect((await orch(r, 'finish', '--notes', 'Done')).code).toBe(0);
    expect(state(r, id)).toMatchObject({ status: 'completed', metadata: { completion_notes: 'Done' } });
    const again = await orch(r, 'complete', 'release');
    expect(again.code).toBe(1);
    expect(again.json.error.name).toBe('InvalidTransition');
    expect(again.json.error.message).toMatch(/already completed/);
    expect((await orch(r, 'checkpoint', '-m', 'after the fact')).code).toBe(0); // a record, not a change
  });

  test('an abandoned workflow refuses orch complete with exit 1', async () => {
    const { r, id } = await started(PHASES);
    expect((await orch(r, 'finish', '--abandon', '--reason', 'Superseded by another approach')).code).toBe(0);
    expect(state(r, id)).toMatchObject({ status: 'abandoned', metadata: { abandon_reason: 'Superseded by another approach' } });
    const res = await runOrch(['complete', 'sketch'], { cwd: r.root });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/already abandoned/);
    expect(state(r, id).phases.DESIGN.items.sketch.status).toBe('pending');
  });
});
