import { describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TempRepo } from '../helpers/temp-repo.js';
import { runOrch, runOrchJson } from '../helpers/run-orch.js';
import { waitFor } from '../helpers/wait-for.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const { repo } = useRepoRegistry();

function repoWithWorkflow(yaml: string): TempRepo {
  const r = repo();
  writeFileSync(join(r.root, 'workflow.yaml'), yaml);
  return r;
}

function manyItems(n: number): string {
  const items = Array.from({ length: n }, (_, i) => `      - id: item_${i}\n        name: "Item ${i}"\n`).join('');
  return `name: "Many items"\nversion: "1.0"\nphases:\n  - id: WORK\n    name: "Work"\n    items:\n${items}`;
}

describe('concurrency', () => {
  // 50 Node processes at once on a shared 2-core machine (and, without a daemon, each waiting its
  // turn for the lock) can take minutes: the limits are about hanging, not speed (that is bench's).
  test('50 orch complete of 50 items launched at once all land in state.json and log.jsonl', async () => {
    const r = repoWithWorkflow(manyItems(50));
    const { json } = await runOrchJson(['start', 'Fifty at once'], { cwd: r.root });
    const env = { ORCH_CLI_LOCK_TIMEOUT_MS: '240000', ORCH_LOCK_TIMEOUT_MS: '240000' };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => runOrch(['complete', `item_${i}`, '--notes', `done ${i}`, '-q'], { cwd: r.root, env, timeoutMs: 240_000 })),
    );
    for (const res of results) expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    const dir = join(r.root, '.orchestrator', 'sessions', json.sessionId);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    const items = Object.values(state.phases.WORK.items) as { status: string; notes: string }[];
    expect(items.filter((i) => i.status === 'completed')).toHaveLength(50);
    const events = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const completed = events.filter((e) => e.event_type === 'item_completed').map((e) => e.item_id);
    expect(new Set(completed).size).toBe(50);
    expect(completed).toHaveLength(50);
  }, 300_000);

  test('a gate command that sleeps does not delay status of the same session', async () => {
    const r = repoWithWorkflow(`name: "Slow gate"
version: "1.0"
phases:
  - id: BUILD
    name: "Build"
    items:
      - id: slow_gate
        name: "Slow gate"
        step_type: gate
        verification:
          type: command
          command: "bash -c 'touch gate-started && sleep 4'"
`);
    // Serving reads while a command runs is what the daemon is for: without one, status waits
    // for the single-writer lock by design. This test always uses the daemon.
    const env = { ORCH_DAEMON: '1' };
    await runOrch(['start', 'Slow gate'], { cwd: r.root, env });
    let completeDone = false;
    const complete = runOrch(['complete', 'slow_gate', '-q'], { cwd: r.root, env }).then((res) => {
      completeDone = true;
      return res;
    });
    await waitFor(() => existsSync(join(r.root, 'gate-started')), 'the gate command to start', 30_000);
    const started = Date.now();
    const status = await runOrchJson(['status'], { cwd: r.root, env });
    const statusMs = Date.now() - started;
    expect(status.code).toBe(0);
    expect(completeDone).toBe(false);
    expect(status.json.items[0]).toMatchObject({ id: 'slow_gate', status: 'pending' });
    const done = await complete;
    expect(done.code).toBe(0);
    expect(statusMs).toBeLessThan(4000);
    const after = await runOrchJson(['status'], { cwd: r.root, env });
    expect(after.json.items[0].status).toBe('completed');
  });
});
