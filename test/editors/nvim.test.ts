/**
 * The Neovim plugin (editors/nvim), tested in a real headless Neovim against a real daemon in a
 * temp repository: Lua scripts in test/editors/nvim/ drive the plugin and write what they saw to a
 * result file; this file sets up the repo, runs Neovim, and checks the result and the state on disk.
 * Without `nvim` (0.7 or later) on PATH the tests are skipped, and the run says so loudly.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonPidsFor, killDaemonsOf } from '../helpers/daemons.js';
import { ORCH_CLI, orchEnv, runOrchJson, stopDaemon } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';
import { makeTempDir, type TempRepo } from '../helpers/temp-repo.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const PLUGIN = join(REPO, 'editors', 'nvim');
const SCRIPTS = join(REPO, 'test', 'editors', 'nvim');
const NVIM = process.env.ORCH_TEST_NVIM ?? 'nvim';

/** Why the Neovim tests cannot run here, or null when they can. */
function nvimMissing(): string | null {
  const r = spawnSync(NVIM, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) return `${NVIM} was not found (${r.error?.message ?? `exit ${r.status}`}); install it (apt-get install neovim)`;
  const m = /NVIM v(\d+)\.(\d+)/.exec(r.stdout);
  if (!m || Number(m[1]) === 0 && Number(m[2]) < 7) return `${NVIM} is ${r.stdout.split('\n')[0]}; the plugin needs Neovim 0.7 or later`;
  return null;
}

const missing = nvimMissing();
const TESTS = [
  'the statusline shows the phase, and a change made with the CLI within 2 s',
  ':Orch complete, skip and approve change the state on disk; errors show the daemon’s message',
  'the plugin survives a daemon restart and a killed daemon',
  'with no daemon running the plugin starts one, and says so when the orch command cannot run',
];
if (missing) {
  const banner = `\n${'!'.repeat(78)}\nSKIPPED: the Neovim plugin tests (test/editors/nvim.test.ts) did not run: ${missing}.\n${TESTS.map((t) => `  - skipped: ${t}`).join('\n')}\n${'!'.repeat(78)}\n`;
  console.warn(banner);
}

const WORKFLOW = `name: "Editor"
version: "1.0"
phases:
  - id: PLAN
    name: "Plan"
    items:
      - id: write_plan
        name: "Write the plan"
      - id: review_notes
        name: "Review notes"
      - id: plan_approval
        name: "Plan approved"
        verification:
          type: manual_gate
  - id: BUILD
    name: "Build"
    items:
      - id: code
        name: "Code"
`;

const children: ChildProcess[] = [];
const dirs: string[] = [];
const roots: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
// Registered after the hook above, so Neovim is gone before the daemons stop and the repos go.
const { repo } = useRepoRegistry();
afterEach(() => {
  // The restart test kills a daemon and the plugin starts another: none may outlive the test.
  for (const root of roots.splice(0)) killDaemonsOf(root);
});

interface NvimResult {
  ok: boolean;
  error?: string;
  notes: { msg: string; level: number }[];
  [k: string]: unknown;
}

async function startedRepo(): Promise<{ r: TempRepo; sessionId: string }> {
  const r = repo();
  roots.push(r.root);
  writeFileSync(join(r.root, 'workflow.yaml'), WORKFLOW);
  const { code, json } = await runOrchJson(['start', 'Editor plugin'], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
  expect(code).toBe(0);
  return { r, sessionId: json.sessionId };
}

/** Runs `script` in a headless Neovim in `root`; resolves with what the script wrote. */
function runNvim(script: string, root: string, timeoutMs = 120_000): Promise<NvimResult> {
  // Neovim's own files (log, shada, state) go to a temp folder, never to the user's home.
  const home = makeTempDir('orch-nvim-');
  dirs.push(home);
  const resultFile = join(home, 'result.json');
  const env = orchEnv({
    ORCH_DAEMON: '1',
    ORCH_NVIM_CMD: JSON.stringify([process.execPath, ORCH_CLI]),
    ORCH_NVIM_RESULT: resultFile,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    XDG_STATE_HOME: join(home, 'state'),
    XDG_CACHE_HOME: join(home, 'cache'),
    NVIM_LOG_FILE: join(home, 'nvim.log'),
  });
  const file = join(SCRIPTS, script);
  const load = `lua local ok, e = pcall(dofile, ${JSON.stringify(file)}) if not ok then io.stderr:write(tostring(e) .. '\\n') vim.cmd('cquit 2') end`;
  const args = ['--headless', '-u', 'NONE', '-i', 'NONE', '-n', '--cmd', `set rtp+=${PLUGIN}`, '-c', load];
  return new Promise((resolve, reject) => {
    const child = spawn(NVIM, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nvim running ${script} did not finish within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      let result: NvimResult;
      try {
        result = JSON.parse(readFileSync(resultFile, 'utf8')) as NvimResult;
      } catch {
        reject(new Error(`nvim running ${script} exited ${code} without a result:\n${output}`));
        return;
      }
      if (!result.ok) reject(new Error(`${script} failed in Neovim: ${result.error}\nnotes: ${JSON.stringify(result.notes)}\n${output}`));
      else if (code !== 0) reject(new Error(`nvim running ${script} exited ${code}:\n${output}`));
      else resolve(result);
    });
  });
}

function stateOf(root: string, sessionId: string): any {
  return JSON.parse(readFileSync(join(root, '.orchestrator', 'sessions', sessionId, 'state.json'), 'utf8'));
}

(missing ? describe.skip : describe)('the Neovim plugin', () => {
  test(TESTS[0]!, async () => {
    const { r } = await startedRepo();
    const result = await runNvim('statusline.lua', r.root);
    const ms = (k: string) => Math.round((result[k] as number) * 10) / 10;
    process.stdout.write(
      `nvim statusline update after \`orch complete\`: ${ms('after_sent_ms')} ms after the daemon sent the notification; ` +
        `${ms('after_exit_ms')} ms after the CLI exited (negative: before it exited); ${ms('after_start_ms')} ms after it was launched (CLI run ${ms('cli_ms')} ms)\n`,
    );
    expect(result.after_exit_ms as number).toBeLessThanOrEqual(2000);
    expect(result.statusline).toBe('orch PLAN 2/3 ⚑');
    expect(result.notes.map((n) => n.msg)).toContain('orch: write_plan completed (PLAN 1/3)');
  });

  test(TESTS[1]!, async () => {
    const { r, sessionId } = await startedRepo();
    const result = await runNvim('acts.lua', r.root);
    const items = stateOf(r.root, sessionId).phases.PLAN.items;
    expect(items.write_plan).toMatchObject({ status: 'completed', notes: 'done in the editor' });
    expect(items.review_notes).toMatchObject({ status: 'skipped', skip_reason: 'covered by the plan review' });
    expect(items.plan_approval.status).toBe('completed');
    expect(JSON.stringify(stateOf(r.root, sessionId))).toMatch(/"channel":\s*"editor"/);
    expect(result.error_note).toMatch(/^orch: Item not found: no_such_item/);
    expect(result.own_announced).toEqual([]);
    expect(result.items_after_complete).toEqual(['review_notes']);
    expect((result.buffer as string[]).join('\n')).toContain('✓ * plan_approval — Plan approved — approved by Ada from nvim (editor)');
  });

  test(TESTS[2]!, async () => {
    const { r, sessionId } = await startedRepo();
    const result = await runNvim('restart.lua', r.root);
    expect(result.restarted).toBe(true);
    const items = stateOf(r.root, sessionId).phases.PLAN.items;
    expect(items.write_plan.status).toBe('completed');
    expect(items.review_notes.status).toBe('completed');
  });

  test(TESTS[3]!, async () => {
    const { r } = await startedRepo();
    await stopDaemon(r.root);
    expect(daemonPidsFor(r.root)).toEqual([]);
    const result = await runNvim('cold-start.lua', r.root);
    expect(result.bad_cmd_note).toMatch(/cannot run .*no-such-orch.*setup\(\{ cmd = \{ \.\.\. \} \}\)/);
    expect(result.bad_cmd_statusline).toBe('orch !');
    expect(daemonPidsFor(r.root)).toEqual([result.started_pid]);
  });
});
