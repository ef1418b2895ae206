/**
 * No-daemon mode: `ORCH_DAEMON=0`, or by default when `CI` is set (unless `ORCH_DAEMON=1`). Each
 * command runs the daemon's handlers in this process, loaded by path at run time (client/ and
 * daemon/ never import each other), over in-memory streams, holding the repo's single-writer lock
 * for its duration. A live daemon is the single writer, so when one runs the command talks to it.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { describeFsError, exitCodeFor, type OrchErrorName } from '../protocol/errors.js';
import type { RepoPaths } from '../protocol/node/paths.js';
import type { ClientInfo } from '../protocol/params.js';
import { connectStreams, type DaemonConnection } from './connect.js';
import { connectExisting, isMismatch, replaceIncompatible } from './ensure-daemon.js';
import { CliError, echo, unavailableError, usageError } from './errors.js';

/** The shape of `dist/daemon/runtime/in-process.js` (checked against the real module in test/lifecycle). */
export interface InProcessModule {
  openInProcess(
    root: string,
    env: NodeJS.ProcessEnv,
  ): Promise<
    | { kind: 'opened'; channel: { readonly input: Readable; readonly output: Writable; close(): Promise<void> } }
    | { kind: 'daemon'; pid: number }
  >;
  openReadOnly(root: string, env: NodeJS.ProcessEnv, reason: string): Promise<{ readonly input: Readable; readonly output: Writable; close(): Promise<void> }>;
}

/** Resolved when a command runs in-process (not at start-up: a warm command talking to its daemon never needs it). */
const inProcessUrl = (): string => new URL('../daemon/runtime/in-process.js', import.meta.url).href;

/** Whether commands run without a daemon, from ORCH_DAEMON and CI. */
export function isDaemonDisabled(env: NodeJS.ProcessEnv): boolean {
  const raw = (env.ORCH_DAEMON ?? '').trim().toLowerCase();
  if (['0', 'false', 'no', 'off'].includes(raw)) return true;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return false;
  if (raw !== '') throw usageError(`ORCH_DAEMON must be 1 (use the daemon) or 0 (run each command in-process), not ${echo(env.ORCH_DAEMON ?? '')}.`);
  const ci = (env.CI ?? '').trim().toLowerCase();
  return ci !== '' && ci !== '0' && ci !== 'false';
}

/** Errors thrown by the daemon's code keep their name and exit code here (they are not ResponseErrors). */
function fromDaemonError(err: unknown): unknown {
  const e = err as { errorName?: unknown; message?: unknown; details?: Record<string, unknown> } | null;
  if (e && typeof e.errorName === 'string' && typeof e.message === 'string') {
    return new CliError(e.message, e.errorName as OrchErrorName, e.details);
  }
  const fs = describeFsError(err);
  return fs ? new CliError(fs.message, fs.name, fs.details) : err;
}

/**
 * Why `.orchestrator/` (or, before it exists, the repository root) cannot be written — a read-only
 * file system or folder, no permission — or null when it can.
 */
export function unwritableReason(paths: RepoPaths): string | null {
  const target = existsSync(paths.orchDir) ? paths.orchDir : paths.root;
  try {
    accessSync(target, constants.W_OK);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return `${target} is on a read-only file system`;
    if (code === 'EACCES' || code === 'EPERM') return `${target} is not writable for you (${code})`;
    return null;
  }
}

/**
 * For read commands: when `.orchestrator/` cannot be written and no daemon runs (none could
 * start), reads the files in-process, writing nothing. Null when the normal path applies.
 */
export async function connectReadOnly(paths: RepoPaths, env: NodeJS.ProcessEnv, who: ClientInfo): Promise<{ connection: DaemonConnection; reason: string | null } | null> {
  const reason = unwritableReason(paths);
  if (reason === null) return null;
  try {
    const existing = await connectExisting(paths, who);
    if (existing) return { connection: existing, reason: null };
  } catch {
    return null;
  }
  const mod = (await import(inProcessUrl())) as InProcessModule;
  let channel;
  try {
    channel = await mod.openReadOnly(paths.root, env, reason);
  } catch (err) {
    throw fromDaemonError(err);
  }
  const connection = await connectStreams(channel.input, channel.output, who, () => void channel.close());
  return { connection, reason: `${reason}, so no daemon can start there: orch read the files directly and wrote nothing.` };
}

/** Waited for a daemon that holds the lock but did not answer yet (starting, or draining). */
const DAEMON_WAIT_MS = 15_000;

/** A connection for one command without starting a daemon: a running daemon's, else in-process. */
export async function connectWithoutDaemon(paths: RepoPaths, env: NodeJS.ProcessEnv, who: ClientInfo, stderr: (s: string) => void): Promise<DaemonConnection> {
  const mod = (await import(inProcessUrl())) as InProcessModule;
  const deadline = Date.now() + DAEMON_WAIT_MS;
  for (;;) {
    try {
      const existing = await connectExisting(paths, who);
      if (existing) return existing;
    } catch (err) {
      if (!isMismatch(err)) throw err;
      await replaceIncompatible(paths, err, stderr);
    }
    let opened;
    try {
      opened = await mod.openInProcess(paths.root, env);
    } catch (err) {
      throw fromDaemonError(err);
    }
    if (opened.kind === 'opened') {
      const { channel } = opened;
      return connectStreams(channel.input, channel.output, who, () => void channel.close());
    }
    if (Date.now() > deadline) {
      throw unavailableError(
        `The orch daemon (pid ${opened.pid}) holds ${paths.daemonLock} but does not answer; stop it (kill ${opened.pid}) or wait for it to finish.`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
