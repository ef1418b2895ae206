#!/usr/bin/env node
/**
 * Daemon process entry: `node dist/daemon/main.js --root <repo> [--reason <why>]`. The only file
 * with side effects at import time. Started detached by the client; stdout/stderr go to
 * `.orchestrator/daemon.out`.
 */
import { describeFsError } from '../protocol/errors.js';
import { findRepoRoot } from '../protocol/node/paths.js';
import { resolveConfig } from './runtime/config.js';
import { startDaemon, type DaemonHandle } from './runtime/start-daemon.js';

function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** A peer that vanished mid-write; never a reason to stop serving everybody else. */
function isPeerGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET' || code === 'ERR_STREAM_DESTROYED';
}

let handle: DaemonHandle | null = null;

/**
 * Last-resort handlers. A vanished peer is ignored. Anything else means the daemon's state can no
 * longer be trusted: it is recorded, then the daemon shuts down in order (drain, withdraw, release
 * the lock) and the next client starts a fresh one.
 */
function onFatal(kind: string, err: unknown): void {
  if (isPeerGone(err)) return;
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`orch daemon: ${kind}: ${text}\n`);
  if (!handle) process.exit(70);
  void handle.shutdown(`crashed (${kind}: ${err instanceof Error ? err.message : String(err)})`).then(() => process.exit(70));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const root = findRepoRoot(process.cwd(), argValue(argv, '--root') ?? process.env.ORCH_ROOT);
  const config = resolveConfig(root, process.env, { startReason: argValue(argv, '--reason') ?? null });
  process.on('uncaughtException', (err) => onFatal('uncaught exception', err));
  process.on('unhandledRejection', (err) => onFatal('unhandled rejection', err));
  const outcome = await startDaemon(config, process.env);
  if (outcome.kind === 'already-running') {
    process.stderr.write(`orch daemon: another daemon (pid ${outcome.holder?.pid ?? '?'}) already serves ${root}\n`);
    return;
  }
  handle = outcome.handle;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => void handle?.shutdown(`signal ${signal}`));
  }
  process.on('SIGPIPE', () => undefined);
  const reason = await handle.closed;
  process.stderr.write(`orch daemon: stopped (${reason})\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  const why = describeFsError(err)?.message ?? (err instanceof Error ? err.message : String(err));
  process.stderr.write(`orch daemon: failed to start: ${why}\n`);
  process.exit(1);
});
