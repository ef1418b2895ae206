import {
  CurrentSwitchedNotification,
  DaemonWillShutdownNotification,
  ResyncNotification,
  SessionChangedNotification,
  SessionCreatedNotification,
  SessionRemovedNotification,
  WorkflowFileChangedNotification,
} from '../../protocol/events.js';
import { SessionStatusRequest } from '../../protocol/session.js';
import type { NotificationType } from 'vscode-jsonrpc/node.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { applyToStatus, selectorsOf } from '../next-action.js';
import { renderStatusResult } from '../render-status.js';

const NOTIFICATIONS: NotificationType<object>[] = [
  SessionCreatedNotification,
  SessionChangedNotification,
  SessionRemovedNotification,
  CurrentSwitchedNotification,
  WorkflowFileChangedNotification,
  ResyncNotification,
  DaemonWillShutdownNotification,
] as NotificationType<object>[];

function describe(method: string, p: Record<string, unknown>): string {
  const session = typeof p.sessionId === 'string' ? ` ${p.sessionId}` : '';
  const extra = p.external ? ' (changed outside orch)' : p.valid === false ? ' (invalid)' : '';
  return `${new Date().toLocaleTimeString()} ${method}${session}${extra}`;
}

async function run(ctx: CommandContext): Promise<number> {
  const sessionId = ctx.sessionId();
  const { OrchClient } = await import('../lib.js');
  // A deliberate stop (orch daemon stop) sticks: watch waits for a daemon someone else starts.
  const client = await OrchClient.connect({ root: ctx.paths().root, env: ctx.env, restartAfterAnnouncedStop: false, client: { kind: 'watch', ...(sessionId ? { sessionId } : {}) } });
  const redraw = async (last: string) => {
    const status = applyToStatus(await client.request(SessionStatusRequest, { sessionId }), selectorsOf(ctx));
    const clear = process.stdout.isTTY ? '\x1b[2J\x1b[H' : '\n';
    ctx.out.io.stdout(`${clear}${renderStatusResult(status)}\n\n${last}   (Ctrl-C to stop)\n`);
  };
  for (const type of NOTIFICATIONS) {
    client.onNotification(type, (params) => {
      if (ctx.out.json) ctx.out.io.stdout(JSON.stringify({ event: type.method, ...params }) + '\n');
      else void redraw(describe(type.method, params as unknown as Record<string, unknown>)).catch(() => undefined);
    });
  }
  client.on('waiting', ({ reason }) => {
    if (ctx.out.json) ctx.out.io.stdout(JSON.stringify({ event: 'client/waiting', reason }) + '\n');
    else ctx.out.io.stdout(`\nThe daemon stopped (${reason}); watch does not restart it and waits until another orch command starts one.   (Ctrl-C to stop)\n`);
  });
  client.on('reconnected', ({ instanceId, restarted }) => {
    if (ctx.out.json) ctx.out.io.stdout(JSON.stringify({ event: 'client/reconnected', instanceId, restarted }) + '\n');
    else void redraw('reconnected').catch(() => undefined);
  });
  await client.subscribe(sessionId ? { sessionId } : {});
  if (ctx.out.json) ctx.out.io.stdout(JSON.stringify({ event: 'client/subscribed', sessionId: sessionId ?? null, instanceId: client.instanceId }) + '\n');
  else await redraw('watching');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  client.close();
  return 0;
}

export const command: CommandSpec = {
  name: 'watch',
  summary: 'show the status live, redrawn on every change',
  help: `Usage: orch watch [--session ID] [--json]

Shows the status and redraws it whenever anything changes: every session's events, or one
session's with --session. Changes made by other terminals, by editors, or by hand in
.orchestrator/ show up as they happen. With --json, prints one JSON object per line per event,
naming the session it concerns. Reconnects by itself if the daemon restarts. After a deliberate
stop (orch daemon stop) watch does not start a new daemon: it says so and waits until another
command starts one; a daemon that was killed without notice is restarted. Ctrl-C stops.

Example:
  orch watch
  orch watch --json --session 2f76b47f`,
  options: {},
  run,
};
