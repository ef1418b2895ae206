import { describe, expect, test } from '@jest/globals';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPaths } from '../../protocol/node/paths.js';
import { fixtureState, hashLegacy, makeLegacyRepo, orchTree, sessionDirs, sha256 } from '../helpers/legacy-repo.js';
import { isNoDaemonRun, runOrch, runOrchJson, stopDaemon } from '../helpers/run-orch.js';
import type { TempRepo } from '../helpers/temp-repo.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const { track } = useRepoRegistry();
function legacyRepo(): TempRepo {
  return track(makeLegacyRepo());
}

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

describe('legacy repos: reading', () => {
  test('with no session, status and sessions show the legacy workflow and nothing is written', async () => {
    const r = legacyRepo();
    const before = hashLegacy(r.root);
    const status = await runOrchJson(['status'], { cwd: r.root });
    expect(status.code).toBe(0);
    expect(status.json).toMatchObject({
      active: true,
      source: 'legacy',
      sessionId: null,
      workflowId: 'wf_e6e08552',
      task: 'Add rate limiting to the public API',
      project: 'demo-api',
      status: 'active',
      phase: 'EXECUTE',
      progress: { completed: 8, total: 37 },
      phaseProgress: { completed: 1, skipped: 0, total: 4 },
      nextAction: 'orch complete write_tests --notes "<what you did>"',
    });
    expect(status.json.items.map((i: { id: string; status: string }) => `${i.id}:${i.status}`)).toEqual([
      'handoff_decision:completed',
      'write_tests:pending',
      'implement_code:pending',
      'all_tests_pass:pending',
    ]);
    expect(status.json.phases.find((p: { id: string }) => p.id === 'PLAN').status).toBe('completed');
    expect(status.json.warnings.join('\n')).toContain('first change');

    const human = await runOrch(['status'], { cwd: r.root });
    expect(human.stdout).toContain('Session: (legacy files)');
    expect(human.stdout).toContain('Phase: EXECUTE');
    expect(human.stdout.trimEnd().split('\n').pop()).toBe('NEXT_ACTION: orch complete write_tests --notes "<what you did>"');

    const list = await runOrchJson(['sessions'], { cwd: r.root });
    expect(list.json).toEqual([
      {
        sessionId: 'legacy',
        task: 'Add rate limiting to the public API',
        status: 'active',
        phase: 'EXECUTE',
        createdAt: fixtureState().created_at,
        current: true,
        source: 'legacy',
        progress: { completed: 8, total: 37 },
      },
    ]);
    expect((await runOrch(['sessions'], { cwd: r.root })).stdout).toMatch(/^\* legacy .*Add rate limiting/m);
    const show = await runOrchJson(['sessions', 'show', 'legacy'], { cwd: r.root });
    expect(show.json).toMatchObject({ sessionId: 'legacy', source: 'legacy', workflowId: 'wf_e6e08552', path: repoPaths(r.root).legacy.state });
    const sw = await runOrchJson(['sessions', 'switch', 'legacy'], { cwd: r.root });
    expect(sw.code).toBe(2);
    expect(sw.json.error.name).toBe('InvalidSessionId');

    expect(sessionDirs(r.root)).toEqual([]);
    expect(hashLegacy(r.root)).toEqual(before);
  });

  test('an older state file lacking newer fields (no definition, no constraints, thin items) is read with defaults', async () => {
    const r = legacyRepo();
    const old = fixtureState();
    for (const k of ['workflow_definition', 'constraints', 'completed_at', 'workflow_version', 'metadata']) delete old[k];
    for (const phase of Object.values(old.phases) as { items: Record<string, Record<string, unknown>> }[]) {
      for (const item of Object.values(phase.items)) for (const k of ['retry_count', 'skip_context_considered', 'evidence', 'gate_result', 'files_modified']) delete item[k];
    }
    writeFileSync(repoPaths(r.root).legacy.state, JSON.stringify(old, null, 2));
    const status = await runOrchJson(['status'], { cwd: r.root });
    expect(status.code).toBe(0);
    expect(status.json).toMatchObject({ source: 'legacy', phase: 'EXECUTE', progress: { completed: 8, total: 37 }, constraints: [] });
    expect(status.json.warnings.join('\n')).toContain('workflow.yaml');

    const done = await runOrchJson(['complete', 'write_tests'], { cwd: r.root });
    expect(done.code).toBe(0);
    const state = readJson(join(repoPaths(r.root).sessionsDir, done.json.sessionId, 'state.json'));
    expect(state.constraints).toEqual([]);
    expect(state.workflow_definition.phases.map((p: { id: string }) => p.id)).toEqual(['PLAN', 'EXECUTE', 'REVIEW', 'VERIFY', 'DOCUMENT', 'LEARN']);
    expect(state.phases.PLAN.items.check_roadmap).toMatchObject({ status: 'completed', retry_count: 0, gate_result: null });
  });
});

describe('legacy repos: adoption', () => {
  test('the first change adopts into exactly one session, legacy files stay byte-identical, the second does not adopt again', async () => {
    const r = legacyRepo();
    const paths = repoPaths(r.root);
    const before = hashLegacy(r.root);
    expect(Object.keys(before)).toHaveLength(5);

    const first = await runOrchJson(['complete', 'write_tests', '--notes', 'tests first'], { cwd: r.root });
    expect(first.code).toBe(0);
    const id: string = first.json.sessionId;
    expect(id).toMatch(/^[0-9a-f]{8}$/);
    expect(first.json.warnings.join('\n')).toContain(`Adopted the older Python tool's workflow from .workflow_state.json into the new session ${id}`);
    expect(first.json.status).toMatchObject({ source: 'session', sessionId: id, workflowId: 'wf_e6e08552', progress: { completed: 9, total: 37 } });
    expect(sessionDirs(r.root)).toEqual([id]);
    expect(readFileSync(paths.current, 'utf8')).toBe(id);

    const legacySha = sha256(readFileSync(paths.legacy.state));
    const marker = readJson(paths.migrationMarker);
    expect(marker).toMatchObject({ action: 'adopted', session_id: id, source: { file: '.workflow_state.json', sha256: legacySha, workflow_id: 'wf_e6e08552' } });
    expect(Object.fromEntries(marker.legacy_files.map((f: { file: string; sha256: string }) => [f.file, f.sha256]))).toEqual(before);
    const sessionDir = join(paths.sessionsDir, id);
    expect(readJson(join(sessionDir, 'meta.json')).adopted_from).toMatchObject({ file: '.workflow_state.json', sha256: legacySha, workflow_id: 'wf_e6e08552' });
    const events = readFileSync(join(sessionDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.event_type)).toEqual(['workflow_adopted', 'item_completed']);
    const state = readJson(join(sessionDir, 'state.json'));
    const legacy = fixtureState();
    expect(state._version).toBe('3.0');
    expect(state._checksum).toMatch(/^[0-9a-f]{32}$/);
    expect(state.phases.PLAN).toEqual(legacy.phases.PLAN);
    expect(state.workflow_definition).toMatchObject(legacy.workflow_definition);

    const second = await runOrchJson(['complete', 'implement_code'], { cwd: r.root });
    expect(second.code).toBe(0);
    expect(second.json.sessionId).toBe(id);
    expect(second.json.warnings.join('\n')).not.toContain('Adopted');
    expect(sessionDirs(r.root)).toEqual([id]);
    expect(readJson(paths.migrationMarker)).toEqual(marker);

    const status = await runOrchJson(['status'], { cwd: r.root });
    expect(status.json).toMatchObject({ source: 'session', sessionId: id, progress: { completed: 10, total: 37 } });
    expect(status.json.warnings.join('\n')).toContain(`adopted into session ${id}; the legacy files are kept unchanged and ignored`);
    const list = await runOrchJson(['sessions'], { cwd: r.root });
    expect(list.json.map((s: { sessionId: string }) => s.sessionId)).toEqual([id]);
    expect(hashLegacy(r.root)).toEqual(before);
  });

  test('two clients changing the legacy workflow at the same moment yield one adoption', async () => {
    const r = legacyRepo();
    const before = hashLegacy(r.root);
    const [a, b] = await Promise.all([
      runOrchJson(['complete', 'write_tests'], { cwd: r.root }),
      runOrchJson(['complete', 'implement_code'], { cwd: r.root }),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.json.sessionId).toBe(b.json.sessionId);
    const id = a.json.sessionId;
    expect(sessionDirs(r.root)).toEqual([id]);
    const adoptedNotes = [...a.json.warnings, ...b.json.warnings].filter((w: string) => w.startsWith('Adopted'));
    expect(adoptedNotes).toHaveLength(1);
    const state = readJson(join(repoPaths(r.root).sessionsDir, id, 'state.json'));
    expect(state.phases.EXECUTE.items.write_tests.status).toBe('completed');
    expect(state.phases.EXECUTE.items.implement_code.status).toBe('completed');
    expect(readJson(repoPaths(r.root).migrationMarker).session_id).toBe(id);
    expect(hashLegacy(r.root)).toEqual(before);
  });

  test('with the marker present a new daemon never adopts again, even when current is lost', async () => {
    const r = legacyRepo();
    const paths = repoPaths(r.root);
    const { json } = await runOrchJson(['complete', 'write_tests'], { cwd: r.root });
    await stopDaemon(r.root);
    rmSync(paths.current);

    const status = await runOrchJson(['status'], { cwd: r.root });
    expect(status.json).toMatchObject({ source: 'session', sessionId: json.sessionId });
    const again = await runOrchJson(['complete', 'implement_code'], { cwd: r.root });
    expect(again.code).toBe(0);
    expect(again.json.sessionId).toBe(json.sessionId);
    expect(sessionDirs(r.root)).toEqual([json.sessionId]);
    expect(readFileSync(paths.current, 'utf8')).toBe(json.sessionId);

    // The adopted session is gone: orch refuses rather than adopting a second time.
    await stopDaemon(r.root);
    rmSync(join(paths.sessionsDir, json.sessionId), { recursive: true });
    rmSync(paths.current);
    const refused = await runOrchJson(['complete', 'all_tests_pass'], { cwd: r.root });
    expect(refused.code).toBe(1);
    expect(refused.json.error.name).toBe('NoActiveWorkflow');
    expect(refused.json.error.message).toContain(json.sessionId);
    expect(sessionDirs(r.root)).toEqual([]);
  });
});

describe('legacy repos: both exist, bad files', () => {
  test('with a session and legacy files the session wins; status, start and the daemon log say the legacy files are ignored', async () => {
    const r = legacyRepo();
    const before = hashLegacy(r.root);
    const start = await runOrchJson(['start', 'A new task'], { cwd: r.root });
    expect(start.code).toBe(0);
    expect(start.json.warnings.join('\n')).toContain('present and ignored');

    const status = await runOrchJson(['status'], { cwd: r.root });
    expect(status.json).toMatchObject({ source: 'session', sessionId: start.json.sessionId, task: 'A new task', phase: 'PLAN' });
    const warning = status.json.warnings.find((w: string) => w.includes('present and ignored'));
    expect(warning).toContain('.workflow_state.json');
    expect(warning).toContain(start.json.sessionId);
    const human = await runOrch(['status'], { cwd: r.root });
    expect(human.stderr).toContain('orch: warning: Legacy files from the older Python tool');
    expect(human.stdout).toContain('Task: A new task');

    const list = await runOrchJson(['sessions'], { cwd: r.root });
    const legacyEntry = list.json.find((s: { sessionId: string }) => s.sessionId === 'legacy');
    expect(legacyEntry).toMatchObject({ source: 'legacy', current: false });
    expect(list.json.find((s: { sessionId: string }) => s.sessionId === start.json.sessionId).current).toBe(true);

    const logLines = readFileSync(repoPaths(r.root).daemonLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(logLines.some((l) => l.msg === 'legacy files present and ignored' && l.session === start.json.sessionId)).toBe(true);

    const done = await runOrchJson(['complete', 'check_roadmap'], { cwd: r.root });
    expect(done.json).toMatchObject({ sessionId: start.json.sessionId });
    expect(sessionDirs(r.root)).toEqual([start.json.sessionId]);
    expect(hashLegacy(r.root)).toEqual(before);
  });

  test.each([
    ['truncated', (text: string) => text.slice(0, 5000), /not valid JSON at line \d+, column \d+/],
    ['empty', () => '', /not valid JSON/],
    ['not an object', () => '[1, 2]', /does not hold a JSON object/],
    ['missing required fields', () => '{"status": "active"}', /workflow_id/],
  ])('a %s legacy state is refused cleanly, naming the file, and nothing is written', async (_name, corrupt, what) => {
    const r = legacyRepo();
    const paths = repoPaths(r.root);
    writeFileSync(paths.legacy.state, corrupt(readFileSync(paths.legacy.state, 'utf8')));
    const before = hashLegacy(r.root);

    const status = await runOrchJson(['status'], { cwd: r.root });
    expect(status.code).toBe(1);
    expect(status.json.error).toMatchObject({ name: 'StateCorrupt', details: { file: '.workflow_state.json' } });
    expect(status.json.error.message).toMatch(what);
    const list = await runOrchJson(['sessions'], { cwd: r.root });
    expect(list.code).toBe(0);
    expect(list.json[0]).toMatchObject({ sessionId: 'legacy', status: 'unknown', source: 'legacy' });
    expect(list.json[0].error).toContain('.workflow_state.json');

    const tree = orchTree(r.root);
    const human = await runOrch(['complete', 'write_tests'], { cwd: r.root });
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('.workflow_state.json');
    expect(human.stderr.trim().split('\n')).toHaveLength(1);
    const json = await runOrchJson(['complete', 'write_tests'], { cwd: r.root });
    expect(json.json.error.name).toBe('StateCorrupt');
    expect(orchTree(r.root)).toEqual(tree);
    expect(sessionDirs(r.root)).toEqual([]);
    expect(hashLegacy(r.root)).toEqual(before);
    // The daemon survives a corrupt legacy file (there is none to check without a daemon).
    if (!isNoDaemonRun) expect((await runOrchJson(['daemon', 'status'], { cwd: r.root })).json.running).toBe(true);
  });
});
