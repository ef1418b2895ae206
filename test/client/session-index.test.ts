import { describe, expect, test } from '@jest/globals';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOrch, runOrchJson, stopDaemon } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const { repo } = useRepoRegistry();

const indexFile = (root: string) => join(root, '.orchestrator', 'session-index.jsonl');
const sessionDir = (root: string, id: string) => join(root, '.orchestrator', 'sessions', id);

/** The index file's session lines, last line per id winning, as orch reads it. */
function indexed(root: string): Map<string, { task: string | null; gone?: boolean }> {
  const lines = readFileSync(indexFile(root), 'utf8').split('\n').filter((l) => l !== '');
  expect(JSON.parse(lines[0]!)).toEqual({ orch_session_index: 2 });
  const out = new Map<string, { task: string | null }>();
  for (const l of lines.slice(1)) {
    const o = JSON.parse(l) as { id: string; task: string | null; gone?: boolean };
    if (o.gone) out.delete(o.id);
    else out.set(o.id, o);
  }
  return out;
}

async function listed(root: string): Promise<Array<{ sessionId: string; task: string | null; status: string }>> {
  const r = await runOrchJson(['sessions'], { cwd: root });
  expect(r.code).toBe(0);
  return r.json;
}

/** A session's state.json with its task replaced (an edit made outside orch). */
function retask(root: string, id: string, task: string): void {
  const file = join(sessionDir(root, id), 'state.json');
  const state = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify({ ...state, task_description: task }, null, 2));
}

describe('the session index (.orchestrator/session-index.jsonl)', () => {
  test('listing writes one index of every session, and a missing index is rebuilt from the session folders', async () => {
    const r = repo();
    const a = (await runOrchJson(['start', 'First task'], { cwd: r.root })).json.sessionId;
    const b = (await runOrchJson(['start', 'Second task'], { cwd: r.root })).json.sessionId;
    expect((await listed(r.root)).map((s) => s.sessionId)).toEqual([b, a]);
    await waitFor(() => indexed(r.root).size === 2, 'both sessions in the index');
    expect(indexed(r.root).get(a)?.task).toBe('First task');

    await stopDaemon(r.root);
    rmSync(indexFile(r.root));
    expect((await listed(r.root)).map((s) => [s.sessionId, s.task])).toEqual([
      [b, 'Second task'],
      [a, 'First task'],
    ]);
    await waitFor(() => existsSync(indexFile(r.root)) && indexed(r.root).size === 2, 'the index written again');
  });

  test('a corrupt or foreign index is ignored and rewritten; its lines never outvote the session files', async () => {
    const r = repo();
    const a = (await runOrchJson(['start', 'Real task'], { cwd: r.root })).json.sessionId;
    await listed(r.root);
    await stopDaemon(r.root);
    // A line that lies about the task (its state key does not match the file), a torn line, junk.
    const lines = readFileSync(indexFile(r.root), 'utf8').split('\n');
    const entry = JSON.parse(lines[1]!);
    writeFileSync(indexFile(r.root), [lines[0], JSON.stringify({ ...entry, task: 'A lie', key: '1:2' }), '{"id":"', 'not json', ''].join('\n'));
    expect((await listed(r.root)).map((s) => s.task)).toEqual(['Real task']);
    await waitFor(() => indexed(r.root).get(a)?.task === 'Real task', 'the index rewritten');
    expect(readFileSync(indexFile(r.root), 'utf8')).not.toMatch(/not json|A lie/);

    await stopDaemon(r.root);
    writeFileSync(indexFile(r.root), '\u0000\u0001 binary garbage');
    expect((await listed(r.root)).map((s) => s.task)).toEqual(['Real task']);
    await waitFor(() => indexed(r.root).get(a)?.task === 'Real task', 'the garbage replaced');

    // A line whose id, time and state key are right but whose row is not what orch writes (loaded
    // without being parsed) is made again from the session's files when it is shown.
    await stopDaemon(r.root);
    const good = readFileSync(indexFile(r.root), 'utf8').split('\n');
    const bad = good.map((l) => (l.includes(`"id":"${a}"`) ? l.replace('"task":"Real task"', '"task":42') : l));
    expect(bad).not.toEqual(good);
    writeFileSync(indexFile(r.root), bad.join('\n'));
    expect((await listed(r.root)).map((s) => s.task)).toEqual(['Real task']);
    await waitFor(() => indexed(r.root).get(a)?.task === 'Real task', 'the bad row made again');
  });

  test('a session folder copied in from outside is listed, and one removed outside is not, with the daemon running', async () => {
    const r = repo();
    const a = (await runOrchJson(['start', 'Original task'], { cwd: r.root })).json.sessionId;
    expect((await listed(r.root)).length).toBe(1);
    // As a git pull would bring it: a whole session folder under a new id.
    const copy = a === 'abcdef01' ? 'abcdef02' : 'abcdef01';
    cpSync(sessionDir(r.root, a), sessionDir(r.root, copy), { recursive: true });
    const meta = JSON.parse(readFileSync(join(sessionDir(r.root, copy), 'meta.json'), 'utf8'));
    writeFileSync(join(sessionDir(r.root, copy), 'meta.json'), JSON.stringify({ ...meta, session_id: copy, summary: undefined }));
    retask(r.root, copy, 'Pulled task');
    const after = await listed(r.root);
    expect(after.map((s) => s.task).sort()).toEqual(['Original task', 'Pulled task']);
    await waitFor(() => indexed(r.root).get(copy)?.task === 'Pulled task', 'the pulled session in the index');

    rmSync(sessionDir(r.root, a), { recursive: true });
    expect((await listed(r.root)).map((s) => s.sessionId)).toEqual([copy]);
    await waitFor(() => !indexed(r.root).has(a), 'the removed session out of the index');
  });

  test('a state file changed outside orch is listed as it is now: at once after a restart, and soon with the daemon running', async () => {
    const r = repo();
    const a = (await runOrchJson(['start', 'Before the edit'], { cwd: r.root })).json.sessionId;
    const b = (await runOrchJson(['start', 'The current one'], { cwd: r.root })).json.sessionId;
    expect(b).not.toBe(a);
    await listed(r.root);
    await stopDaemon(r.root);
    retask(r.root, a, 'Edited while stopped');
    expect((await listed(r.root)).find((s) => s.sessionId === a)?.task).toBe('Edited while stopped');

    // `a` is not current and not watched: its edit is found by the periodic check of each summary.
    retask(r.root, a, 'Edited while running');
    await waitFor(async () => (await listed(r.root)).find((s) => s.sessionId === a)?.task === 'Edited while running', 'the edit listed', 30_000, 200);
  });

  test('a change made through orch is in the index without a listing, and the list agrees', async () => {
    const r = repo();
    const a = (await runOrchJson(['start', 'Change me'], { cwd: r.root })).json.sessionId;
    await listed(r.root);
    const done = await runOrch(['complete', 'clarify_requirements', '--notes', 'asked'], { cwd: r.root });
    expect(done.code).toBe(0);
    const progress = (await listed(r.root)).find((s) => s.sessionId === a) as unknown as { progress: { completed: number } };
    expect(progress.progress.completed).toBe(1);
    await waitFor(() => (indexed(r.root).get(a) as unknown as { progress?: { completed: number } })?.progress?.completed === 1, 'the change in the index');
  });
});
