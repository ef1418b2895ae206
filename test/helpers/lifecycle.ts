/**
 * Shared set-up for the lifecycle tests: temp repos that are cleaned up (daemons stopped, then
 * killed if they linger), an environment that always uses a daemon, and small workflow files.
 */
import { afterEach } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killDaemonsOf } from './daemons.js';
import { runOrch, runOrchJson, type OrchResult } from './run-orch.js';
import { makeTempRepo, type TempRepo } from './temp-repo.js';

/** Lifecycle tests are about the daemon: they force it on whatever mode the suite runs in. */
export const DAEMON_ENV: NodeJS.ProcessEnv = { ORCH_DAEMON: '1' };

/** Returns a `repo()` factory whose repos are torn down after each test of the calling file. */
export function useTempRepos(): (opts?: { git?: boolean; workflow?: string }) => TempRepo {
  const repos: TempRepo[] = [];
  afterEach(async () => {
    for (const r of repos.splice(0)) {
      await runOrch(['daemon', 'stop', '--root', r.root], { cwd: r.root, env: DAEMON_ENV }).catch(() => undefined);
      killDaemonsOf(r.root);
      r.remove();
    }
  });
  return (opts = {}) => {
    const r = makeTempRepo({ git: opts.git });
    repos.push(r);
    if (opts.workflow) writeFileSync(join(r.root, 'workflow.yaml'), opts.workflow);
    return r;
  };
}

/** One phase WORK with items item_0 … item_{n-1}, no verification. */
export function manyItems(n: number): string {
  const items = Array.from({ length: n }, (_, i) => `      - id: item_${i}\n        name: "Item ${i}"\n`).join('');
  return `name: "Many items"\nversion: "1.0"\nphases:\n  - id: WORK\n    name: "Work"\n    items:\n${items}`;
}

/** One phase with a gate item `gate` whose command is `command`, then a plain item `after`. */
export function gateWorkflow(command: string): string {
  return `name: "Gate"
version: "1.0"
phases:
  - id: BUILD
    name: "Build"
    items:
      - id: gate
        name: "Gate"
        step_type: gate
        verification:
          type: command
          command: ${JSON.stringify(command)}
      - id: after
        name: "After"
`;
}

/** Runs orch with a daemon (ORCH_DAEMON=1) plus `env`. */
export function orch(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs?: number): Promise<OrchResult> {
  return runOrch(args, { cwd, env: { ...DAEMON_ENV, ...env }, timeoutMs });
}

/** The same with --json, parsed. */
export function orchJson<T = any>(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return runOrchJson<T>(args, { cwd, env: { ...DAEMON_ENV, ...env } });
}

/** Item statuses of a session's phase, read from state.json on disk. */
export function itemStatuses(root: string, sessionId: string, phase: string): Record<string, string> {
  const state = JSON.parse(readFileSync(join(root, '.orchestrator', 'sessions', sessionId, 'state.json'), 'utf8'));
  const items = state.phases[phase].items as Record<string, { status: string }>;
  return Object.fromEntries(Object.entries(items).map(([id, it]) => [id, it.status]));
}
