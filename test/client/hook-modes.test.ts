/**
 * The stop hook in the suite's mode (with a daemon, or without one: ORCH_TEST_DAEMON=0 runs each
 * command in-process): it blocks while the agent has work and lets it go once the workflow is done.
 */
import { describe, expect, test } from '@jest/globals';
import { runOrch, runOrchJson, type OrchResult } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const { repo } = useRepoRegistry();

function stopHook(cwd: string): Promise<OrchResult> {
  return runOrch(['hook', 'stop'], { cwd, input: JSON.stringify({ session_id: 'c1', hook_event_name: 'Stop', stop_hook_active: false }) });
}

describe('orch hook stop in this mode', () => {
  test('blocks with the next action while the workflow has work, and is silent once it is abandoned', async () => {
    const r = repo();
    const started = await runOrchJson(['start', 'Hook in this mode'], { cwd: r.root });
    expect(started.code).toBe(0);
    const blocked = await stopHook(r.root);
    expect({ code: blocked.code, stderr: blocked.stderr }).toEqual({ code: 0, stderr: '' });
    const out = JSON.parse(blocked.stdout);
    expect(out.decision).toBe('block');
    expect(out.reason).toMatch(/\nNEXT_ACTION: orch complete \S+ --notes "<what you did>"$/);
    const abandoned = await runOrchJson(['finish', '--abandon', '--reason', 'Stopped on purpose for this test.'], { cwd: r.root });
    expect(abandoned.code).toBe(0);
    expect(await stopHook(r.root)).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});
