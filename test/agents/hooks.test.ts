/**
 * Claude Code's hooks, fed on stdin exactly as Claude Code sends them, against the built `orch` and
 * a real daemon in a temp repo; and the settings files orch merges itself into.
 */
import { describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOrch, runOrchJson, type OrchResult } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';
import { makeTempDir, type TempRepo } from '../helpers/temp-repo.js';

const { repo } = useRepoRegistry();

/** Runs the built orch with `input` on stdin (as Claude Code runs a hook command). */
function runWithInput(args: string[], input: string, opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<OrchResult> {
  return runOrch(args, { cwd: opts.cwd, env: { ORCH_DAEMON: '1', ...opts.env }, input });
}

/** The Stop hook's input, as Claude Code sends it. */
function stopInput(r: TempRepo, active: boolean, session = 'claude-session-1'): string {
  return JSON.stringify({
    session_id: session,
    transcript_path: join(r.root, 'transcript.jsonl'),
    cwd: r.root,
    permission_mode: 'default',
    hook_event_name: 'Stop',
    stop_hook_active: active,
  });
}

async function stopHook(r: TempRepo, active: boolean, env: NodeJS.ProcessEnv = {}, session?: string): Promise<{ out: any; r: OrchResult }> {
  const res = await runWithInput(['hook', 'stop'], stopInput(r, active, session), { cwd: r.root, env });
  expect(res.code).toBe(0);
  return { out: res.stdout.trim() === '' ? null : JSON.parse(res.stdout), r: res };
}

async function orch(r: TempRepo, ...args: string[]): Promise<any> {
  const { code, json, stderr } = await runOrchJson(args, { cwd: r.root, env: { ORCH_DAEMON: '1' } });
  if (code !== 0) throw new Error(`orch ${args.join(' ')} exited ${code}: ${stderr} ${JSON.stringify(json)}`);
  return json;
}

const FLOW = `name: "Hooked"
version: "1.0"
phases:
  - id: PLAN
    name: "Plan"
    items:
      - id: write_plan
        name: "Write the plan"
      - id: nice_to_have
        name: "Optional"
        required: false
      - id: sign_off
        name: "A person signs off"
        verification: {type: manual_gate}
  - id: BUILD
    name: "Build"
    exit_gate: human_approval
    items:
      - id: build_it
        name: "Build it"
`;

async function startedRepo(): Promise<{ r: TempRepo; id: string }> {
  const r = repo();
  writeFileSync(join(r.root, 'workflow.yaml'), FLOW);
  const { sessionId } = await orch(r, 'start', 'Hook the agent');
  return { r, id: sessionId as string };
}

describe('orch hook stop', () => {
  test('in a repository without orch it lets the agent stop silently and creates nothing', async () => {
    const r = repo();
    const { out, r: res } = await stopHook(r, false);
    expect(out).toBeNull();
    expect(res.stderr).toBe('');
    expect(existsSync(join(r.root, '.orchestrator'))).toBe(false);
  });

  test('outside any repository both hooks say nothing, and exit 0', async () => {
    const dir = makeTempDir('orch-norepo-');
    try {
      for (const hook of ['stop', 'session-start']) {
        const res = await runWithInput(['hook', hook], '{}', { cwd: dir });
        expect(res).toEqual({ code: 0, stdout: '', stderr: '' });
      }
      expect(existsSync(join(dir, '.orchestrator'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('blocks while required items are open, allows a repeat with nothing changed, blocks again after a change', async () => {
    const { r } = await startedRepo();
    const first = await stopHook(r, false);
    expect(first.out).toEqual({
      decision: 'block',
      reason:
        'orch: phase PLAN (Plan) is not done: write_plan (pending), sign_off (pending).\nNEXT_ACTION: orch complete write_plan --notes "<what you did>"',
    });
    // Claude Code continued because of the block and the agent changed nothing: let it stop.
    const repeat = await stopHook(r, true);
    expect(repeat.out).toEqual({
      systemMessage:
        'orch: the agent stopped with phase PLAN (Plan) unfinished; nothing changed since it was last reminded. NEXT_ACTION: orch complete write_plan --notes "<what you did>"',
    });
    // Another agent session was never blocked: it is held to the workflow.
    expect((await stopHook(r, true, {}, 'claude-session-2')).out.decision).toBe('block');
    // The agent made progress but is not done: blocked again, on the new next step.
    await orch(r, 'skip', 'nice_to_have', '--reason', 'Not needed for this change at all, really.');
    const after = await stopHook(r, true);
    expect(after.out.decision).toBe('block');
  });

  test('lets the agent stop when the phase waits on a person, naming the gate; and after the workflow is finished', async () => {
    const { r, id } = await startedRepo();
    await orch(r, 'complete', 'write_plan', '--notes', 'Planned');
    const gate = await stopHook(r, false);
    expect(gate.out).toEqual({ systemMessage: 'orch: phase PLAN (Plan) waits on a person to approve sign_off (orch approve-item sign_off).' });

    // Bound to a session through ORCH_SESSION: the commands name it.
    const bound = await stopHook(r, false, { ORCH_SESSION: id });
    expect(bound.out).toEqual({
      systemMessage: `orch: phase PLAN (Plan) waits on a person to approve sign_off (orch approve-item sign_off --session ${id}).`,
    });

    await orch(r, 'approve-item', 'sign_off');
    // The phase is done: advancing is the agent's job.
    expect((await stopHook(r, false)).out).toEqual({
      decision: 'block',
      reason: 'orch: every required item of phase PLAN (Plan) is done.\nNEXT_ACTION: orch advance',
    });
    await orch(r, 'advance');
    await orch(r, 'complete', 'build_it', '--notes', 'Built');
    expect((await stopHook(r, false)).out).toEqual({
      systemMessage: 'orch: phase BUILD (Build) waits on a person to approve the phase gate (orch approve).',
    });
    await orch(r, 'approve');
    await orch(r, 'finish');
    const done = await stopHook(r, false);
    expect(done.out).toBeNull();
    expect(done.r.stderr).toBe('');
  });

  test('fails open, saying so on stderr, when the daemon cannot be reached', async () => {
    const { r } = await startedRepo();
    await runOrch(['daemon', 'stop'], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
    const blocked = makeTempDir('orch-nosock-');
    try {
      writeFileSync(join(blocked, 'file'), '');
      // A socket folder that cannot exist: no daemon can start.
      const res = await stopHook(r, false, { ORCH_SOCKET_DIR: join(blocked, 'file', 'sock'), ORCH_START_TIMEOUT_MS: '3000' });
      expect(res.out).toBeNull();
      expect(res.r.stderr).toMatch(/^orch hook stop: orch could not be asked \(.+\), so the agent goes on unchecked\.\n$/);
    } finally {
      rmSync(blocked, { recursive: true, force: true });
    }
  });
});

describe('orch hook session-start', () => {
  test('prints the task, phase, blockers and NEXT_ACTION as SessionStart context, and binds the agent shell to the session', async () => {
    const { r, id } = await startedRepo();
    const envDir = makeTempDir('orch-envfile-');
    try {
      const envFile = join(envDir, 'env.sh');
      writeFileSync(envFile, 'export FOO=1\n');
      const input = JSON.stringify({ session_id: 'c1', transcript_path: '/dev/null', cwd: r.root, hook_event_name: 'SessionStart', source: 'compact' });
      const res = await runWithInput(['hook', 'session-start'], input, { cwd: r.root, env: { CLAUDE_ENV_FILE: envFile } });
      expect(res.code).toBe(0);
      const out = JSON.parse(res.stdout);
      expect(Object.keys(out)).toEqual(['hookSpecificOutput']);
      expect(out.hookSpecificOutput.hookEventName).toBe('SessionStart');
      const ctx: string = out.hookSpecificOutput.additionalContext;
      expect(ctx).toContain('Task: Hook the agent');
      expect(ctx).toContain('Phase: PLAN - Plan (1/2)');
      expect(ctx).toContain('Blockers: write_plan (pending), sign_off (pending)');
      expect(ctx).toContain('never pass --force');
      expect(ctx.split('\n').pop()).toBe(`NEXT_ACTION: orch complete write_plan --notes "<what you did>" --session ${id}`);
      expect(ctx.length).toBeLessThan(8000);
      expect(readFileSync(envFile, 'utf8')).toBe(`export FOO=1\nexport ORCH_SESSION=${id}\n`);
    } finally {
      rmSync(envDir, { recursive: true, force: true });
    }
  });

  test('in a repository without a session it says how to start one, creating nothing', async () => {
    const r = repo();
    const res = await runWithInput(['hook', 'session-start'], '{"source":"startup"}', { cwd: r.root });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).hookSpecificOutput.additionalContext).toMatch(/No active workflow\. This repository has no orch session yet\.\nNEXT_ACTION: orch start "<task>"$/);
    expect(existsSync(join(r.root, '.orchestrator'))).toBe(false);
  });
});

describe('settings files orch merges itself into', () => {
  test('hook install --print merges into an existing settings file without losing keys; install writes the same, twice is once', async () => {
    const r = repo();
    mkdirSync(join(r.root, '.claude'));
    const existing = {
      model: 'opus',
      permissions: { allow: ['Bash(npm test)'] },
      hooks: {
        Stop: [{ hooks: [{ type: 'command', command: 'say done' }] }],
        PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 'check-bash' }] }],
      },
    };
    const file = join(r.root, '.claude', 'settings.json');
    writeFileSync(file, JSON.stringify(existing));
    const printed = await runOrch(['hook', 'install', 'claude', '--print'], { cwd: r.root });
    expect(printed.code).toBe(0);
    const merged = JSON.parse(printed.stdout);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(existing); // --print writes nothing
    expect(merged.model).toBe('opus');
    expect(merged.permissions).toEqual(existing.permissions);
    expect(merged.hooks.PreToolUse).toEqual(existing.hooks.PreToolUse);
    expect(merged.hooks.Stop[0]).toEqual(existing.hooks.Stop[0]);
    expect(merged.hooks.Stop[1].hooks[0]).toMatchObject({ type: 'command', timeout: 30 });
    expect(merged.hooks.Stop[1].hooks[0].command).toMatch(/^\S*node\S* \S*orch\.cjs hook stop$/);
    expect(merged.hooks.SessionStart).toEqual([
      { matcher: 'startup|resume|clear|compact', hooks: [{ type: 'command', command: expect.stringMatching(/ hook session-start$/), timeout: 30 }] },
    ]);

    expect((await runOrch(['hook', 'install', 'claude'], { cwd: r.root })).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(merged);
    expect((await runOrch(['hook', 'install', 'claude'], { cwd: r.root })).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(merged);

    // --local writes settings.local.json; a settings file that is not JSON is named and left alone.
    writeFileSync(join(r.root, '.claude', 'settings.local.json'), '{ not json');
    const bad = await runOrch(['hook', 'install', 'claude', '--local'], { cwd: r.root });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/\.claude\/settings\.local\.json is not valid JSON/);
    expect(readFileSync(join(r.root, '.claude', 'settings.local.json'), 'utf8')).toBe('{ not json');
  });
});
