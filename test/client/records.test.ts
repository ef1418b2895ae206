import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_WORKFLOW_YAML } from '../../daemon/engine/default-workflow.js';
import type { TempRepo } from '../helpers/temp-repo.js';
import { runOrch, runOrchJson } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const temp = useRepoRegistry();

const SMALL_WORKFLOW = `name: "Small"
version: "1.0"
phases:
  - id: PLAN
    name: "Plan"
    items:
      - id: write_plan
        name: "Write the plan"
      - id: review_plan
        name: "Review the plan"
  - id: BUILD
    name: "Build"
    items:
      - id: code
        name: "Write code"
`;

function repo(workflow: string | null = SMALL_WORKFLOW): TempRepo {
  const r = temp.repo();
  if (workflow !== null) writeFileSync(join(r.root, 'workflow.yaml'), workflow);
  return r;
}

async function startSession(r: TempRepo, ...extra: string[]): Promise<string> {
  const { code, json } = await runOrchJson(['start', 'Add rate limiting', ...extra], { cwd: r.root });
  expect(code).toBe(0);
  return json.sessionId as string;
}

function sessionFile(r: TempRepo, id: string, ...rest: string[]): string {
  return join(r.root, '.orchestrator', 'sessions', id, ...rest);
}

/** Python's own `json.dumps(json.load(f), indent=2)` of a file equals the file's text. */
function isPythonIndent2(file: string): boolean {
  const out = execFileSync('python3', ['-c', 'import json,sys; t=open(sys.argv[1]).read(); print(t == json.dumps(json.loads(t), indent=2))', file], {
    encoding: 'utf8',
  });
  return out.trim() === 'True';
}

describe('orch checkpoint and orch checkpoints', () => {
  test('writes cp_*.json with the reference fields in order, as Python json.dumps(indent=2) writes it', async () => {
    const r = repo();
    const id = await startSession(r, '-c', 'no new dependencies');
    expect((await runOrch(['complete', 'write_plan', '-q'], { cwd: r.root })).code).toBe(0);
    mkdirSync(join(r.root, 'docs'));
    writeFileSync(join(r.root, 'docs', 'plan.md'), '# plan\n');
    writeFileSync(join(r.root, 'notes.txt'), 'not an important extension\n');
    const first = await runOrchJson(['checkpoint', '-m', 'Plan written', '-d', 'Token bucket', '--decision', '429 + Retry-After', '-f', 'plan.md'], {
      cwd: join(r.root, 'docs'),
    });
    expect(first.code).toBe(0);
    const cp = first.json.checkpoint;
    expect(cp.checkpointId).toMatch(/^cp_\d{8}_\d{6}_\d{6}_\d{4}_[0-9a-f]{4}$/);
    expect(cp.files).toEqual(['docs/plan.md', 'workflow.yaml']); // -f from docs/ is repo-relative; .txt is not auto-detected

    const file = sessionFile(r, id, 'checkpoints', `${cp.checkpointId}.json`);
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('}')).toBe(true);
    expect(isPythonIndent2(file)).toBe(true);
    const onDisk = JSON.parse(text);
    expect(Object.keys(onDisk)).toEqual([
      'checkpoint_id', 'workflow_id', 'phase_id', 'item_id', 'timestamp', 'message', 'context_summary', 'key_decisions', 'file_manifest',
      'workflow_state_snapshot', 'parent_checkpoint_id',
    ]);
    const state = JSON.parse(readFileSync(sessionFile(r, id, 'state.json'), 'utf8'));
    expect(onDisk).toMatchObject({
      workflow_id: state.workflow_id,
      phase_id: 'PLAN',
      item_id: null,
      message: 'Plan written',
      context_summary: 'Task: Add rate limiting; Current Phase: PLAN; Progress: 1/3 items completed; Constraints: 1 active',
      key_decisions: ['Token bucket', '429 + Retry-After'],
      parent_checkpoint_id: null,
    });
    const { _version, _checksum, _updated_at, ...withoutTrailer } = state;
    expect(onDisk.workflow_state_snapshot).toEqual(withoutTrailer);
    const [, date, time, micros] = /^cp_(\d{8})_(\d{6})_(\d{6})_/.exec(cp.checkpointId)!;
    expect(onDisk.timestamp.replace(/[-:T]/g, '')).toBe(`${date}${time}.${micros}+0000`);
    expect(cp.checkpointId.slice(-4)).toBe(createHash('md5').update(state.workflow_id).digest('hex').slice(0, 4));
  });

  test('chains checkpoints to their parent and lists them oldest first', async () => {
    const r = repo();
    await startSession(r);
    writeFileSync(join(r.root, 'plan.md'), '# plan\n');
    const first = await runOrchJson(['checkpoint', '-m', 'Plan written'], { cwd: r.root });
    const cp = first.json.checkpoint;
    const second = await runOrch(['checkpoint'], { cwd: r.root });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^✓ Checkpoint created: cp_/);
    expect(second.stdout).toMatch(/Files tracked: 2/);
    const list = await runOrchJson(['checkpoints'], { cwd: r.root });
    expect(list.code).toBe(0);
    expect(list.json.checkpoints).toHaveLength(2);
    const [a, b] = list.json.checkpoints;
    expect(a.checkpointId).toBe(cp.checkpointId);
    expect(b).toMatchObject({ message: null, parentCheckpointId: cp.checkpointId, decisions: [] });
    const human = await runOrch(['checkpoints'], { cwd: r.root });
    expect(human.stdout.split('\n')[0]).toMatch(/^ID +PHASE +TIME \(UTC\) +MESSAGE$/);
    expect(human.stdout).toContain(`${cp.checkpointId}  PLAN `);
    expect(human.stdout).toContain('Plan written');
  });

  test('many checkpoints made at once all get their own file and a parent each', async () => {
    const r = repo();
    const id = await startSession(r);
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => runOrchJson(['checkpoint', '-m', `cp ${i}`], { cwd: r.root })));
    expect(runs.map((x) => x.code)).toEqual(Array(8).fill(0));
    const files = readdirSync(sessionFile(r, id, 'checkpoints'));
    expect(files.filter((f) => /^cp_.*\.json$/.test(f))).toHaveLength(8);
    expect(files).toHaveLength(8); // no temp files left behind
    const { json } = await runOrchJson(['checkpoints'], { cwd: r.root });
    const parents = json.checkpoints.map((c: { parentCheckpointId: string | null }) => c.parentCheckpointId);
    expect(parents[0]).toBeNull();
    expect(parents.slice(1)).toEqual(json.checkpoints.slice(0, -1).map((c: { checkpointId: string }) => c.checkpointId));
  });

  test('a --file outside the repository is refused with exit 2, and nothing is written', async () => {
    const r = repo();
    const id = await startSession(r);
    const outside = temp.repo({ git: false });
    symlinkSync(outside.root, join(r.root, 'escape'));
    for (const f of [join(outside.root, 'x.md'), '../elsewhere.md', 'escape/x.md']) {
      const res = await runOrchJson(['checkpoint', '-f', f], { cwd: r.root });
      expect(res.code).toBe(2);
      expect(res.json.error.name).toBe('PathOutsideRepo');
    }
    expect(readdirSync(sessionFile(r, id, 'checkpoints'))).toEqual([]);
  });

  test('without a workflow: checkpoint is refused (exit 1), checkpoints and log are empty', async () => {
    const r = repo();
    const res = await runOrch(['checkpoint', '-m', 'x'], { cwd: r.root });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^orch: .*orch start/);
    expect((await runOrchJson(['checkpoints'], { cwd: r.root })).json).toMatchObject({ sessionId: null, checkpoints: [] });
    expect((await runOrchJson(['log'], { cwd: r.root })).json).toMatchObject({ sessionId: null, events: [], skippedLines: 0 });
  });
});

describe('orch log', () => {
  test('-n 3 gives exactly the last 3 events in order; malformed lines are skipped and counted', async () => {
    const r = repo();
    const id = await startSession(r);
    for (const item of ['write_plan', 'review_plan']) expect((await runOrch(['complete', item, '-q'], { cwd: r.root })).code).toBe(0);
    expect((await runOrch(['advance', '-q'], { cwd: r.root })).code).toBe(0);
    const logFile = sessionFile(r, id, 'log.jsonl');
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    const last3 = await runOrchJson(['log', '-n', '3'], { cwd: r.root });
    expect(last3.code).toBe(0);
    expect(last3.json.events).toEqual(lines.slice(-3).map((l) => JSON.parse(l)));
    expect(last3.json.events.map((e: { event_type: string }) => e.event_type)).toEqual(['item_completed', 'phase_completed', 'phase_started']);

    appendFileSync(logFile, '{"truncated": \n\n[1, 2]\n');
    const all = await runOrchJson(['log', '-n', '100'], { cwd: r.root });
    expect(all.json.events).toHaveLength(lines.length);
    expect(all.json.skippedLines).toBe(2);
    const human = await runOrch(['log', '-n', '2'], { cwd: r.root });
    expect(human.code).toBe(0);
    const out = human.stdout.trim().split('\n');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} +phase_completed +PLAN +Completed phase: PLAN$/);
    expect(out[1]).toMatch(/phase_started +BUILD +Started phase: Build$/);
    expect(human.stderr).toMatch(/2 malformed line\(s\)/);
    expect((await runOrch(['log', '-n', 'lots'], { cwd: r.root })).code).toBe(2);
  });

  test('reads a large log from its end: lines across chunk boundaries stay whole, early bad lines are never read', async () => {
    const r = repo();
    const id = await startSession(r);
    const logFile = sessionFile(r, id, 'log.jsonl');
    const garbage = 'not json\n'.repeat(1000);
    const events = Array.from({ length: 30000 }, (_, i) =>
      JSON.stringify({ timestamp: '2026-01-01T00:00:00.000000Z', event_type: 'note_added', message: `event ${i} ${'x'.repeat(i % 97)}`, details: { i } }),
    );
    writeFileSync(logFile, garbage + events.join('\n') + '\n');
    const res = await runOrchJson(['log', '-n', '5000'], { cwd: r.root });
    expect(res.code).toBe(0);
    expect(res.json.skippedLines).toBe(0);
    expect(res.json.events.map((e: { details: { i: number } }) => e.details.i)).toEqual(Array.from({ length: 5000 }, (_, k) => 25000 + k));
    expect((await runOrchJson(['log', '-n', '10000'], { cwd: r.root })).json.events[0].details.i).toBe(20000);
    expect((await runOrch(['log', '-n', '10001'], { cwd: r.root })).code).toBe(2);
  });
});

describe('orch validate', () => {
  test('a valid file prints its name, version and counts; warnings are listed', async () => {
    const r = repo(SMALL_WORKFLOW.replace('phases:', 'colour: blue\nphases:'));
    const res = await runOrch(['validate'], { cwd: r.root });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^✓ workflow\.yaml is valid\n {2}Name: Small\n {2}Version: 1\.0\n {2}Phases: 2\n {2}Items: 3\n/);
    expect(res.stdout).toMatch(/Warnings \(1\):\n {2}.*workflow\.yaml:3:1: colour: unknown key/);
    const json = await runOrchJson(['validate'], { cwd: r.root });
    expect(json.json).toMatchObject({ valid: true, file: join(r.root, 'workflow.yaml'), name: 'Small', phases: 2, items: 3 });
  });

  test('an invalid file exits 1 with every problem on its own line, with line and column', async () => {
    const r = repo(null);
    mkdirSync(join(r.root, 'wf'));
    const bad = 'name: "Bad"\nversion: "1.0"\nphases:\n  - id: plan\n    name: "Plan"\n    items:\n      - id: a\n        name: "A"\n        step_type: mandatory\n';
    writeFileSync(join(r.root, 'wf', 'bad.yaml'), bad);
    const res = await runOrch(['validate', '--workflow', 'bad.yaml'], { cwd: join(r.root, 'wf') });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trim().split('\n');
    expect(lines[0]).toBe('orch: bad.yaml is not a valid workflow (2 problems):');
    expect(lines[1]).toMatch(/bad\.yaml:4:9: phases\[0\]\.id: must be upper-case/);
    expect(lines[2]).toMatch(/bad\.yaml:9:20: phases\[0\]\.items\[0\]\.step_type: must be one of gate, required, documented, flexible; got "mandatory"$/);
    const json = await runOrchJson(['validate', '-w', 'wf/bad.yaml'], { cwd: r.root });
    expect(json.code).toBe(1);
    expect(json.json.error.name).toBe('InvalidWorkflow');
    expect(json.json.error.details.errors).toHaveLength(2);
  });

  test('no workflow.yaml is exit 1 with the fix; a file outside the repository is exit 2', async () => {
    const r = repo(null);
    const missing = await runOrch(['validate'], { cwd: r.root });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/orch init/);
    const outside = temp.repo({ git: false });
    writeFileSync(join(outside.root, 'wf.yaml'), SMALL_WORKFLOW);
    const res = await runOrchJson(['validate', '--workflow', join(outside.root, 'wf.yaml')], { cwd: r.root });
    expect(res.code).toBe(2);
    expect(res.json.error.name).toBe('PathOutsideRepo');
  });
});

describe('orch init', () => {
  test('writes the default workflow; a second init is refused; --force keeps the old file as .bak', async () => {
    const r = repo(null);
    const first = await runOrch(['init'], { cwd: r.root });
    expect(first.code).toBe(0);
    const file = join(r.root, 'workflow.yaml');
    expect(readFileSync(file, 'utf8')).toBe(DEFAULT_WORKFLOW_YAML);
    expect((await runOrch(['validate'], { cwd: r.root })).code).toBe(0);

    const edited = DEFAULT_WORKFLOW_YAML.replace('orch default workflow', 'my edited workflow');
    writeFileSync(file, edited);
    const again = await runOrchJson(['init'], { cwd: r.root });
    expect(again.code).toBe(1);
    expect(again.json.error.name).toBe('InvalidTransition');
    expect(again.json.error.message).toMatch(/--force/);
    expect(readFileSync(file, 'utf8')).toBe(edited);
    expect(readdirSync(r.root).sort()).toEqual(['.git', '.orchestrator', 'workflow.yaml']);

    const forced = await runOrchJson(['init', '--force'], { cwd: r.root });
    expect(forced.code).toBe(0);
    expect(forced.json).toMatchObject({ file, backup: `${file}.bak`, portable: false });
    expect(readFileSync(`${file}.bak`, 'utf8')).toBe(edited);
    expect(readFileSync(file, 'utf8')).toBe(DEFAULT_WORKFLOW_YAML);
  });

  test('--portable also switches the repository to portable mode', async () => {
    const r = repo(null);
    const res = await runOrchJson(['init', '--portable'], { cwd: r.root });
    expect(res.code).toBe(0);
    expect(res.json.portable).toBe(true);
    expect(JSON.parse(readFileSync(join(r.root, '.orchestrator', 'meta.json'), 'utf8')).mode).toBe('portable');
    expect(readFileSync(join(r.root, '.orchestrator', '.gitignore'), 'utf8')).not.toBe('*\n');
  });

  test('a workflow.yaml linking outside the repository is never written through', async () => {
    const r = repo(null);
    const outside = temp.repo({ git: false });
    writeFileSync(join(outside.root, 'wf.yaml'), 'precious\n');
    symlinkSync(join(outside.root, 'wf.yaml'), join(r.root, 'workflow.yaml'));
    const res = await runOrchJson(['init', '--force'], { cwd: r.root });
    expect(res.code).toBe(2);
    expect(res.json.error.name).toBe('PathOutsideRepo');
    expect(readFileSync(join(outside.root, 'wf.yaml'), 'utf8')).toBe('precious\n');
  });
});
