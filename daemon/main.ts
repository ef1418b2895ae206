#!/usr/bin/env node
/**
 * Daemon process entry: `node dist/daemon/main.js --root <repo>`. The only file with side effects
 * at import time. Started detached by the client; stdout/stderr go to `.orchestrator/daemon.out`.
 */
import { findRepoRoot } from '../protocol/paths.js';
import { resolveConfig } from './config.js';
import { startDaemon } from './start.js';

function parseRoot(argv: string[]): string | undefined {
  const i = argv.indexOf('--root');
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const root = findRepoRoot(process.cwd(), parseRoot(process.argv.slice(2)) ?? process.env.ORCH_ROOT);
  const config = resolveConfig(root, process.env);
  const outcome = await startDaemon(config, process.env);
  if (outcome.kind === 'already-running') {
    process.stderr.write(`orch daemon: another daemon (pid ${outcome.holder?.pid ?? '?'}) already serves ${root}\n`);
    return;
  }
  const { handle } = outcome;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => void handle.shutdown(`signal ${signal}`));
  }
  process.on('SIGPIPE', () => undefined);
  const reason = await handle.closed;
  process.stderr.write(`orch daemon: stopped (${reason})\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`orch daemon: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
