/**
 * Issue 12, sections 1-3, through the spawned CLI (with a daemon, and in-process without one) in a
 * real git repo: approvals record who gave them and through which client; a client run under an
 * agent is refused and told to wait; NEXT_ACTION at a person's gate is `orch wait`.
 */
import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { orchEnv, runOrch, runOrchJson } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';
import type { TempRepo } from '../helpers/temp-repo.js';

const { repo } = useRepoRegistry();

const WORKFLOW = `name: "Sign-off"
version: "1.0"
phases:
  - id: PLAN
    name: "Plan"
    exit_gate: human_approval
    items:
      - id: sign_off
        name: "A person signs off"
        step_type: gate
        verification: {type: manual_gate, description: "orch approve-item sign_off"}
  - id: SHIP
    name: "Ship"
    items:
      - id: release
        name: "Release it"
`;

const AGENT = { CLAUDECODE: '1' };

/** A temp git repo whose git user is Ada Lovelace, with `workflow` and a started session. */
async function started(workflow = WORKFLOW): Promise<{ r: TempRepo; id: string }> {
  const r = repo();
  execFileSync('git', ['config', 'user.name', 'Ada Lovelace'], { cwd: r.root });
  writeFileSync(join(r.root, 'workflow.yaml'), workflow);
  const { code, json, stderr } = await runOrchJson(['start', 'Ship the change'], { cwd: r.root });
  if (code !== 0) throw new Error(`orch start exited ${code}: ${stderr}`);
  return { r, id: json.sessionId as string };
}

function state(r: TempRepo, id: string): any {
  return JSON.parse(readFileSync(join(r.root, '.orchestrator', 'sessions', id, 'state.json'), 'utf8'));
}

function events(r: TempRepo, id: string): any[] {
  return readFileSync(join(r.root, '.orchestrator', 'sessions', id, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

async function orch(r: TempRepo, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; json: any }> {
  const { code, json } = await runOrchJson(args, { cwd: r.root, env });
  return { code, json };
}

describe('approvals carry an actor', () => {
  test('approve-item records the git user name, the channel cli and the pid in state and log, and status shows who approved', async () => {
    const { r, id } = await started();
    const res = await orch(r, ['approve-item', 'sign_off']);
    expect(res.code).toBe(0);
    const approvedBy = state(r, id).phases.PLAN.items.sign_off.verification_result.approved_by;
    expect(approvedBy).toEqual({ by: 'Ada Lovelace', channel: 'cli', pid: expect.any(Number) });
    expect(approvedBy.pid).toBeGreaterThan(0);
    expect(events(r, id).at(-1)).toMatchObject({
      event_type: 'item_completed', item_id: 'sign_off', actor: 'human', details: { approved_by: { by: 'Ada Lovelace', channel: 'cli' } },
    });

    const status = await orch(r, ['status']);
    expect(status.json.items[0].approvedBy).toMatchObject({ by: 'Ada Lovelace', channel: 'cli' });
    const text = await runOrch(['status'], { cwd: r.root, env: {} });
    expect(text.stdout).toContain('✓ * sign_off — A person signs off — approved by Ada Lovelace (cli)');
  });

  test('--by overrides the git user name, for approve-item and approve alike', async () => {
    const { r, id } = await started();
    expect((await orch(r, ['approve-item', 'sign_off', '--by', 'Grace Hopper'])).code).toBe(0);
    expect((await orch(r, ['approve', '--by', 'Dana'])).code).toBe(0);
    const s = state(r, id);
    expect(s.phases.PLAN.items.sign_off.verification_result.approved_by.by).toBe('Grace Hopper');
    expect(s.metadata.phase_PLAN_approved).toBe(true);
    expect(s.metadata.phase_PLAN_approved_by).toMatchObject({ by: 'Dana', channel: 'cli' });
    expect(events(r, id).at(-1)).toMatchObject({ event_type: 'human_override', details: { approved_by: { by: 'Dana', channel: 'cli' } } });
    const text = await runOrch(['status'], { cwd: r.root, env: {} });
    expect(text.stdout).toContain('Phase PLAN approved by Dana (cli)');
    const log = await runOrch(['log', '-n', '1'], { cwd: r.root, env: {} });
    expect(log.stdout).toContain('(approved by Dana, cli)');
    // The records are extra keys inside dicts, so the Python tool's integrity check still passes.
    const py = execFileSync('python3', ['-c', [
      'import json,hashlib,sys',
      'd=json.load(open(sys.argv[1])); c=d.pop("_checksum"); d.pop("_updated_at"); d.pop("_version")',
      'print(c == hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:32])',
    ].join('\n'), join(r.root, '.orchestrator', 'sessions', id, 'state.json')], { encoding: 'utf8' });
    expect(py.trim()).toBe('True');
  });

  test('without a git user name the approver is $USER', async () => {
    const { r, id } = await started();
    execFileSync('git', ['config', '--unset', 'user.name'], { cwd: r.root });
    // No global or system git configuration either, so git has no user name at all.
    const env = { USER: 'zoe', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
    expect((await orch(r, ['approve-item', 'sign_off'], env)).code).toBe(0);
    expect(state(r, id).phases.PLAN.items.sign_off.verification_result.approved_by.by).toBe('zoe');
  });

  test('a library client is recorded with the channel it says in its hello', async () => {
    const { r, id } = await started();
    const { OrchClient, ItemApproveRequest } = await import('../../client/lib.js');
    const client = await OrchClient.connect({ root: r.root, env: orchEnv({ ORCH_DAEMON: '1' }), client: { kind: 'editor', name: 'orch.nvim' } });
    try {
      await client.request(ItemApproveRequest, { itemId: 'sign_off', by: 'Nvim User' });
    } finally {
      client.close();
    }
    expect(state(r, id).phases.PLAN.items.sign_off.verification_result.approved_by).toEqual({ by: 'Nvim User', channel: 'editor', pid: process.pid });
  });
});

describe('agents cannot approve by default', () => {
  test('CLAUDECODE=1 orch approve-item is refused with exit 1 and told to run orch wait; nothing is recorded', async () => {
    const { r, id } = await started();
    const res = await orch(r, ['approve-item', 'sign_off'], AGENT);
    expect(res.code).toBe(1);
    expect(res.json.error.name).toBe('AgentCannotApprove');
    expect(res.json.error.message).toContain('orch wait --item sign_off');
    expect(res.json.error.message).toContain('orch approve-item sign_off');
    const text = await runOrch(['approve-item', 'sign_off', '--by', 'Ada Lovelace'], { cwd: r.root, env: { ORCH_ACTOR_KIND: 'agent' } });
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/orch wait --item sign_off/);
    expect(state(r, id).phases.PLAN.items.sign_off.status).toBe('pending');
    expect(events(r, id).map((e) => e.event_type)).not.toContain('item_completed');

    const phase = await orch(r, ['approve'], { CODEX_SANDBOX: 'seatbelt' });
    expect(phase.code).toBe(1);
    expect(phase.json.error.message).toContain('orch wait --phase');
    expect(state(r, id).metadata.phase_PLAN_approved).toBeUndefined();
  });

  test('an agent cannot get around the gate with skip --force, advance --force or finish --force', async () => {
    const { r, id } = await started();
    const reason = 'The plan was reviewed in the pull request discussion, so this sign-off is redundant.';
    const skip = await orch(r, ['skip', 'sign_off', '--force', '--reason', reason], AGENT);
    expect(skip.code).toBe(1);
    expect(skip.json.error).toMatchObject({ name: 'AgentCannotApprove' });
    expect(skip.json.error.message).toContain('orch wait --item sign_off');
    for (const args of [['advance', '--force'], ['finish', '--force']]) {
      const res = await orch(r, args, AGENT);
      expect(res.code).toBe(1);
      expect(res.json.error.name).toBe('AgentCannotApprove');
    }
    const s = state(r, id);
    expect(s.phases.PLAN.items.sign_off.status).toBe('pending');
    expect(s.current_phase_id).toBe('PLAN');
    expect(s.status).toBe('active');
    // A person may still force their way on.
    expect((await orch(r, ['advance', '--force'])).code).toBe(0);
  });

  test('settings.approvals.allow_agent: true lets an agent approve, recorded with its channel', async () => {
    const { r, id } = await started(WORKFLOW.replace('phases:\n', 'settings:\n  approvals: {allow_agent: true}\nphases:\n'));
    expect((await orch(r, ['status'])).json.nextAction).toBe('orch approve-item sign_off');
    const res = await orch(r, ['approve-item', 'sign_off'], AGENT);
    expect(res.code).toBe(0);
    expect(state(r, id).phases.PLAN.items.sign_off.verification_result.approved_by).toMatchObject({ by: 'Ada Lovelace', channel: 'cli' });
  });

  test('a workflow.yaml whose allow_agent is not true or false is refused, naming the file and the setting', async () => {
    const r = repo();
    writeFileSync(join(r.root, 'workflow.yaml'), WORKFLOW.replace('phases:\n', 'settings:\n  approvals:\n    allow_agent: "only on Fridays"\nphases:\n'));
    const res = await orch(r, ['start', 'Bad setting']);
    expect(res.code).toBe(1);
    expect(res.json.error.name).toBe('InvalidWorkflow');
    expect(res.json.error.message).toMatch(/workflow\.yaml:5:18: settings\.approvals\.allow_agent: must be true or false/);
  });
});

describe("NEXT_ACTION at a person's gate", () => {
  test('is orch wait --item, and the status block says what the person runs; then orch wait --phase and orch approve', async () => {
    const { r } = await started();
    const text = await runOrch(['status'], { cwd: r.root, env: {} });
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines.slice(-2)).toEqual(['Waiting for a person: orch approve-item sign_off', 'NEXT_ACTION: orch wait --item sign_off']);
    const json = await orch(r, ['status']);
    expect(json.json).toMatchObject({ nextAction: 'orch wait --item sign_off', waitingForPerson: 'orch approve-item sign_off' });

    expect((await orch(r, ['approve-item', 'sign_off'])).code).toBe(0);
    const after = await runOrch(['status', '--session', json.json.sessionId], { cwd: r.root, env: {} });
    expect(after.stdout.trimEnd().split('\n').slice(-2)).toEqual([
      `Waiting for a person: orch approve --session ${json.json.sessionId}`,
      `NEXT_ACTION: orch wait --phase --session ${json.json.sessionId}`,
    ]);
  });
});

