import { describe, expect, test } from '@jest/globals';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOrch, runOrchJson } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const { repo } = useRepoRegistry();

describe('session summaries', () => {
  test('listing uses the summary stored in meta.json while it matches state.json, and rebuilds it when not', async () => {
    const r = repo();
    const id = (await runOrchJson(['start', 'Real task'], { cwd: r.root })).json.sessionId;
    await runOrch(['daemon', 'stop'], { cwd: r.root });
    const dir = join(r.root, '.orchestrator', 'sessions', id);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    const st = statSync(join(dir, 'state.json'));
    expect(meta.summary).toMatchObject({ task: 'Real task', status: 'active', phase: 'PLAN', state_key: `${st.mtimeMs}:${st.size}` });

    // A summary that matches the state file is believed: the state is not parsed.
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, summary: { ...meta.summary, task: 'From the summary' } }));
    expect((await runOrchJson(['sessions'], { cwd: r.root })).json[0].task).toBe('From the summary');
    await runOrch(['daemon', 'stop'], { cwd: r.root });

    // Once state.json changes behind its back, the summary no longer matches and the state wins.
    utimesSync(join(dir, 'state.json'), new Date(), new Date(Date.now() + 5000));
    expect((await runOrchJson(['sessions'], { cwd: r.root })).json[0].task).toBe('Real task');
  });
});
