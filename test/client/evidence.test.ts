/**
 * Evidence bound to the tree (issue 14), through the spawned CLI in a real temp git repo with a
 * real committed file: a passed check records the tree it ran on, a later change makes it stale,
 * `advance`/`finish` refuse stale evidence until `orch verify`, `expect_changes` needs a change.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';
import { runOrch, runOrchJson, stopDaemon } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const { repo } = useRepoRegistry();

const WORKFLOW = `name: "Evidence"
version: "1.0"
settings:
  evidence:
    ignore: ["notes/**"]
phases:
  - id: BUILD
    name: "Build"
    items:
      - id: implement
        name: "Write the code"
        expect_changes: ["src/**"]
      - id: run_tests
        name: "Tests pass"
        verification: {type: command, command: "test -f src/app.txt"}
  - id: SHIP
    name: "Ship"
    items:
      - id: release_notes
        name: "Notes written"
`;

/** A temp git repo with a committed file and the workflow, and a started session. */
async function started(workflow = WORKFLOW): Promise<{ r: TempRepo; id: string }> {
  const r = repo();
  mkdirSync(join(r.root, 'src'));
  writeFileSync(join(r.root, 'src', 'app.txt'), 'version 1\n');
  writeFileSync(join(r.root, 'workflow.yaml'), workflow);
  git(r.root, 'add', '-A');
  git(r.root, 'commit', '-q', '-m', 'initial');
  const { code, json, stderr } = await runOrchJson(['start', 'Bind evidence'], { cwd: r.root });
  if (code !== 0) throw new Error(`orch start exited ${code}: ${stderr} ${JSON.stringify(json)}`);
  return { r, id: json.sessionId as string };
}

function state(r: TempRepo, id: string): any {
  return JSON.parse(readFileSync(join(r.root, '.orchestrator', 'sessions', id, 'state.json'), 'utf8'));
}

function events(r: TempRepo, id: string): any[] {
  return readFileSync(join(r.root, '.orchestrator', 'sessions', id, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

async function orch(r: TempRepo, ...args: string[]): Promise<{ code: number | null; json: any }> {
  const { code, json } = await runOrchJson(args, { cwd: r.root });
  return { code, json };
}

/** Completes `implement` (after a change under src/) and `run_tests`. */
async function completeBoth(r: TempRepo): Promise<void> {
  writeFileSync(join(r.root, 'src', 'app.txt'), 'version 2\n');
  git(r.root, 'commit', '-q', '-am', 'implement');
  expect((await orch(r, 'complete', 'implement')).code).toBe(0);
  expect((await orch(r, 'complete', 'run_tests')).code).toBe(0);
}

describe('evidence bound to the tree', () => {
  test('a passed command check records HEAD and the tree it ran on, equal to HEAD^{tree} when clean, in state and log', async () => {
    const { r, id } = await started();
    await completeBoth(r);
    const ev = state(r, id).phases.BUILD.items.run_tests.verification_result.evidence;
    expect(ev).toMatchObject({ method: 'git-tree', head: git(r.root, 'rev-parse', 'HEAD').trim(), tree: git(r.root, 'rev-parse', 'HEAD^{tree}').trim() });
    expect(typeof ev.ms).toBe('number');
    expect(typeof ev.computedAt).toBe('string');
    const passed = events(r, id).find((e) => e.event_type === 'verification_passed' && e.item_id === 'run_tests');
    expect(passed.details.evidence.tree).toBe(ev.tree);
  });

  test('editing a tracked file makes advance refuse with StaleEvidence naming the item and file; orch verify lets it pass', async () => {
    const { r, id } = await started();
    await completeBoth(r);
    writeFileSync(join(r.root, 'src', 'app.txt'), 'version 3, untested\n');
    const refused = await runOrch(['advance'], { cwd: r.root });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('run_tests');
    expect(refused.stderr).toContain('src/app.txt');
    expect(refused.stderr).toContain('NEXT_ACTION: orch verify run_tests');
    const json = await orch(r, 'advance');
    expect(json.json.error.name).toBe('StaleEvidence');
    expect(json.json.error.details.items).toEqual(['run_tests']);
    const verified = await orch(r, 'verify');
    expect(verified.code).toBe(0);
    expect(verified.json.verified).toEqual([{ itemId: 'run_tests', passed: true, detail: 'passed' }]);
    expect(state(r, id).phases.BUILD.items.run_tests.status).toBe('completed');
    const advanced = await orch(r, 'advance');
    expect(advanced.code).toBe(0);
    expect(advanced.json.status.phase).toBe('SHIP');
  });

  test("at a person's gate stale evidence leaves NEXT_ACTION on orch wait; once the person approves it is orch verify", async () => {
    const { r } = await started(WORKFLOW.replace('    name: "Build"\n', '    name: "Build"\n    exit_gate: human_approval\n'));
    await completeBoth(r);
    writeFileSync(join(r.root, 'src', 'app.txt'), 'version 3, untested\n');
    const waiting = await orch(r, 'status');
    expect(waiting.json.nextAction).toBe('orch wait --phase');
    expect(waiting.json.items.find((i: any) => i.id === 'run_tests').evidence.fresh).toBe(false);
    expect((await orch(r, 'approve')).code).toBe(0);
    expect((await orch(r, 'status')).json.nextAction).toBe('orch verify run_tests');
    expect((await orch(r, 'advance')).json.error.name).toBe('StaleEvidence');
    expect((await orch(r, 'verify')).code).toBe(0);
    expect((await orch(r, 'advance')).code).toBe(0);
  });

  test('a new untracked file makes evidence stale; changes under .orchestrator/ or an ignored glob do not', async () => {
    const { r } = await started();
    await completeBoth(r);
    mkdirSync(join(r.root, 'notes'));
    writeFileSync(join(r.root, 'notes', 'scratch.md'), 'ignored by settings.evidence.ignore\n');
    writeFileSync(join(r.root, '.orchestrator', 'stray.txt'), 'orch folder\n');
    const st = await orch(r, 'status');
    expect(st.json.items.find((i: any) => i.id === 'run_tests').evidence.fresh).toBe(true);
    writeFileSync(join(r.root, 'src', 'new_module.txt'), 'untracked\n');
    const refused = await orch(r, 'advance');
    expect(refused.json.error.name).toBe('StaleEvidence');
    expect(refused.json.error.details.changedFiles).toEqual(['src/new_module.txt']);
    const stale = await orch(r, 'status');
    expect(stale.json.items.find((i: any) => i.id === 'run_tests').evidence.fresh).toBe(false);
    expect(stale.json.nextAction).toBe('orch verify run_tests');
  });

  test('advance --force over stale evidence needs a reason, and the override is logged', async () => {
    const { r, id } = await started();
    await completeBoth(r);
    writeFileSync(join(r.root, 'src', 'app.txt'), 'version 3\n');
    const noReason = await orch(r, 'advance', '--force');
    expect(noReason.code).toBe(2);
    expect(noReason.json.error.message).toContain('--reason');
    const forced = await orch(r, 'advance', '--force', '--reason', 'comment-only change');
    expect(forced.code).toBe(0);
    const override = events(r, id).find((e) => e.event_type === 'evidence_overridden');
    expect(override.details).toMatchObject({ reason: 'comment-only change', verb: 'advance' });
    expect(override.details.stale[0].item).toBe('run_tests');
  });

  test('finish refuses stale evidence of the open phase too', async () => {
    const one = WORKFLOW.replace(/  - id: SHIP[\s\S]*$/, '');
    const { r } = await started(one);
    await completeBoth(r);
    writeFileSync(join(r.root, 'src', 'app.txt'), 'version 3\n');
    const refused = await orch(r, 'finish');
    expect(refused.json.error.name).toBe('StaleEvidence');
    expect((await orch(r, 'verify', 'run_tests')).code).toBe(0);
    expect((await orch(r, 'finish')).code).toBe(0);
  });

  test('orch verify marks an item failed when its check now fails', async () => {
    const { r, id } = await started();
    await completeBoth(r);
    git(r.root, 'rm', '-q', 'src/app.txt');
    const v = await orch(r, 'verify', 'run_tests');
    expect(v.code).toBe(1);
    expect(v.json.error.name).toBe('VerificationFailed');
    expect(state(r, id).phases.BUILD.items.run_tests.status).toBe('failed');
  });

  test('fingerprinting leaves the index, git status and the object store unchanged', async () => {
    const { r } = await started();
    writeFileSync(join(r.root, 'src', 'app.txt'), 'dirty tracked\n');
    writeFileSync(join(r.root, 'src', 'untracked.txt'), 'dirty untracked\n');
    const index = readFileSync(join(r.root, '.git', 'index'));
    const porcelain = git(r.root, 'status', '--porcelain');
    const objects = git(r.root, 'count-objects', '-v');
    expect((await orch(r, 'complete', 'implement')).code).toBe(0);
    expect((await orch(r, 'complete', 'run_tests')).code).toBe(0);
    expect((await orch(r, 'verify')).code).toBe(0);
    expect(readFileSync(join(r.root, '.git', 'index')).equals(index)).toBe(true);
    expect(git(r.root, 'status', '--porcelain')).toBe(porcelain);
    expect(git(r.root, 'count-objects', '-v')).toBe(objects);
  });

  test('expect_changes refuses completion naming the globs, then accepts after a matching file changes', async () => {
    const { r, id } = await started();
    writeFileSync(join(r.root, 'README.md'), 'not under src\n');
    const refused = await orch(r, 'complete', 'implement');
    expect(refused.code).toBe(1);
    expect(refused.json.error.name).toBe('ExpectedChangesMissing');
    expect(refused.json.error.message).toContain('src/**');
    expect(state(r, id).phases.BUILD.items.implement.status).toBe('pending');
    writeFileSync(join(r.root, 'src', 'app.txt'), 'implemented\n');
    expect((await orch(r, 'complete', 'implement')).code).toBe(0);
  });

  test('outside git, evidence is recorded as unbound with a warning', async () => {
    const r = repo({ git: false });
    mkdirSync(join(r.root, 'src'));
    writeFileSync(join(r.root, 'src', 'app.txt'), 'version 1\n');
    writeFileSync(join(r.root, 'workflow.yaml'), WORKFLOW);
    const { json } = await runOrchJson(['start', 'No git'], { cwd: r.root });
    const done = await orch(r, 'complete', 'run_tests');
    expect(done.code).toBe(0);
    expect(done.json.warnings.join(' ')).toContain('unbound');
    expect(state(r, json.sessionId).phases.BUILD.items.run_tests.verification_result.evidence).toMatchObject({ method: 'unbound', tree: null });
  });

  test('in a linked worktree the evidence is the worktree\'s tree, and a change there makes it stale', async () => {
    const { r } = await started();
    const other = makeTempRepo({ git: false, prefix: 'orch-wt-' });
    const wt = join(other.root, 'wt');
    try {
      git(r.root, 'worktree', 'add', '-q', wt);
      expect((await runOrchJson(['start', 'In a worktree'], { cwd: wt })).code).toBe(0);
      writeFileSync(join(wt, 'src', 'app.txt'), 'worktree change\n');
      git(wt, 'commit', '-q', '-am', 'worktree change');
      expect((await runOrchJson(['complete', 'implement'], { cwd: wt })).code).toBe(0);
      const done = await runOrchJson(['complete', 'run_tests'], { cwd: wt });
      expect(done.code).toBe(0);
      const st = await runOrchJson(['status'], { cwd: wt });
      const ev = st.json.items.find((i: any) => i.id === 'run_tests').evidence;
      expect(ev).toMatchObject({ tree: git(wt, 'rev-parse', 'HEAD^{tree}').trim(), fresh: true });
      writeFileSync(join(wt, 'src', 'app.txt'), 'edited again\n');
      const refused = await runOrchJson(['advance'], { cwd: wt });
      expect(refused.json.error.name).toBe('StaleEvidence');
      expect(git(r.root, 'status', '--porcelain')).toBe('');
    } finally {
      await stopDaemon(wt);
      git(r.root, 'worktree', 'remove', '--force', wt);
      other.remove();
    }
  });

  test('a submodule counts by its commit: edits inside it do not make evidence stale, a new commit in it does', async () => {
    const sub = makeTempRepo({ prefix: 'orch-sub-' });
    try {
      writeFileSync(join(sub.root, 'lib.txt'), 'lib 1\n');
      git(sub.root, 'add', '-A');
      git(sub.root, 'commit', '-q', '-m', 'lib');
      const { r } = await started();
      git(r.root, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub.root, 'libs/sub');
      git(r.root, 'commit', '-q', '-m', 'add submodule');
      writeFileSync(join(r.root, 'src', 'app.txt'), 'implemented\n');
      git(r.root, 'commit', '-q', '-am', 'implement');
      expect((await orch(r, 'complete', 'implement')).code).toBe(0);
      expect((await orch(r, 'complete', 'run_tests')).code).toBe(0);
      const fresh = await orch(r, 'status');
      expect(fresh.json.items.find((i: any) => i.id === 'run_tests').evidence).toMatchObject({ tree: git(r.root, 'rev-parse', 'HEAD^{tree}').trim(), fresh: true });
      writeFileSync(join(r.root, 'libs', 'sub', 'lib.txt'), 'edited, not committed\n');
      expect((await orch(r, 'status')).json.items.find((i: any) => i.id === 'run_tests').evidence.fresh).toBe(true);
      git(join(r.root, 'libs', 'sub'), '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-am', 'new lib commit');
      const refused = await orch(r, 'advance');
      expect(refused.json.error.name).toBe('StaleEvidence');
      expect(refused.json.error.details.changedFiles).toEqual(['libs/sub']);
    } finally {
      sub.remove();
    }
  });
});
