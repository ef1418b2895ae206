/**
 * Smaller defects a new user and a hostile one found (issue 10, section 6): legacy log text, the
 * folder outside any repository, validate vs verification, the copied-folder warning, init's
 * backups, global options anywhere, checkpoint input, one error table, watch after daemon stop.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLegacyRepo } from '../helpers/legacy-repo.js';
import { gateWorkflow } from '../helpers/lifecycle.js';
import { ORCH_CLI, isNoDaemonRun, orchEnv, runOrch, runOrchJson } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const { repo, track } = useRepoRegistry();

const UNRUNNABLE = `name: "Unrunnable"
version: "1.0"
settings:
  target: "all; rm -rf /"
phases:
  - id: PLAN
    name: "Plan"
    items:
      - id: piped
        name: "Piped"
        verification: { type: command, command: "echo hi | grep hi" }
      - id: outside
        name: "Outside"
        verification: { type: file_exists, path: "../../etc/passwd" }
      - id: unsafe
        name: "Unsafe"
        verification: { type: command, command: "make {{target}}" }
`;

describe('reading and writing outside a repository', () => {
  test('outside any repository, read commands write nothing and start refuses, unless --root names the folder', async () => {
    const dir = repo({ git: false });
    for (const args of [['status'], ['sessions'], ['log']]) {
      const res = await runOrchJson(args, { cwd: dir.root });
      expect(res.code).toBe(1);
      expect(res.json.error).toMatchObject({ name: 'RepoNotInitialized', code: 1200 });
      expect(res.json.error.message).toMatch(/not inside a repository .*--root/);
    }
    const start = await runOrch(['start', 'Nowhere'], { cwd: dir.root });
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/not inside a repository/);
    expect(readdirSync(dir.root)).toEqual([]);
    const explicit = await runOrchJson(['start', 'Here on purpose', '--root', '.'], { cwd: dir.root });
    expect(explicit.code).toBe(0);
    expect(existsSync(join(dir.root, '.orchestrator', 'current'))).toBe(true);
  });
});

describe('orch log in a legacy repository', () => {
  test('plain orch log prints the legacy events that --json returns', async () => {
    const r = track(makeLegacyRepo());
    const json = await runOrchJson(['log', '-n', '2'], { cwd: r.root });
    expect(json.json.source).toBe('legacy');
    const text = await runOrch(['log', '-n', '2'], { cwd: r.root });
    expect(text.code).toBe(0);
    expect(text.stdout).not.toMatch(/No workflow has been started/);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    json.json.events.forEach((e: { event_type: string }, i: number) => expect(lines[i]).toContain(e.event_type));
  });
});

describe('validate applies the rules verification applies', () => {
  test('a command needing a shell, a path outside the repository and a setting with shell characters make the file invalid', async () => {
    const r = repo();
    writeFileSync(join(r.root, 'workflow.yaml'), UNRUNNABLE);
    const res = await runOrchJson(['validate'], { cwd: r.root });
    expect(res.code).toBe(1);
    expect(res.json.error.name).toBe('InvalidWorkflow');
    const errors: string[] = res.json.error.details.errors;
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/items\[0\]\.verification\.command: .*operator \|.*needs a shell/);
    expect(errors[1]).toMatch(/items\[1\]\.verification\.path: "\.\.\/\.\.\/etc\/passwd" is outside the repository/);
    expect(errors[2]).toMatch(/items\[2\]\.verification\.command: Unsafe characters in setting 'target'/);
  });

  test('completing an item whose command is refused for shell operators marks it failed, not pending', async () => {
    const r = repo();
    writeFileSync(join(r.root, 'workflow.yaml'), UNRUNNABLE);
    expect((await runOrch(['start', 'Run it anyway'], { cwd: r.root })).code).toBe(0);
    const res = await runOrchJson(['complete', 'piped'], { cwd: r.root });
    expect(res.code).toBe(1);
    expect(res.json.error.name).toBe('VerificationFailed');
    expect(res.json.error.message).toMatch(/needs a shell/);
    const status = await runOrchJson(['status'], { cwd: r.root });
    expect(status.json.items.find((i: { id: string }) => i.id === 'piped').status).toBe('failed');
  });

  test('a gate of false says what failed: the exit code and that it printed nothing', async () => {
    const r = repo();
    writeFileSync(join(r.root, 'workflow.yaml'), gateWorkflow('false'));
    expect((await runOrch(['start', 'Gate'], { cwd: r.root })).code).toBe(0);
    const res = await runOrch(['complete', 'gate'], { cwd: r.root });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/Gate failed \(exit code 1\): the command printed nothing/);
    expect(res.stderr).not.toMatch(/Unknown error/);
  });
});

describe('the copied-or-moved warning', () => {
  test('status, complete and the daemon log carry it, not only start', async () => {
    const r = repo();
    expect((await runOrch(['start', 'Copy me'], { cwd: r.root })).code).toBe(0);
    await runOrch(['daemon', 'stop'], { cwd: r.root });
    const copy = repo();
    cpSync(join(r.root, '.orchestrator'), join(copy.root, '.orchestrator'), { recursive: true });
    const status = await runOrch(['status'], { cwd: copy.root });
    expect(status.code).toBe(0);
    expect(status.stderr).toMatch(/the folder was copied or moved/);
    const done = await runOrchJson(['complete', 'clarify_requirements'], { cwd: copy.root });
    expect(done.code).toBe(0);
    expect(done.json.warnings.join('\n')).toMatch(/the folder was copied or moved/);
    if (!isNoDaemonRun) {
      const log = await waitFor(() => {
        const text = existsSync(join(copy.root, '.orchestrator', 'daemon.log')) ? readFileSync(join(copy.root, '.orchestrator', 'daemon.log'), 'utf8') : '';
        return /copied or moved/.test(text) ? text : null;
      }, 'the warning in daemon.log', 30_000);
      expect(log).toContain(r.root);
    }
  });
});

describe('orch init --force', () => {
  test('never overwrites a backup: each run keeps the previous file under the next free name', async () => {
    const r = repo();
    writeFileSync(join(r.root, 'workflow.yaml'), 'name: "Mine"\n');
    expect((await runOrch(['init', '--force'], { cwd: r.root })).code).toBe(0);
    writeFileSync(join(r.root, 'workflow.yaml'), 'name: "Mine again"\n');
    const second = await runOrchJson(['init', '--force'], { cwd: r.root });
    expect(second.code).toBe(0);
    expect(second.json.backup).toBe(join(r.root, 'workflow.yaml.bak.1'));
    expect(readFileSync(join(r.root, 'workflow.yaml.bak'), 'utf8')).toBe('name: "Mine"\n');
    expect(readFileSync(join(r.root, 'workflow.yaml.bak.1'), 'utf8')).toBe('name: "Mine again"\n');
  });
});

describe('command-line input', () => {
  test('global options are accepted before the command too', async () => {
    const r = repo();
    expect((await runOrch(['start', 'Globals'], { cwd: r.root })).code).toBe(0);
    const json = await runOrch(['--json', 'status'], { cwd: r.root });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).task).toBe('Globals');
    const rooted = await runOrch(['--root', r.root, '--json', 'sessions'], { cwd: '/' });
    expect(rooted.code).toBe(0);
    expect(JSON.parse(rooted.stdout)).toHaveLength(1);
    const eq = await runOrch([`--root=${r.root}`, '-q', 'complete', 'clarify_requirements'], { cwd: '/' });
    expect(eq.code).toBe(0);
  });

  test('usage errors under --json come from the one error table, and long values are cut', async () => {
    const r = repo();
    expect((await runOrch(['start', 'Long values'], { cwd: r.root })).code).toBe(0);
    const bad = await runOrchJson(['status', '--session', '../..'], { cwd: r.root });
    expect(bad.code).toBe(2);
    expect(bad.json.error).toMatchObject({ code: 1003, name: 'InvalidSessionId' });
    const usage = await runOrchJson(['log', '-n', 'many'], { cwd: r.root });
    expect(usage.code).toBe(2);
    expect(usage.json.error).toMatchObject({ code: 1004, name: 'InvalidArgument' });
    const long = 'x'.repeat(5000);
    for (const args of [['status', '--session', long], ['complete', long], ['checkpoint', '-f', long]]) {
      const res = await runOrch(args, { cwd: r.root });
      expect(res.code).not.toBe(0);
      expect(res.stderr.length).toBeLessThan(600);
      expect(res.stderr).toContain('xxxxxxxxxx…');
      expect(res.stderr).not.toContain('x'.repeat(101));
    }
  });

  test('checkpoint refuses a file that does not exist; start refuses an empty constraint', async () => {
    const r = repo();
    const empty = await runOrchJson(['start', 'Constraints', '-c', ''], { cwd: r.root });
    expect(empty.code).toBe(2);
    expect(empty.json.error.message).toMatch(/constraint is empty/);
    expect((await runOrch(['start', 'Constraints'], { cwd: r.root })).code).toBe(0);
    const missing = await runOrchJson(['checkpoint', '-f', 'missing.txt'], { cwd: r.root });
    expect(missing.code).toBe(2);
    expect(missing.json.error.message).toMatch(/missing\.txt does not exist/);
    writeFileSync(join(r.root, 'here.txt'), 'x');
    const ok = await runOrchJson(['checkpoint', '-f', 'here.txt'], { cwd: r.root });
    expect(ok.code).toBe(0);
    expect(ok.json.checkpoint.files).toContain('here.txt');
  });

  test('a checkpoint file name with a NUL is refused over the protocol', async () => {
    const r = repo();
    expect((await runOrch(['start', 'NUL'], { cwd: r.root })).code).toBe(0);
    const { OrchClient, CheckpointCreateRequest } = await import('../../client/lib.js');
    const client = await OrchClient.connect({ root: r.root, env: orchEnv({ ORCH_DAEMON: '1' }) });
    try {
      const err = await client.request(CheckpointCreateRequest, { files: [join(r.root, 'a\0b')] }).then(
        () => null,
        (e: { data?: { name?: string }; message: string }) => e,
      );
      expect(err?.data?.name).toBe('InvalidArgument');
      expect(err?.message).toMatch(/NUL/);
    } finally {
      client.close();
    }
  });
});

describe('orch watch and orch daemon stop', () => {
  const watchers: ChildProcess[] = [];
  afterEach(() => {
    for (const w of watchers.splice(0)) w.kill('SIGKILL');
  });

  test('after orch daemon stop, watch says so and does not start a daemon; it reconnects when another command starts one', async () => {
    const r = repo();
    expect((await runOrch(['start', 'Watch me'], { cwd: r.root, env: { ORCH_DAEMON: '1' } })).code).toBe(0);
    const child = spawn(process.execPath, [ORCH_CLI, 'watch', '--json'], { cwd: r.root, env: orchEnv({ ORCH_DAEMON: '1' }), stdio: ['ignore', 'pipe', 'pipe'] });
    watchers.push(child);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    await waitFor(() => out.includes('client/subscribed'), 'watch to subscribe', 30_000);
    const stop = await runOrchJson(['daemon', 'stop'], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
    expect(stop.json.stopped).toBe(true);
    await waitFor(() => out.includes('"client/waiting"'), 'watch to say it waits', 30_000);
    expect(out).toContain('orch daemon stop');
    // Before the fix the watcher restarted the daemon within half a second.
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      const st = await runOrchJson(['daemon', 'status'], { cwd: r.root });
      expect(st.json.running).toBe(false);
    }
    expect((await runOrch(['daemon', 'start'], { cwd: r.root })).code).toBe(0);
    await waitFor(() => out.includes('client/reconnected'), 'watch to reconnect to the new daemon', 30_000);
  });
});
