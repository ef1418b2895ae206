import { LogReadRequest, type LogEventView } from '../../protocol/workflow.js';
import type { CommandSpec } from '../command.js';
import { echo, usageError } from '../errors.js';

const DEFAULT_COUNT = 20;

/** `2026-11-23 22:51:13` (UTC) from an event timestamp. */
function shortTime(iso: unknown): string {
  const s = String(iso ?? '');
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(s);
  return m ? `${m[1]} ${m[2]}` : s;
}

function line(e: LogEventView): string {
  const where = [e.phase_id, e.item_id].filter((x) => typeof x === 'string' && x !== '').join('/') || '-';
  const by = e.details?.['approved_by'] as { by?: unknown; channel?: unknown } | undefined;
  const actor =
    typeof by?.by === 'string' ? ` (approved by ${by.by}, ${String(by.channel ?? 'unknown')})` : e.actor === 'human' ? ' (human)' : '';
  return `${shortTime(e.timestamp)}  ${String(e.event_type).padEnd(20)}  ${where.padEnd(24)}  ${String(e.message ?? '')}${actor}`;
}

function parseCount(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_COUNT;
  if (!/^\d+$/.test(raw)) throw usageError(`-n takes a whole number of events, e.g. orch log -n 50; got ${echo(raw)}.`);
  return Number(raw);
}

export const command: CommandSpec = {
  name: 'log',
  summary: 'show the last events of the session’s log',
  help: `Usage: orch log [-n N]

Prints the last N events (default ${DEFAULT_COUNT}) of the session's log.jsonl, oldest first, one per line:
time (UTC), event type, phase/item, message. Lines of the log that are not valid events are
skipped and counted. --json gives the events in their on-disk form.

Options:
  -n, --lines N      how many events (0 to 10000)

Example:
  orch log -n 50`,
  options: { lines: { type: 'string', short: 'n' } },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError('orch log takes no arguments; use -n N for the number of events.');
    const limit = parseCount(ctx.values.lines as string | undefined);
    const sessionId = ctx.sessionId();
    const conn = await ctx.connect({ readOnly: true });
    const result = await conn.sendRequest(LogReadRequest, { sessionId, limit });
    ctx.out.document(result);
    for (const w of result.warnings ?? []) ctx.out.warn(w);
    if (result.skippedLines > 0) ctx.out.warn(`${result.skippedLines} malformed line(s) of the log were skipped.`);
    if (result.sessionId === null && result.source !== 'legacy') ctx.out.text('No workflow has been started in this repository; start one with orch start "<task>".');
    else if (result.events.length === 0) ctx.out.text('No events.');
    else ctx.out.text(result.events.map(line).join('\n'));
    return 0;
  },
};
