import { DaemonStatusRequest } from '../../protocol/daemon.js';
import { RosterListRequest, type RosterEntry } from '../../protocol/roster.js';
import type { CommandSpec } from '../command.js';

function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** One row; `self` marks this command's own connection. */
function row(e: RosterEntry, self: boolean): string {
  const kind = `${e.kind}${e.agent ? ' (agent)' : ''}`;
  const last = `${clock(e.lastRequestAt)} ${e.lastMethod ?? '-'}`;
  const ended = e.disconnectedAt ? `  left ${clock(e.disconnectedAt)}` : '';
  return `  ${kind.padEnd(15)} ${String(e.pid ?? '-').padStart(7)}  ${(e.sessionId ?? '-').padEnd(8)}  ${clock(e.connectedAt)}  ${last}${ended}${self ? '  (this command)' : ''}`;
}

const HEADER = `  ${'KIND'.padEnd(15)} ${'PID'.padStart(7)}  SESSION   SINCE     LAST REQUEST`;

export const command: CommandSpec = {
  name: 'who',
  summary: 'list who is connected to the daemon (agents, editors, watchers) and recent commands',
  help: `Usage: orch who [--json]

Lists the clients connected to this repository's daemon right now: what kind they are (cli,
watch, mcp, hook, editor, web, library; "(agent)" when an AI agent drives them), their process id,
the session they are bound to (- for the repo's current one), when they connected, and their last
request. Below, the short-lived commands (orch status, orch complete, …) of the last 10 minutes.
It starts no daemon: with none running, nobody is connected.

--json: {"daemon": {"running", "pid"}, "connections": [...], "recent": [...]}, each entry
{"connectionId", "kind", "name", "version", "pid", "cwd", "sessionId", "agent", "connectedAt",
"lastRequestAt", "lastMethod"} (recent ones also "disconnectedAt").

Example:
  orch who
  orch who --json`,
  options: {},
  async run(ctx) {
    const conn = await ctx.connectIfRunning();
    if (!conn) {
      ctx.out.document({ daemon: { running: false, pid: null }, connections: [], recent: [] });
      ctx.out.text('No orch daemon is running for this repository, so nobody is connected.');
      return 0;
    }
    const roster = await conn.sendRequest(RosterListRequest, {});
    const daemonPid = await conn.sendRequest(DaemonStatusRequest, {}).then((s) => s.pid, () => null);
    ctx.out.document({ daemon: { running: true, pid: daemonPid }, ...roster });
    const lines = [`Connected now (${roster.connections.length}):`, HEADER, ...roster.connections.map((e) => row(e, e.pid === process.pid))];
    if (roster.recent.length > 0) lines.push('', `Recent commands, last 10 minutes (${roster.recent.length}):`, HEADER, ...roster.recent.map((e) => row(e, false)));
    else lines.push('', 'No other commands in the last 10 minutes.');
    ctx.out.text(lines.join('\n'));
    return 0;
  },
};
