import { describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPaths } from '../../protocol/node/paths.js';
import { hashLegacy, makeLegacyRepo, sessionDirs } from '../helpers/legacy-repo.js';
import { runOrch, runOrchJson } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const { repo, track } = useRepoRegistry();

describe('orch feedback', () => {
  test('add appends a durable JSON line to the session feedback file; list shows it; kinds are checked', async () => {
    const r = repo();
    const { json: started } = await runOrchJson(['start', 'Feedback task'], { cwd: r.root });
    const tool = await runOrchJson(['feedback', 'add', 'The gate output was cut off — "quotes" too', '--kind', 'tool'], { cwd: r.root });
    expect(tool.code).toBe(0);
    const dir = join(repoPaths(r.root).sessionsDir, started.sessionId, 'feedback');
    expect(tool.json).toMatchObject({ sessionId: started.sessionId, file: `.orchestrator/sessions/${started.sessionId}/feedback/tool.jsonl` });
    const lines = readFileSync(join(dir, 'tool.jsonl'), 'utf8').split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const record = JSON.parse(lines[0]!);
    expect(Object.keys(record)).toEqual(['timestamp', 'kind', 'text', 'session_id', 'workflow_id', 'phase_id']);
    expect(record).toMatchObject({ kind: 'tool', text: 'The gate output was cut off — "quotes" too', session_id: started.sessionId, workflow_id: started.workflowId, phase_id: 'PLAN' });
    expect(record.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);

    const human = await runOrch(['feedback', 'add', 'Planning felt long'], { cwd: r.root });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('process feedback');
    expect(JSON.parse(readFileSync(join(dir, 'process.jsonl'), 'utf8')).kind).toBe('process');

    const list = await runOrchJson(['feedback', 'list'], { cwd: r.root });
    expect(list.json.sessionId).toBe(started.sessionId);
    expect(list.json.entries.map((e: { kind: string; text: string; source: string }) => [e.source, e.kind, e.text])).toEqual([
      ['session', 'tool', 'The gate output was cut off — "quotes" too'],
      ['session', 'process', 'Planning felt long'],
    ]);
    const onlyTool = await runOrchJson(['feedback', 'list', '--kind', 'tool'], { cwd: r.root });
    expect(onlyTool.json.entries).toHaveLength(1);
    expect((await runOrch(['feedback', 'list'], { cwd: r.root })).stdout).toMatch(/^session\s+process\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+Planning felt long$/m);

    expect((await runOrchJson(['feedback', 'add', 'x', '--kind', 'mood'], { cwd: r.root })).code).toBe(2);
    const empty = await runOrchJson(['feedback', 'add', '  '], { cwd: r.root });
    expect(empty.code).toBe(2);
    expect(empty.json.error.name).toBe('InvalidArgument');
  });

  test('with no workflow at all, add is refused and list is empty', async () => {
    const r = repo();
    const add = await runOrchJson(['feedback', 'add', 'hello'], { cwd: r.root });
    expect(add.code).toBe(1);
    expect(add.json.error.name).toBe('NoActiveWorkflow');
    const list = await runOrchJson(['feedback', 'list'], { cwd: r.root });
    expect(list.json).toEqual({ sessionId: null, entries: [], skippedLines: 0 });
  });

  test('list reads the legacy root files, tolerant of their shapes; add in a legacy repo adopts and never touches them', async () => {
    const r = track(makeLegacyRepo());
    const before = hashLegacy(r.root);
    const list = await runOrchJson(['feedback', 'list'], { cwd: r.root });
    expect(list.json.sessionId).toBeNull();
    expect(list.json.entries.map((e: { source: string; kind: string; file: string }) => [e.source, e.kind, e.file])).toEqual([
      ['legacy', 'tool', '.workflow_tool_feedback.jsonl'],
      ['legacy', 'process', '.workflow_process_feedback.jsonl'],
    ]);
    expect(list.json.entries[0]).toMatchObject({ line: 1, timestamp: '2026-11-23T22:49:17.901784+00:00', text: null, record: { orchestrator_version: '1.2.0' } });

    const added = await runOrchJson(['feedback', 'add', 'After adoption'], { cwd: r.root });
    expect(added.code).toBe(0);
    expect(added.json.warnings.join('\n')).toContain('Adopted');
    expect(sessionDirs(r.root)).toEqual([added.json.sessionId]);
    expect(added.json.record).toMatchObject({ workflow_id: 'wf_e6e08552', phase_id: 'EXECUTE' });
    const after = await runOrchJson(['feedback', 'list'], { cwd: r.root });
    expect(after.json.entries.map((e: { source: string }) => e.source)).toEqual(['legacy', 'legacy', 'session']);
    expect(hashLegacy(r.root)).toEqual(before);
  });

  test('unknown legacy shapes are shown as they are and unparseable lines are counted, not fatal', async () => {
    const r = repo();
    const { legacy } = repoPaths(r.root);
    writeFileSync(
      legacy.processFeedback,
      ['{"timestamp": "2025-01-01T00:00:00+00:00", "learnings": "Plan smaller"}', 'not json', '[1, 2]', '', '{"message": "old shape"}', '{"odd": true}'].join('\n'),
    );
    const list = await runOrchJson(['feedback', 'list', '--kind', 'process'], { cwd: r.root });
    expect(list.code).toBe(0);
    expect(list.json.skippedLines).toBe(2);
    expect(list.json.entries.map((e: { line: number; text: string | null }) => [e.line, e.text])).toEqual([
      [1, 'Plan smaller'],
      [5, 'old shape'],
      [6, null],
    ]);
    const human = await runOrch(['feedback', 'list'], { cwd: r.root });
    expect(human.stdout).toContain('{"odd":true}');
    expect(human.stderr).toContain('2 line(s)');
  });
});
