import { RosterListRequest, type RosterEntry } from '../../protocol/roster.js';
import { SESSION_LIST_PAGE, SessionListRequest, SessionResolveRequest, SessionShowRequest, SessionSwitchRequest, type SessionListEntry } from '../../protocol/session.js';
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

function pageOf(ctx: CommandContext): { limit?: number; after?: string } {
  const { limit, after, all } = ctx.values;
  if (all === true && limit !== undefined) throw usageError('Give --all or --limit N, not both.');
  if (typeof limit === 'string' && !/^[1-9]\d{0,6}$/.test(limit)) {
    throw usageError(`--limit takes a number of sessions from 1 to 9999999, not ${echo(limit)}; --all lists every one.`);
  }
  return {
    ...(all === true ? {} : { limit: typeof limit === 'string' ? Number(limit) : SESSION_LIST_PAGE }),
    ...(typeof after === 'string' ? { after } : {}),
  };
}

async function list(ctx: CommandContext): Promise<number> {
  const page = pageOf(ctx);
  const conn = await ctx.connect({ readOnly: true });
  const { sessions, total, next, current } = await conn.sendRequest(SessionListRequest, page);
  const connected = await connectedBySession(conn);
  const more =
    next === null ? null : `${sessions.length} of ${total} sessions shown, newest first; the next ones: orch sessions --after ${next}${page.limit === undefined ? '' : ` --limit ${page.limit}`}, or every one: orch sessions --all`;
  // A JSON list has no place for a note: it goes to stderr, as warnings do.
  if (more !== null && ctx.out.json) ctx.out.notice(more);
  ctx.out.document(sessions.map((s) => (connected.has(s.sessionId) ? { ...s, connected: connected.get(s.sessionId) } : s)));
  if (total === 0) {
    ctx.out.text('No sessions yet. Start one with: orch start "<task>"');
    return 0;
  }
  const lines = ['  SESSION   STATUS     PHASE       DONE  CREATED           TASK', ...sessions.map((s) => row(s, connected))];
  if (more !== null) lines.push('', more);
  if (current !== null && !sessions.some((s) => s.sessionId === current)) lines.push(`The current session, ${current}, is not on this page: orch sessions show ${current}`);
  ctx.out.text(lines.join('\n'));
  return 0;
}

function needId(ctx: CommandContext, verb: string): string {
  const id = ctx.positionals[1];
  if (!id) throw usageError(`orch sessions ${verb} needs a session id; orch sessions lists them.`);
  return id;
}

async function resolve(ctx: CommandContext): Promise<number> {
  const id = needId(ctx, 'resolve');
  const keep = ctx.values.keep;
  if (keep !== 'ours' && keep !== 'theirs') {
    throw usageError(`orch sessions resolve needs --keep ours or --keep theirs (git's meaning: ours is this checkout's side of the merge), e.g. orch sessions resolve ${echo(id)} --keep ours.`);
  }
  const conn = await ctx.connect();
  const result = await conn.sendRequest(SessionResolveRequest, { sessionId: id, keep });
  ctx.out.document(result);
  for (const w of result.warnings) ctx.out.warn(w);
  ctx.out.text(
    [
      `Kept the ${result.kept} version of session ${result.sessionId}: phase ${result.phase}, ${result.progress.completed}/${result.progress.total} items done.`,
      ...(result.keptAside.length > 0 ? ['The other version is beside it:', ...result.keptAside.map((f) => `  ${f}`)] : []),
      `Commit the resolved session: ${result.nextAction}`,
    ].join('\n'),
  );
  return 0;
}

export const command: CommandSpec = {
  name: 'sessions',
  summary: 'list sessions, show one, switch the current one, or resolve one changed in two clones',
  help: `Usage: orch sessions [--limit N | --all] [--after <id>] [--json]
       orch sessions show <id> [--json]
       orch sessions switch <id>
       orch sessions resolve <id> --keep ours|theirs [--json]

Lists the repo's sessions, newest first: the ${SESSION_LIST_PAGE} newest unless told --limit N or --all,
then a line with the command for the next ones (--after <id>). * marks the current one;
[connected: watch 4242] marks a session clients are bound to right now, e.g. an orch watch
--session or an agent's MCP server. With --json the rows are one JSON array and the next-page
line goes to stderr.

'show' prints one session; 'switch' makes it the repo's current session. To work on another
session in one terminal only, set ORCH_SESSION=<id> (or pass --session <id>) instead of switching.

'resolve' (portable mode) repairs a session that was changed in two clones: git left conflict
markers in its state.json, or its log holds events its state never saw. It keeps one version
(--keep ours: this checkout's side of the merge, as git names it; --keep theirs: the side merged
in) and writes the other beside the session's files (state.json.theirs-<time>, log.jsonl.theirs-<time>,
…), so nothing is lost. Then commit the session with git.

Options:
  --limit N            list at most N sessions (default ${SESSION_LIST_PAGE})
  --all                list every session
  --after <id>         list the sessions after this one (the next page)
  --keep ours|theirs   (resolve) which version to keep

Example:
  orch sessions
  orch sessions --all --json
  orch sessions switch 2f76b47f
  orch sessions resolve 2f76b47f --keep ours && git add .orchestrator/sessions/2f76b47f && git commit`,
  options: { keep: { type: 'string' }, limit: { type: 'string' }, after: { type: 'string' }, all: { type: 'boolean' } },
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
    if (verb === 'resolve') return resolve(ctx);
    throw usageError(`Unknown sessions subcommand ${echo(verb)}; use list, show <id>, switch <id> or resolve <id> --keep ours|theirs.`);
  },
};
