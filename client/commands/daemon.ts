import { readFileSync } from 'node:fs';
import { DaemonShutdownRequest, DaemonStatusRequest } from '../../protocol/daemon.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { readRegistrationFile } from '../connect.js';
import { usageError } from '../errors.js';

/** True while `pid` runs. A zombie (exited, not yet reaped by an init that reaps lazily) has exited. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isRunning(pid)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function status(ctx: CommandContext): Promise<number> {
  const conn = await ctx.connectIfRunning();
  if (!conn) {
    ctx.out.document({ running: false });
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
      `Last exit:   ${s.lastExitReason ?? '-'}`,
    ].join('\n'),
  );
  return 0;
}

async function stop(ctx: CommandContext, quietIfNone = false): Promise<number> {
  const conn = await ctx.connectIfRunning();
  if (!conn) {
    if (!quietIfNone) {
      ctx.out.document({ stopped: false, running: false });
      ctx.out.text('No orch daemon is running for this repository.');
    }
    return 0;
  }
  const { pid } = await conn.sendRequest(DaemonShutdownRequest, { reason: 'orch daemon stop' });
  ctx.close();
  const exited = await waitForExit(pid, 15_000);
  if (!quietIfNone) {
    ctx.out.document({ stopped: exited, pid });
    ctx.out.text(exited ? `Stopped the orch daemon (pid ${pid}).` : `Asked the daemon (pid ${pid}) to stop; it is still draining.`);
  }
  return exited ? 0 : 1;
}

async function start(ctx: CommandContext): Promise<number> {
  await ctx.connect();
  const reg = readRegistrationFile(ctx.paths().daemonJson);
  ctx.out.document({ running: true, pid: reg?.pid ?? null, socket: reg?.socketPath ?? null });
  ctx.out.text(`orch daemon running (pid ${reg?.pid ?? '?'}).`);
  return 0;
}

export const command: CommandSpec = {
  name: 'daemon',
  summary: 'status, start, stop or restart the repo’s daemon',
  help: `Usage: orch daemon status [--json]
       orch daemon start | stop | restart

The daemon starts by itself when a command needs it and exits after 15 minutes without clients
(ORCH_IDLE_TIMEOUT_MS). 'status' never starts one: with none running it prints
{"running": false} under --json and exits 0.

Example:
  orch daemon status --json`,
  options: {},
  async run(ctx) {
    const verb = ctx.positionals[0] ?? 'status';
    if (verb === 'status') return status(ctx);
    if (verb === 'stop') return stop(ctx);
    if (verb === 'start') return start(ctx);
    if (verb === 'restart') {
      await stop(ctx, true);
      return start(ctx);
    }
    throw usageError(`Unknown daemon subcommand ${JSON.stringify(verb)}; use status, start, stop or restart.`);
  },
};
