import { describe, expect, test } from '@jest/globals';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOrch, runOrchJson, stopDaemon } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const { repo } = useRepoRegistry();

/** Names and mtimes of everything under .orchestrator/ except the daemon's own runtime files. */
function stateFiles(root: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('daemon.')) continue;
      const p = join(dir, name);
      const st = statSync(p);
      out.set(p, st.mtimeMs);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(join(root, '.orchestrator'));
  return out;
}

describe('sessions', () => {
  test('lists newest first with task, status, phase, created time and the current mark', async () => {
    const r = repo();
    const a = (await runOrchJson(['start', 'First task'], { cwd: r.root })).json.sessionId;
    const b = (await runOrchJson(['start', 'Second task'], { cwd: r.root })).json.sessionId;
    const { code, json } = await runOrchJson(['sessions'], { cwd: r.root });
    expect(code).toBe(0);
    expect(json.map((s: { sessionId: string }) => s.sessionId)).toEqual([b, a]);
    expect(json[0]).toMatchObject({ sessionId: b, task: 'Second task', status: 'active', phase: 'PLAN', current: true });
    expect(json[1]).toMatchObject({ sessionId: a, task: 'First task', current: false });
    expect(typeof json[0].createdAt).toBe('string');
    const human = await runOrch(['sessions'], { cwd: r.root });
    expect(human.stdout).toMatch(new RegExp(`\\* ${b}`));
  });

  test('show and switch; switching changes only the current pointer', async () => {
    const r = repo();
    const a = (await runOrchJson(['start', 'First task'], { cwd: r.root })).json.sessionId;
    const b = (await runOrchJson(['start', 'Second task'], { cwd: r.root })).json.sessionId;
    const show = await runOrchJson(['sessions', 'show', a], { cwd: r.root });
    expect(show.json).toMatchObject({ sessionId: a, task: 'First task', current: false, repoRoot: r.root });
    const sw = await runOrchJson(['sessions', 'switch', a], { cwd: r.root });
    expect(sw.json).toEqual({ sessionId: a, previous: b });
    expect(readFileSync(join(r.root, '.orchestrator', 'current'), 'utf8')).toBe(a);
    expect((await runOrchJson(['status'], { cwd: r.root })).json.task).toBe('First task');
    const missing = await runOrch(['sessions', 'switch', 'abcdef12'], { cwd: r.root });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no session abcdef12/);
  });

  test('two terminals with different ORCH_SESSION each see their own session', async () => {
    const r = repo();
    const a = (await runOrchJson(['start', 'Terminal A work'], { cwd: r.root })).json.sessionId;
    const b = (await runOrchJson(['start', 'Terminal B work'], { cwd: r.root })).json.sessionId;
    const [sa, sb, plain, flag] = await Promise.all([
      runOrchJson(['status'], { cwd: r.root, env: { ORCH_SESSION: a } }),
      runOrchJson(['status'], { cwd: r.root, env: { ORCH_SESSION: b } }),
      runOrchJson(['status'], { cwd: r.root }),
      runOrchJson(['status', '--session', a], { cwd: r.root, env: { ORCH_SESSION: b } }),
    ]);
    expect(sa.json).toMatchObject({ sessionId: a, task: 'Terminal A work' });
    expect(sb.json).toMatchObject({ sessionId: b, task: 'Terminal B work' });
    expect(plain.json.sessionId).toBe(b);
    expect(flag.json.sessionId).toBe(a);
    expect(readFileSync(join(r.root, '.orchestrator', 'current'), 'utf8')).toBe(b);
  });

  test('hostile session ids are refused with exit 2 and touch nothing', async () => {
    const r = repo();
    await runOrch(['start', 'Keep me'], { cwd: r.root });
    const before = stateFiles(r.root);
    const hostile = ['../..', '..', '/etc', '', 'ABCDEF12', 'a/b', '../../../tmp/x', '2f76b47f/../../x'];
    for (const id of hostile) {
      for (const args of [['status', '--session', id], ['sessions', 'switch', id], ['sessions', 'show', id]]) {
        const res = await runOrch(args, { cwd: r.root });
        if (id === '' && args[0] === 'sessions') {
          expect(res.code).toBe(2); // missing id
        } else {
          expect({ args, code: res.code }).toEqual({ args, code: 2 });
          expect(res.stderr).toMatch(/not a session id/);
        }
      }
      const env = await runOrch(['status'], { cwd: r.root, env: { ORCH_SESSION: id } });
      if (id !== '') expect(env.code).toBe(2);
    }
    expect(stateFiles(r.root)).toEqual(before);
  });

  test('lists the 20 newest by default and says how to get the next ones; pages put together give --all', async () => {
    const r = repo();
    const first = (await runOrchJson(['start', 'Task 0'], { cwd: r.root })).json.sessionId;
    // 24 more sessions, as a pull would bring them: copies of the first under new ids, one minute apart.
    const dir = (id: string) => join(r.root, '.orchestrator', 'sessions', id);
    const created = Date.parse(JSON.parse(readFileSync(join(dir(first), 'state.json'), 'utf8')).created_at);
    for (let n = 1; n < 25; n++) {
      const id = `c0ffee${String(n).padStart(2, '0')}`;
      cpSync(dir(first), dir(id), { recursive: true });
      const at = new Date(created + n * 60_000).toISOString().replace('Z', '000');
      const meta = JSON.parse(readFileSync(join(dir(id), 'meta.json'), 'utf8'));
      writeFileSync(join(dir(id), 'meta.json'), JSON.stringify({ ...meta, session_id: id, created_at: at, summary: undefined }));
      const state = JSON.parse(readFileSync(join(dir(id), 'state.json'), 'utf8'));
      writeFileSync(join(dir(id), 'state.json'), JSON.stringify({ ...state, task_description: `Task ${n}`, created_at: at }, null, 2));
    }
    const all = await runOrchJson(['sessions', '--all'], { cwd: r.root });
    expect(all.code).toBe(0);
    expect(all.json.map((s: { task: string }) => s.task)).toEqual(Array.from({ length: 25 }, (_, i) => `Task ${24 - i}`));
    const ids: string[] = all.json.map((s: { sessionId: string }) => s.sessionId);

    const page1 = await runOrchJson(['sessions'], { cwd: r.root });
    expect(page1.json.map((s: { sessionId: string }) => s.sessionId)).toEqual(ids.slice(0, 20));
    expect(page1.stderr).toContain(`20 of 25 sessions shown, newest first; the next ones: orch sessions --after ${ids[19]} --limit 20`);
    const human = await runOrch(['sessions'], { cwd: r.root });
    expect(human.stdout.trim().split('\n').filter((l) => /^[ *] [0-9a-f]{8} /.test(l))).toHaveLength(20);
    expect(human.stdout).toContain(`orch sessions --after ${ids[19]} --limit 20`);
    // The current session (the first one started, now the oldest) is named although it is off the page.
    expect(human.stdout).toContain(`The current session, ${first}, is not on this page: orch sessions show ${first}`);

    const page2 = await runOrchJson(['sessions', '--after', ids[19]!, '--limit', '20'], { cwd: r.root });
    expect(page2.json.map((s: { sessionId: string }) => s.sessionId)).toEqual(ids.slice(20));
    expect(page2.stderr).not.toContain('the next ones');
    const small = await runOrchJson(['sessions', '--limit', '2', '--after', ids[0]!], { cwd: r.root });
    expect(small.json.map((s: { sessionId: string }) => s.sessionId)).toEqual(ids.slice(1, 3));

    // The order read back from the index file: as appended (copies found in folder order, sorted
    // on load), and as rewritten whole (oldest first, taken in file order without sorting).
    const listedIds = async () => (await runOrchJson(['sessions', '--all'], { cwd: r.root })).json.map((s: { sessionId: string }) => s.sessionId);
    await stopDaemon(r.root);
    expect(await listedIds()).toEqual(ids);
    rmSync(join(r.root, '.orchestrator', 'session-index.jsonl'));
    expect(await listedIds()).toEqual(ids);
    await waitFor(() => existsSync(join(r.root, '.orchestrator', 'session-index.jsonl')), 'the index written again');
    await stopDaemon(r.root);
    expect(await listedIds()).toEqual(ids);

    const gone = await runOrchJson(['sessions', '--after', 'abcdef99'], { cwd: r.root });
    expect(gone.code).toBe(1);
    expect(gone.json.error).toMatchObject({ name: 'SessionNotFound' });
    expect(gone.json.error.message).toContain('run orch sessions again');
    for (const bad of [['--limit', '0'], ['--limit', 'ten'], ['--limit', '5', '--all']]) {
      const res = await runOrch(['sessions', ...bad], { cwd: r.root });
      expect({ bad, code: res.code }).toEqual({ bad, code: 2 });
    }
  });

  test('every command prints exactly one JSON document under --json', async () => {
    const r = repo();
    const id = (await runOrchJson(['start', 'JSON check'], { cwd: r.root })).json.sessionId;
    for (const args of [['status'], ['sessions'], ['sessions', 'show', id], ['sessions', 'switch', id], ['daemon', 'status']]) {
      const res = await runOrchJson(args, { cwd: r.root });
      expect(res.code).toBe(0);
      expect(res.json).toBeTruthy();
    }
    const err = await runOrchJson(['sessions', 'show', 'abcdef12'], { cwd: r.root });
    expect(err.code).toBe(1);
    expect(err.json.error).toMatchObject({ name: 'SessionNotFound', code: 1100 });
  });
});
