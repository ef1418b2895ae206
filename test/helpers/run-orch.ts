import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI, as users run it. */
/** The installed entry point (package.json bin): the bundled client behind its loader. */
export const ORCH_CLI = fileURLToPath(new URL('../../client/orch.cjs', import.meta.url));

/**
 * One V8 code cache for the whole test run, so tests never write to the user's ~/.cache: in the
 * run's folder (scripts/jest-global-setup.mjs), removed with it, else in /tmp.
 */
const CODE_CACHE_DIR = process.env.ORCH_TEST_RUN_DIR
  ? join(process.env.ORCH_TEST_RUN_DIR, 'code-cache')
  : join(tmpdir(), `orch-test-code-cache-${process.getuid?.() ?? 0}`);

export interface OrchResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a person at a terminal: approvals are not refused as an agent's (see client/client-info.ts). */
export const AS_PERSON: NodeJS.ProcessEnv = { ORCH_ACTOR_KIND: 'human' };
/** The same, always through a daemon (also in the suite's no-daemon run): for what only a daemon does. */
export const AS_PERSON_WITH_DAEMON: NodeJS.ProcessEnv = { ...AS_PERSON, ORCH_DAEMON: '1' };

/**
 * The environment every spawned `orch` gets: the caller's, minus variables that would point it at
 * another repo or session, plus what the test passes. ORCH_DAEMON is always explicit (CI sets `CI`,
 * which would otherwise switch the daemon off): `ORCH_TEST_DAEMON=0` runs the suite without a
 * daemon, anything else (the default) with one. Tests that need a daemon pass ORCH_DAEMON=1.
 */
export function orchEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.ORCH_SESSION;
  delete env.ORCH_ROOT;
  // A suite run from inside an AI agent's shell must not make every orch it spawns an agent (which
  // may not approve): tests that need an agent say so with CLAUDECODE=1 or ORCH_ACTOR_KIND=agent.
  for (const k of Object.keys(env)) {
    if (/^(CLAUDECODE|CLAUDE_CODE_ENTRYPOINT|CURSOR_AGENT|ORCH_ACTOR_KIND)$/.test(k) || k.startsWith('CODEX_')) delete env[k];
  }
  env.ORCH_IDLE_TIMEOUT_MS ??= '120000';
  env.ORCH_CACHE_DIR ??= CODE_CACHE_DIR;
  // The run's own socket folder (scripts/jest-global-setup.mjs), so killed daemons litter nothing else.
  if (process.env.ORCH_TEST_SOCKET_DIR) env.ORCH_SOCKET_DIR ??= process.env.ORCH_TEST_SOCKET_DIR;
  env.ORCH_DAEMON = process.env.ORCH_TEST_DAEMON ?? '1';
  return { ...env, ...extra };
}

/** True when this run of the suite uses no daemon (ORCH_TEST_DAEMON=0). */
export const isNoDaemonRun = process.env.ORCH_TEST_DAEMON === '0';

/** Spawns the built `orch` with `args` in `cwd` and collects its output; `input` is fed on stdin (as an agent feeds a hook). */
export function runOrch(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string }): Promise<OrchResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ORCH_CLI, ...args], {
      cwd: opts.cwd,
      env: orchEnv(opts.env),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`orch ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30000} ms\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 30000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** Runs orch with `--json` and parses stdout (which must be exactly one JSON document). */
export async function runOrchJson<T = any>(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; json: T; stderr: string }> {
  const r = await runOrch([...args, '--json'], opts);
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`orch ${args.join(' ')} --json printed non-JSON (exit ${r.code}):\n${r.stdout}\n--- stderr:\n${r.stderr}`);
  }
  return { code: r.code, json, stderr: r.stderr };
}

/** Stops the repo's daemon, if any (used in afterEach). */
export async function stopDaemon(root: string): Promise<void> {
  await runOrch(['daemon', 'stop', '--root', root], { cwd: root });
}
