import { DaemonShutdownRequest, DaemonStatusRequest } from '../../protocol/daemon.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { readRegistrationFile } from '../connect.js';
import { describeClient } from '../client-info.js';
import { ensureDaemon, isMismatch, replaceIncompatible, waitForExit } from '../ensure-daemon.js';
import { echo, usageError } from '../errors.js';
import { logs } from './daemon-logs.js';

/** Reports a daemon that answered hello with another protocol: it runs, but this client cannot use it. */
function incompatible(ctx: CommandContext, err: unknown): number {
  const reg = readRegistrationFile(ctx.paths().daemonJson);
  const detail = err instanceof Error ? err.message : String(err);
  ctx.out.document({ running: true, compatible: false, pid: reg?.pid ?? null, version: reg?.version ?? null, socket: reg?.socketPath ?? null, reason: detail });
  ctx.out.text(`An orch daemon this client cannot use is running (pid ${reg?.pid ?? '?'}, orch ${reg?.version ?? '?'}): ${detail}\nThe next orch command replaces it.`);
  return 0;
}

async function status(ctx: CommandContext): Promise<number> {
  let conn;
  try {
    conn = await ctx.connectIfRunning();
  } catch (err) {
    if (isMismatch(err)) return incompatible(ctx, err);
    throw err;
  }
  if (!conn) {
    ctx.out.document({ running: false, logPath: ctx.paths().daemonLog });
    ctx.out.text('No orch daemon is running for this repository.');
    return 0;
  }
  const s = await conn.sendRequest(DaemonStatusRequest, {});
  ctx.out.document(s);
  ctx.out.text(
    [
      `orch daemon running: pid ${s.pid}, orch ${s.version} (protocol ${s.protocolVersion})`,
      `Uptime:      ${Math.round(s.uptimeMs / 1000)} s (since ${s.startedAt})`,
      `Repository:  ${s.repoRoot}`,
      `Socket:      ${s.socket}`,
      `Log:         ${s.logPath}`,
      `Clients:     ${s.connections}`,
      `Idle exit:   after ${Math.round(s.idleTimeoutMs / 1000)} s without clients`,
      `Started:     ${s.startReason ?? 'by hand'}`,
      `Last exit:   ${s.lastExitReason ?? '-'}`,
    ].join('\n'),
  );
  return 0;
}

/** Asks the running daemon to drain and exit, and waits until it has. */
async function stopRunning(ctx: CommandContext, reason: string): Promise<{ pid: number; exited: boolean } | null> {
  let conn;
  try {
    conn = await ctx.connectIfRunning();
  } catch (err) {
    if (!isMismatch(err)) throw err;
    // A daemon of another version: ask it to stop without the handshake, and kill it if it will not.
    const pid = readRegistrationFile(ctx.paths().daemonJson)?.pid;
    await replaceIncompatible(ctx.paths(), err, (s) => ctx.out.warn(s.replace(/^orch: /, '').trimEnd()));
    return pid === undefined ? null : { pid, exited: await waitForExit(pid, 5000) };
  }
  if (!conn) return null;
  const { pid } = await conn.sendRequest(DaemonShutdownRequest, { reason });
  ctx.close();
  return { pid, exited: await waitForExit(pid, 15_000) };
}

async function stop(ctx: CommandContext): Promise<number> {
  const stopped = await stopRunning(ctx, 'orch daemon stop');
  if (!stopped) {
    ctx.out.document({ stopped: false, running: false });
    ctx.out.text('No orch daemon is running for this repository.');
    return 0;
  }
  const { pid, exited } = stopped;
  ctx.out.document({ stopped: exited, pid });
  ctx.out.text(exited ? `Stopped the orch daemon (pid ${pid}).` : `Asked the daemon (pid ${pid}) to stop; it is still draining.`);
  return exited ? 0 : 1;
}

/** Starts the real daemon even in no-daemon mode: asking for it by name is explicit. */
async function start(ctx: CommandContext, reason: string, previous: number | null = null): Promise<number> {
  const paths = ctx.paths();
  const dc = await ensureDaemon(paths, ctx.env, describeClient('cli', ctx.env), true, (s) => ctx.out.warn(s.replace(/^orch: /, '').trimEnd()), reason);
  const pid = dc?.hello.pid ?? null;
  dc?.close();
  const socket = readRegistrationFile(paths.daemonJson)?.socketPath ?? null;
  ctx.out.document({ running: true, pid, socket, ...(previous !== null ? { previousPid: previous } : {}) });
  ctx.out.text(previous !== null ? `Restarted the orch daemon (pid ${previous} → ${pid}).` : `orch daemon running (pid ${pid ?? '?'}).`);
  return 0;
}

async function restart(ctx: CommandContext): Promise<number> {
  const stopped = await stopRunning(ctx, 'orch daemon restart');
  if (stopped && !stopped.exited) {
    ctx.out.document({ stopped: false, pid: stopped.pid });
    ctx.out.text(`Asked the daemon (pid ${stopped.pid}) to stop; it is still draining, so no new one was started.`);
    return 1;
  }
  return start(ctx, 'orch daemon restart', stopped?.pid ?? null);
}

export const command: CommandSpec = {
  name: 'daemon',
  summary: 'status, start, stop, restart or logs of the repo’s daemon',
  help: `Usage: orch daemon status [--json]
       orch daemon start | stop | restart
       orch daemon logs [-f] [-n N]

The daemon starts by itself when a command needs it and exits after 15 minutes without clients
(ORCH_IDLE_TIMEOUT_MS). 'status' never starts one: with none running it prints
{"running": false} under --json and exits 0. It shows pid, uptime, versions, socket, log path,
why the daemon was started and why the previous one stopped.

'logs' prints the last N entries (default 200) of .orchestrator/daemon.log readably; -f keeps
printing new ones until interrupted. The log is rotated to daemon.log.1 past ORCH_LOG_MAX_BYTES
(default 5 MiB).

With ORCH_DAEMON=0 (or CI set) other commands run in-process without a daemon; 'orch daemon start'
still starts one, and while it runs every command uses it.

Example:
  orch daemon status --json`,
  options: { follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n' } },
  async run(ctx) {
    const verb = ctx.positionals[0] ?? 'status';
    if (ctx.positionals.length > 1) throw usageError(`orch daemon ${verb} takes no further arguments.`);
    if (verb !== 'logs' && (ctx.values.follow !== undefined || ctx.values.lines !== undefined)) {
      throw usageError('-f and -n belong to orch daemon logs.');
    }
    if (verb === 'status') return status(ctx);
    if (verb === 'stop') return stop(ctx);
    if (verb === 'start') return start(ctx, 'orch daemon start');
    if (verb === 'restart') return restart(ctx);
    if (verb === 'logs') return logs(ctx);
    throw usageError(`Unknown daemon subcommand ${echo(verb)}; use status, start, stop, restart or logs.`);
  },
};
