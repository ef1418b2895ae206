/**
 * Replays, with orch, the command sequence the Python tool ran to produce
 * test/fixtures/new-layout (see its README.md), and compares what orch writes with what Python
 * wrote: state, log and checkpoint, field by field, ignoring only ids, times, the repo path and
 * orch's own evidence (the fingerprint of the tree a check ran on, which the Python tool never had).
 */
import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeChecksum, parseStateFile } from '../../daemon/engine/checksum.js';
import { parseLossless } from '../../daemon/engine/pyjson.js';
import { NEW_LAYOUT_FIXTURE } from '../helpers/fixtures.js';
import { git, type TempRepo } from '../helpers/temp-repo.js';
import { runOrch, runOrchJson } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const FIXTURE = NEW_LAYOUT_FIXTURE;
const FIXTURE_SESSION = join(FIXTURE, '.orchestrator', 'sessions', '2f76b47f');
const FIXTURE_CHECKPOINT = join(FIXTURE_SESSION, 'checkpoints', 'cp_20261123_225141_678704_6893_c613.json');
/** Where the Python tool ran (it is inside absolute paths in the fixture's state and log). */
const FIXTURE_ROOT = '/home/dev/demo-new';

const { repo } = useRepoRegistry();

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const TIME_KEY = /(^|_)(at|timestamp)$/;
const ID_KEYS = new Set(['workflow_id', 'checkpoint_id', 'parent_checkpoint_id']);
/** What orch records beyond the Python tool: who approved (issue 12; test/client/approvals.test.ts). */
const APPROVER_KEY = /(^|_)approved_by$/;

/**
 * Replaces what legitimately differs between two runs: times (keeping null-ness), workflow and
 * checkpoint ids, the integrity trailer, the repository's absolute path, and the approver records
 * orch adds (extra keys inside dicts the Python tool reads as they are).
 */
function normalise(value: Json, root: string): Json {
  if (Array.isArray(value)) return value.map((v) => normalise(v, root));
  if (typeof value === 'string') return value.split(root).join('<repo>');
  if (value === null || typeof value !== 'object') return value;
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '_checksum' || k === '_updated_at' || APPROVER_KEY.test(k)) continue;
    if (k === 'evidence' && v !== null && typeof v === 'object' && !Array.isArray(v) && 'method' in v) continue;
    if ((TIME_KEY.test(k) || ID_KEYS.has(k)) && v !== null) out[k] = `<${k}>`;
    else out[k] = normalise(v, root);
  }
  return out;
}

function readJson(file: string): Json {
  return JSON.parse(readFileSync(file, 'utf8')) as Json;
}

function readEvents(file: string): { [k: string]: Json }[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { [k: string]: Json });
}

async function orch(r: TempRepo, ...args: string[]): Promise<string> {
  const res = await runOrch(args, { cwd: r.root });
  if (res.code !== 0) throw new Error(`orch ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
  return res.stdout;
}

/** The fixture README's sequence, with orch (`init` → copy of the fixture's workflow.yaml; no feedback capture). */
async function replayFixture(r: TempRepo): Promise<string> {
  writeFileSync(join(r.root, 'README.md'), '# demo-api\n\nSmall demo service used to exercise workflow-orchestrator.\n');
  git(r.root, 'add', 'README.md');
  git(r.root, 'commit', '-qm', 'Initial commit: README');
  cpSync(join(FIXTURE, 'workflow.yaml'), join(r.root, 'workflow.yaml'));
  const { json } = await runOrchJson(['start', 'Add rate limiting to the public API', '--project', 'demo-api'], { cwd: r.root });
  await orch(r, 'complete', 'check_roadmap', '--notes', 'Reviewed ROADMAP: no existing rate-limiting item; adding as API-12');
  await orch(r, 'complete', 'clarifying_questions', '--notes', 'Asked: per-IP or per-key limits? Recommendation: per-key, 100 req/min, 429 with Retry-After');
  await orch(r, 'approve-item', 'questions_answered', '--notes', 'User: use your recommendations');
  mkdirSync(join(r.root, 'docs'));
  mkdirSync(join(r.root, 'tests'));
  writeFileSync(join(r.root, 'docs', 'plan.md'), '# Plan: rate limiting\n\n- Token bucket per API key, 100 req/min\n- Return 429 + Retry-After\n');
  // Both files are written before their checks run, so every check of the phase ran on the tree
  // that is there at `advance` (a file written after a check passed would make its evidence stale).
  writeFileSync(join(r.root, 'tests', 'test_cases.md'), '# Test cases\n\n1. 100 requests in a minute pass\n2. 101st request gets 429 with Retry-After\n');
  await orch(r, 'complete', 'initial_plan', '--notes', 'Wrote docs/plan.md (token bucket per API key)');
  await orch(r, 'skip', 'risk_analysis', '--reason', 'Small isolated middleware change; risks covered inline in docs/plan.md');
  await orch(r, 'complete', 'define_test_cases', '--notes', 'Listed 2 cases in tests/test_cases.md');
  await orch(r, 'complete', 'parallel_execution_check', '--notes', 'Sequential: single middleware change, no independent subtasks');
  await orch(r, 'approve-item', 'user_approval', '--notes', 'Plan approved');
  await orch(r, 'status');
  await orch(r, 'complete', 'plan_validation', '--notes', 'Self-reviewed docs/plan.md against request; no gaps found (no external models available)');
  await orch(r, 'advance');
  await orch(r, 'complete', 'handoff_decision', '--notes', 'Implementing directly in this session; no handoff');
  await orch(r, 'checkpoint', '--message', 'Plan approved, starting implementation', '--decision', 'Token bucket per API key', '--decision', '429 + Retry-After on limit', '--file', 'docs/plan.md');
  await orch(r, 'checkpoints');
  await orch(r, 'status');
  return json.sessionId as string;
}

describe('the fixture scenario, replayed with orch', () => {
  test('state, log and checkpoint match what the Python tool wrote', async () => {
    const r = repo();
    const sessionId = await replayFixture(r);
    const dir = join(r.root, '.orchestrator', 'sessions', sessionId);

    const ours = normalise(readJson(join(dir, 'state.json')), r.root) as { [k: string]: Json };
    const theirs = normalise(readJson(join(FIXTURE_SESSION, 'state.json')), FIXTURE_ROOT) as { [k: string]: Json };
    expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    // Field by field first, so a failure names the field.
    for (const key of Object.keys(theirs)) expect([key, ours[key]]).toEqual([key, theirs[key]]);
    expect(ours).toEqual(theirs);
    const definition = (file: string) => (readJson(file) as { [k: string]: Json }).workflow_definition;
    expect(definition(join(dir, 'state.json'))).toEqual(definition(join(FIXTURE_SESSION, 'state.json')));

    const ourEvents = readEvents(join(dir, 'log.jsonl'));
    const theirEvents = readEvents(join(FIXTURE_SESSION, 'log.jsonl'));
    expect(ourEvents.map((e) => e.event_type)).toEqual(theirEvents.map((e) => e.event_type));
    expect(ourEvents.map((e) => normalise(e, r.root))).toEqual(theirEvents.map((e) => normalise(e, FIXTURE_ROOT)));

    const checkpoints = readdirSync(join(dir, 'checkpoints'));
    expect(checkpoints).toHaveLength(1);
    const ourCp = readJson(join(dir, 'checkpoints', checkpoints[0]!)) as { [k: string]: Json };
    const theirCp = readJson(FIXTURE_CHECKPOINT) as { [k: string]: Json };
    expect(Object.keys(ourCp)).toEqual(Object.keys(theirCp));
    for (const key of ['phase_id', 'item_id', 'message', 'context_summary', 'key_decisions', 'file_manifest', 'parent_checkpoint_id']) {
      expect([key, ourCp[key]]).toEqual([key, theirCp[key]]);
    }
    expect(normalise(ourCp.workflow_state_snapshot!, r.root)).toEqual(normalise(theirCp.workflow_state_snapshot!, FIXTURE_ROOT));
    expect(readFileSync(join(dir, 'checkpoints', checkpoints[0]!), 'utf8').endsWith('}')).toBe(true);
  });

  test('the workflow definition frozen into state is the one Python froze, and our checksum of the fixture matches its own', () => {
    const text = readFileSync(join(FIXTURE_SESSION, 'state.json'), 'utf8');
    const raw = parseLossless(text) as Record<string, unknown>;
    expect(computeChecksum(raw)).toBe(raw._checksum);
    const parsed = parseStateFile(text, 'state.json');
    expect(parsed.integrity).toBe('ok');
    expect(parsed.state.current_phase_id).toBe('EXECUTE');
    const py = execFileSync('python3', ['-c', [
      'import json,hashlib,sys',
      'd=json.load(open(sys.argv[1])); c=d.pop("_checksum"); d.pop("_updated_at"); d.pop("_version")',
      'print(c == hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:32])',
    ].join('\n'), join(FIXTURE_SESSION, 'state.json')], { encoding: 'utf8' });
    expect(py.trim()).toBe('True');
  });

  test('orch status reads a copy of the fixture repository as it is', async () => {
    const r = repo({ git: false });
    cpSync(FIXTURE, r.root, { recursive: true });
    execFileSync('chmod', ['-R', 'u+w', r.root]);
    const before = readFileSync(join(r.root, '.orchestrator', 'sessions', '2f76b47f', 'state.json'));
    const { code, json } = await runOrchJson(['status'], { cwd: join(r.root, 'docs') });
    expect(code).toBe(0);
    expect(json).toMatchObject({
      sessionId: '2f76b47f',
      workflowId: 'wf_6601fe99',
      task: 'Add rate limiting to the public API',
      status: 'active',
      phase: 'EXECUTE',
      progress: { completed: 9, total: 39 },
    });
    const human = await runOrch(['status'], { cwd: r.root });
    expect(human.stdout).toContain('Task: Add rate limiting to the public API');
    expect(human.stdout).toMatch(/Phase: EXECUTE - Implementation/);
    expect(human.stdout).toMatch(/9\/39 overall/);
    const cps = await runOrchJson(['checkpoints'], { cwd: r.root });
    expect(cps.json.checkpoints.map((c: { checkpointId: string }) => c.checkpointId)).toEqual(['cp_20261123_225141_678704_6893_c613']);
    const log = await runOrchJson(['log', '-n', '2'], { cwd: r.root });
    expect(log.json.events.map((e: { event_type: string }) => e.event_type)).toEqual(['phase_started', 'item_completed']);
    // Reading changes nothing.
    expect(readFileSync(join(r.root, '.orchestrator', 'sessions', '2f76b47f', 'state.json')).equals(before)).toBe(true);
  });
});
