import { RosterListRequest, type RosterEntry } from '../../protocol/roster.js';
import { SessionListRequest, SessionShowRequest, SessionSwitchRequest, type SessionListEntry } from '../../protocol/session.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { echo, usageError } from '../errors.js';

function when(iso: string | null): string {
  if (!iso) return '-';
  const t = Date.parse(iso.replace(/(\.\d{3})\d+/, '$1'));
  if (Number.isNaN(t)) return iso;
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Who is connected, bound to each session: kind and pid (this command itself excluded). */
type Connected = Map<string, { kind: string; pid: number | null }[]>;

function row(s: SessionListEntry, connected: Connected): string {
  const progress = s.progress ? `${s.progress.completed}/${s.progress.total}` : '-';
  const task = s.error ? `(unreadable: ${s.error})` : (s.task ?? '-');
  const who = connected.get(s.sessionId);
  const mark = who ? `  [connected: ${who.map((c) => `${c.kind} ${c.pid ?? '?'}`).join(', ')}]` : '';
  return `${s.current ? '*' : ' '} ${s.sessionId.padEnd(8)}  ${s.status.padEnd(9)}  ${(s.phase ?? '-').padEnd(9)}  ${progress.padStart(5)}  ${when(s.createdAt)}  ${task}${mark}`;
}

/** The daemon's roster by bound session; empty when it cannot say (an older daemon, no daemon). */
async function connectedBySession(conn: Awaited<ReturnType<CommandContext['connect']>>): Promise<Connected> {
  const out: Connected = new Map();
  let entries: RosterEntry[];
  try {
    entries = (await conn.sendRequest(RosterListRequest, {})).connections;
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.sessionId === null || e.pid === process.pid) continue;
    const list = out.get(e.sessionId) ?? [];
    list.push({ kind: e.kind, pid: e.pid });
    out.set(e.sessionId, list);
  }
  return out;
}

async function list(ctx: CommandContext): Promise<number> {
  const conn = await ctx.connect({ readOnly: true });
  const { sessions } = await conn.sendRequest(SessionListRequest, {});
  const connected = await connectedBySession(conn);
  ctx.out.document(sessions.map((s) => (connected.has(s.sessionId) ? { ...s, connected: connected.get(s.sessionId) } : s)));
  if (sessions.length === 0) ctx.out.text('No sessions yet. Start one with: orch start "<task>"');
  else ctx.out.text(['  SESSION   STATUS     PHASE       DONE  CREATED           TASK', ...sessions.map((s) => row(s, connected))].join('\n'));
  return 0;
}

function needId(ctx: CommandContext, verb: string): string {
  const id = ctx.positionals[1];
  if (!id) throw usageError(`orch sessions ${verb} needs a session id; orch sessions lists them.`);
  return id;
}

export const command: CommandSpec = {
  name: 'sessions',
  summary: 'list sessions, show one, or switch the current one',
  help: `Usage: orch sessions [--json]
       orch sessions show <id> [--json]
       orch sessions switch <id>

Lists the repo's sessions, newest first (* marks the current one; [connected: watch 4242] marks
a session clients are bound to right now, e.g. an orch watch --session or an agent's MCP server). 'show' prints one session;
'switch' makes it the repo's current session. To work on another session in one terminal only,
set ORCH_SESSION=<id> (or pass --session <id>) instead of switching.

Example:
  orch sessions
  orch sessions switch 2f76b47f`,
  options: {},
  async run(ctx) {
    const verb = ctx.positionals[0] ?? 'list';
    if (verb === 'list') return list(ctx);
    if (verb === 'show') {
      const conn = await ctx.connect({ readOnly: true });
      const { session } = await conn.sendRequest(SessionShowRequest, { sessionId: needId(ctx, 'show') });
      ctx.out.document(session);
      ctx.out.text(
        [
          `Session:  ${session.sessionId}${session.current ? ' (current)' : ''}`,
          `Task:     ${session.task ?? '-'}`,
          `Status:   ${session.status}`,
          `Phase:    ${session.phase ?? '-'}${session.progress ? ` (${session.progress.completed}/${session.progress.total} items overall)` : ''}`,
          `Workflow: ${session.workflowId ?? '-'}`,
          `Created:  ${when(session.createdAt)}`,
          `Folder:   ${session.path}`,
          ...(session.error ? [`Error:    ${session.error}`] : []),
        ].join('\n'),
      );
      return 0;
    }
    if (verb === 'switch') {
      const conn = await ctx.connect();
      const result = await conn.sendRequest(SessionSwitchRequest, { sessionId: needId(ctx, 'switch') });
      ctx.out.document(result);
      ctx.out.text(result.previous === result.sessionId ? `Already on session ${result.sessionId}.` : `Switched to session ${result.sessionId}.`);
      return 0;
    }
    throw usageError(`Unknown sessions subcommand ${echo(verb)}; use list, show <id> or switch <id>.`);
  },
};
