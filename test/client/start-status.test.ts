import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { git } from '../helpers/temp-repo.js';
import { runOrch, runOrchJson } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const { repo } = useRepoRegistry();

/** Every file below `root` with its size and mtime, except under `.orchestrator/` and `.git/`. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const rel = relative(root, p);
      if (rel === '.orchestrator' || rel === '.git') continue;
      const st = statSync(p);
      out.set(rel, `${st.size}:${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

describe('orch start and status', () => {
  test('start from three levels down creates the session at the repo root and status reads it back', async () => {
    const r = repo();
    const deep = join(r.root, 'src', 'a', 'b');
    mkdirSync(deep, { recursive: true });
    const start = await runOrchJson(['start', 'Add rate limiting', '--project', 'demo', '-c', 'no new deps'], { cwd: deep });
    expect(start.code).toBe(0);
    expect(start.json).toMatchObject({ task: 'Add rate limiting', phase: 'PLAN' });
    expect(start.json.sessionId).toMatch(/^[0-9a-f]{8}$/);
    expect(start.json.workflowId).toMatch(/^wf_[0-9a-f]{8}$/);
    const sessionDir = join(r.root, '.orchestrator', 'sessions', start.json.sessionId);
    for (const f of ['state.json', 'log.jsonl', 'meta.json', 'checkpoints', 'feedback']) expect(existsSync(join(sessionDir, f))).toBe(true);
    expect(readFileSync(join(r.root, '.orchestrator', 'current'), 'utf8')).toBe(start.json.sessionId);
    const meta = JSON.parse(readFileSync(join(sessionDir, 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ session_id: start.json.sessionId, repo_root: r.root });
    expect(typeof meta.created_at).toBe('string');

    const status = await runOrchJson(['status'], { cwd: deep });
    expect(status.code).toBe(0);
    expect(status.json).toMatchObject({
      sessionId: start.json.sessionId,
      workflowId: start.json.workflowId,
      task: 'Add rate limiting',
      status: 'active',
      phase: 'PLAN',
      source: 'session',
      constraints: ['no new deps'],
    });
    expect(status.json.progress.completed).toBe(0);
    expect(status.json.progress.total).toBeGreaterThan(5);
    expect(status.json.items.length).toBeGreaterThan(0);
    for (const item of status.json.items) expect(Object.keys(item)).toEqual(expect.arrayContaining(['id', 'name', 'status', 'required']));

    const human = await runOrch(['status'], { cwd: deep });
    expect(human.stdout).toContain('Task: Add rate limiting');
    expect(human.stdout.trimEnd().split('\n').pop()).toMatch(/^NEXT_ACTION: orch /);
  });

  test('state.json is in the 3.0 format and its checksum is the one Python computes', async () => {
    const r = repo();
    const { json } = await runOrchJson(['start', 'Ünïcode task — ✓ 🚀'], { cwd: r.root });
    const file = join(r.root, '.orchestrator', 'sessions', json.sessionId, 'state.json');
    const state = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(state).slice(-3)).toEqual(['_version', '_checksum', '_updated_at']);
    expect(state._version).toBe('3.0');
    expect(readFileSync(file, 'utf8')).not.toMatch(/[^\x00-\x7f]/); // ensure_ascii, as Python writes it
    const py = execFileSync('python3', ['-c', [
      'import json,hashlib,sys',
      'd=json.load(open(sys.argv[1]))',
      'c=d.pop("_checksum"); d.pop("_updated_at"); d.pop("_version")',
      'print(c, hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:32])',
    ].join('\n'), file], { encoding: 'utf8' }).trim().split(' ');
    expect(py[0]).toBe(py[1]);
    const log = readFileSync(join(r.root, '.orchestrator', 'sessions', json.sessionId, 'log.jsonl'), 'utf8').trim().split('\n');
    expect(log.map((l) => JSON.parse(l).event_type)).toEqual(['workflow_started', 'phase_started']);
  });

  test('start writes nothing outside .orchestrator/ and git sees nothing in normal mode', async () => {
    const r = repo();
    writeFileSync(join(r.root, 'README.md'), '# demo\n');
    git(r.root, 'add', 'README.md');
    git(r.root, 'commit', '-qm', 'init');
    const before = snapshot(r.root);
    expect((await runOrch(['start', 'Task one'], { cwd: r.root })).code).toBe(0);
    expect((await runOrch(['status'], { cwd: r.root })).code).toBe(0);
    expect(snapshot(r.root)).toEqual(before);
    expect(readFileSync(join(r.root, '.orchestrator', '.gitignore'), 'utf8')).toBe('*\n');
    expect(git(r.root, 'status', '--porcelain')).toBe('');
    const meta = JSON.parse(readFileSync(join(r.root, '.orchestrator', 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ repo_root: r.root, git_remote: null, mode: 'normal' });
    expect(Object.keys(meta)).toEqual(['created_at', 'repo_root', 'git_remote', 'orchestrator_version', 'mode']);
  });

  test('portable mode lets git see the sessions but never the runtime files, and is remembered', async () => {
    const r = repo();
    git(r.root, 'remote', 'add', 'origin', 'https://example.invalid/demo.git');
    expect((await runOrch(['start', 'Portable task', '--portable'], { cwd: r.root })).code).toBe(0);
    const meta = JSON.parse(readFileSync(join(r.root, '.orchestrator', 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ mode: 'portable', git_remote: 'https://example.invalid/demo.git' });
    expect(readFileSync(join(r.root, '.orchestrator', '.gitignore'), 'utf8')).not.toBe('*\n');
    const untracked = git(r.root, 'status', '--porcelain', '--untracked-files=all');
    expect(untracked).toMatch(/\.orchestrator\/sessions\/[0-9a-f]{8}\/state\.json/);
    expect(untracked).toContain('.orchestrator/repo.json');
    expect(untracked).toContain('.orchestrator/.gitattributes');
    // What belongs to this checkout stays out of git: its current session, its record of the repo, its clone id.
    expect(untracked).not.toContain('.orchestrator/current');
    expect(untracked).not.toMatch(/\.orchestrator\/(meta|clone)\.json/);
    expect(untracked).not.toMatch(/daemon\./);
    // A later start without --portable keeps the remembered mode.
    expect((await runOrch(['start', 'Second task'], { cwd: r.root })).code).toBe(0);
    expect(JSON.parse(readFileSync(join(r.root, '.orchestrator', 'meta.json'), 'utf8')).mode).toBe('portable');
  });

  test('a meta.json naming another repo root is reported plainly', async () => {
    const r = repo();
    mkdirSync(join(r.root, '.orchestrator'));
    writeFileSync(join(r.root, '.orchestrator', 'meta.json'), JSON.stringify({ created_at: 'x', repo_root: '/somewhere/else', git_remote: null, orchestrator_version: '0.1.0', mode: 'normal' }));
    const { code, json, stderr } = await runOrchJson(['start', 'Copied repo'], { cwd: r.root });
    expect(code).toBe(0);
    expect(json.warnings.join(' ')).toContain('/somewhere/else');
    expect(stderr).toBe('');
    const human = await runOrch(['start', 'Copied again', '-q'], { cwd: r.root });
    expect(human.stderr).toMatch(/copied or moved/);
  });

  test('status with no workflow is {"active": false} and exit 0; a vanished current session is an error', async () => {
    const r = repo();
    const none = await runOrchJson(['status'], { cwd: r.root });
    expect(none.code).toBe(0);
    expect(none.json.active).toBe(false);
    const { json } = await runOrchJson(['start', 'Soon gone'], { cwd: r.root });
    execFileSync('rm', ['-rf', join(r.root, '.orchestrator', 'sessions', json.sessionId)]);
    const gone = await runOrch(['status'], { cwd: r.root });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`current session ${json.sessionId} no longer exists`);
  });

  test('bad usage exits 2 with one sentence on stderr', async () => {
    const r = repo();
    const noTask = await runOrch(['start'], { cwd: r.root });
    expect(noTask.code).toBe(2);
    expect(noTask.stderr).toMatch(/^orch: .*needs the task/);
    const unknown = await runOrch(['frobnicate'], { cwd: r.root });
    expect(unknown.code).toBe(2);
    const badFlag = await runOrch(['status', '--bogus'], { cwd: r.root });
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/--bogus/);
    const missingWf = await runOrch(['start', 'x', '--workflow', 'nope.yaml'], { cwd: r.root });
    expect(missingWf.code).toBe(1);
    expect(missingWf.stderr).toMatch(/nope\.yaml/);
  });

  test('a workflow file outside the repo is refused', async () => {
    const r = repo();
    const outside = repo({ git: false });
    writeFileSync(join(outside.root, 'wf.yaml'), 'name: x\nversion: "1"\nphases: [{id: A, name: A}]\n');
    const res = await runOrch(['start', 'x', '--workflow', join(outside.root, 'wf.yaml')], { cwd: r.root });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/outside the repository/);
    expect(existsSync(join(r.root, '.orchestrator', 'current'))).toBe(false);
  });

  test('--help and --version answer without a daemon', async () => {
    const r = repo();
    const help = await runOrch(['--help'], { cwd: r.root });
    expect(help.code).toBe(0);
    for (const cmd of ['start', 'status', 'sessions', 'daemon']) expect(help.stdout).toContain(cmd);
    const startHelp = await runOrch(['start', '--help'], { cwd: r.root });
    expect(startHelp.stdout).toContain('--workflow');
    const version = await runOrch(['--version'], { cwd: r.root });
    expect(version.stdout).toMatch(/^orch \d+\.\d+\.\d+/);
    expect(existsSync(join(r.root, '.orchestrator'))).toBe(false);
  });
});
