import {
  DEFAULT_FEEDBACK_KIND,
  FEEDBACK_KINDS,
  FeedbackAddRequest,
  FeedbackListRequest,
  type FeedbackEntry,
  type FeedbackKind,
} from '../../protocol/feedback.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { echo, usageError } from '../errors.js';

const TEXT_WIDTH = 120;

function kindOption(ctx: CommandContext): FeedbackKind | undefined {
  const raw = ctx.values.kind as string | undefined;
  if (raw === undefined) return undefined;
  if (!FEEDBACK_KINDS.includes(raw as FeedbackKind)) throw usageError(`--kind takes tool or process, not ${echo(raw)}.`);
  return raw as FeedbackKind;
}

/** `2026-11-23 22:49` (UTC) from a record's timestamp, or `-`. */
function shortTime(iso: string | null): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso ?? '');
  return m ? `${m[1]} ${m[2]}` : '-'.padEnd(16);
}

// Legacy records come in shapes of their own; without a text, the compact record says what it holds.
function entryText(e: FeedbackEntry): string {
  const text = (e.text ?? JSON.stringify(e.record)).replace(/\s+/g, ' ');
  return text.length > TEXT_WIDTH ? `${text.slice(0, TEXT_WIDTH - 1)}…` : text;
}

function row(e: FeedbackEntry): string {
  return `${e.source.padEnd(7)}  ${e.kind.padEnd(7)}  ${shortTime(e.timestamp)}  ${entryText(e)}`;
}

async function add(ctx: CommandContext): Promise<number> {
  const text = ctx.positionals[1];
  if (text === undefined || ctx.positionals.length > 2) {
    throw usageError('orch feedback add takes the text as one argument, e.g. orch feedback add "The review step was unclear".');
  }
  const kind = kindOption(ctx);
  const sessionId = ctx.sessionId();
  const conn = await ctx.connect();
  const result = await conn.sendRequest(FeedbackAddRequest, { sessionId, text, kind });
  ctx.out.document(result);
  for (const w of result.warnings) ctx.out.warn(w);
  ctx.out.text(`✓ Recorded ${result.record.kind} feedback in ${result.file}.`);
  return 0;
}

async function list(ctx: CommandContext): Promise<number> {
  if (ctx.positionals.length > 1) throw usageError('orch feedback list takes no arguments; use --kind to choose one kind.');
  const kind = kindOption(ctx);
  const sessionId = ctx.sessionId();
  const conn = await ctx.connect();
  const result = await conn.sendRequest(FeedbackListRequest, { sessionId, kind });
  ctx.out.document(result);
  if (result.skippedLines > 0) ctx.out.warn(`${result.skippedLines} line(s) of the feedback files were not JSON records and were skipped.`);
  if (result.entries.length === 0) ctx.out.text('No feedback yet. Record some with: orch feedback add "<text>"');
  else ctx.out.text(['SOURCE   KIND     WHEN (UTC)        TEXT', ...result.entries.map(row)].join('\n'));
  return 0;
}

export const command: CommandSpec = {
  name: 'feedback',
  summary: 'record feedback on the tool or the process, or list it',
  help: `Usage: orch feedback add "<text>" [--kind tool|process]
       orch feedback list [--kind tool|process] [--json]

'add' appends a record (timestamp, kind, text, session, workflow, phase) to the session's
.orchestrator/sessions/<id>/feedback/<kind>.jsonl. --kind tool is about orch itself, --kind process
(the default: ${DEFAULT_FEEDBACK_KIND}) about the workflow and how the work went. 'list' shows the
session's records and those the older Python tool left in .workflow_tool_feedback.jsonl and
.workflow_process_feedback.jsonl (read, never changed).

Example:
  orch feedback add "The gate command timed out twice on CI" --kind tool
  orch feedback list --json`,
  options: { kind: { type: 'string' } },
  async run(ctx) {
    const verb = ctx.positionals[0] ?? 'list';
    if (verb === 'add') return add(ctx);
    if (verb === 'list') return list(ctx);
    throw usageError(`Unknown feedback subcommand ${echo(verb)}; use add "<text>" or list.`);
  },
};
