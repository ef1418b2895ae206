import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOrch, runOrchJson } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const { repo } = useRepoRegistry();

const lastLine = (s: string) => s.trimEnd().split('\n').pop();

/** Two sessions, A then B (B is current); returns their ids. */
async function twoSessions(root: string): Promise<{ a: string; b: string }> {
  const a = (await runOrchJson(['start', 'Task A'], { cwd: root })).json.sessionId as string;
  const b = (await runOrchJson(['start', 'Task B'], { cwd: root })).json.sessionId as string;
  return { a, b };
}

describe('NEXT_ACTION names exactly what was used', () => {
  test('after a change to a session chosen with --session, NEXT_ACTION carries that --session, in text and JSON alike', async () => {
    const r = repo();
    const { a } = await twoSessions(r.root);
    const done = await runOrch(['complete', 'clarify_requirements', '--session', a], { cwd: r.root });
    expect(done.code).toBe(0);
    expect(lastLine(done.stdout)).toBe(`NEXT_ACTION: orch complete write_plan --notes "<what you did>" --session ${a}`);
    const json = await runOrchJson(['status', '--session', a], { cwd: r.root });
    expect(json.json.nextAction).toBe(`orch complete write_plan --notes "<what you did>" --session ${a}`);
    const human = await runOrch(['status', '--session', a], { cwd: r.root });
    expect(lastLine(human.stdout)).toBe(`NEXT_ACTION: ${json.json.nextAction}`);
  });

  test('ORCH_SESSION and --root are repeated too; the current session without selectors gets none', async () => {
    const r = repo();
    const { a } = await twoSessions(r.root);
    const viaEnv = await runOrchJson(['status'], { cwd: r.root, env: { ORCH_SESSION: a } });
    expect(viaEnv.json.nextAction).toBe(`orch complete clarify_requirements --notes "<what you did>" --session ${a}`);
    const viaRoot = await runOrchJson(['complete', 'clarify_requirements', '--root', r.root], { cwd: '/' });
    expect(viaRoot.code).toBe(0);
    expect(viaRoot.json.status.nextAction).toBe(`orch complete write_plan --notes "<what you did>" --root ${r.root}`);
    const plain = await runOrchJson(['status'], { cwd: r.root });
    expect(plain.json.nextAction).toBe('orch complete write_plan --notes "<what you did>"');
  });

  test('a session whose current phase is not in the workflow says it cannot continue and names the fix, never orch status', async () => {
    const r = repo();
    const { b } = await twoSessions(r.root);
    const file = join(r.root, '.orchestrator', 'sessions', b, 'state.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"current_phase_id": "PLAN"', '"current_phase_id": "NOPE"'));
    const status = await runOrchJson(['status'], { cwd: r.root });
    expect(status.code).toBe(0);
    expect(status.json.nextAction).not.toBe('orch status');
    expect(status.json.nextAction).toMatch(/^none: the session cannot continue: its current phase "NOPE" is not a phase of the workflow/);
    expect(status.json.nextAction).toContain(`.orchestrator/sessions/${b}/state.json`);
    const human = await runOrch(['status'], { cwd: r.root });
    expect(lastLine(human.stdout)).toBe(`NEXT_ACTION: ${status.json.nextAction}`);
  });

  test('a missing or invalid .orchestrator/current while sessions exist is named, with orch sessions switch <newest>', async () => {
    const r = repo();
    const { b } = await twoSessions(r.root);
    rmSync(join(r.root, '.orchestrator', 'current'));
    const missing = await runOrch(['status'], { cwd: r.root });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('.orchestrator/current is missing');
    expect(missing.stderr).toContain(`orch sessions switch ${b}`);
    expect(missing.stderr).not.toMatch(/No workflow has been started/);
    writeFileSync(join(r.root, '.orchestrator', 'current'), 'garbage\n');
    const invalid = await runOrchJson(['status'], { cwd: r.root });
    expect(invalid.code).toBe(1);
    expect(invalid.json.error).toMatchObject({ name: 'SessionNotFound', code: 1100, details: { newest: b } });
    expect(invalid.json.error.message).toContain('holds no valid session id');
    expect((await runOrch(['complete', 'clarify_requirements'], { cwd: r.root })).stderr).toContain(`orch sessions switch ${b}`);
  });

  test('after a corrupt state.json was moved aside, later commands still name the file it was moved to', async () => {
    const r = repo();
    const { b } = await twoSessions(r.root);
    const dir = join(r.root, '.orchestrator', 'sessions', b);
    writeFileSync(join(dir, 'state.json'), '{"torn');
    const first = await runOrch(['status'], { cwd: r.root });
    expect(first.stderr).toMatch(/moved it aside/);
    const moved = readdirSync(dir).find((n) => n.startsWith('state.json.corrupt-'));
    expect(moved).toBeDefined();
    const later = await runOrchJson(['status'], { cwd: r.root });
    expect(later.json.reason).toContain(join(dir, moved!));
    const change = await runOrchJson(['complete', 'clarify_requirements'], { cwd: r.root });
    expect(change.code).toBe(1);
    expect(change.json.error.name).toBe('StateCorrupt');
    expect(change.json.error.message).toContain(join(dir, moved!));
  });
});
