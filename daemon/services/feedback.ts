/**
 * Feedback records behind `feedback/add` and `feedback/list`. orch writes them only to the
 * session's `feedback/<kind>.jsonl` (one durable whole-line append each, under the session's
 * mutex); the older tool's root files are read, never written.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_FEEDBACK_KIND,
  FEEDBACK_FILE_NAMES,
  FEEDBACK_KINDS,
  MAX_FEEDBACK_CHARS,
  type FeedbackAddParams,
  type FeedbackAddResult,
  type FeedbackKind,
  type FeedbackListParams,
  type FeedbackListResult,
  type FeedbackRecord,
} from '../../protocol/feedback.js';
import type { DaemonContext } from '../context.js';
import { appendLines } from '../store/durable-write.js';
import { pythonDumps } from '../engine/pyjson.js';
import { utcOffset } from '../engine/time.js';
import { OrchError } from '../errors.js';
import { labelOf } from '../legacy/legacy-state.js';
import { openForRead, requireSession } from './session-records.js';
import { mkdirNoFollow } from '../../protocol/node/safe-fs.js';

/** Validates a kind from the wire; undefined means `fallback`. */
export function checkKind(kind: unknown, fallback: FeedbackKind | undefined): FeedbackKind | undefined {
  if (kind === undefined || kind === null) return fallback;
  if (!FEEDBACK_KINDS.includes(kind as FeedbackKind)) {
    throw new OrchError('InvalidArgument', `The feedback kind ${JSON.stringify(kind)} is unknown; use --kind tool or --kind process.`, {
      kind: String(kind).slice(0, 100),
    });
  }
  return kind as FeedbackKind;
}

function checkText(text: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new OrchError('InvalidArgument', 'Feedback needs some text, e.g. orch feedback add "The verification step was unclear".');
  }
  if (text.length > MAX_FEEDBACK_CHARS) {
    throw new OrchError('InvalidArgument', `The feedback is ${text.length} characters; the limit is ${MAX_FEEDBACK_CHARS}.`);
  }
  return text;
}

function feedbackFile(ctx: DaemonContext, id: string, kind: FeedbackKind): string {
  return join(ctx.store.pathsFor(id).feedback, FEEDBACK_FILE_NAMES[kind]);
}

/** Where the workflow stands, for the record; a state that cannot be read must not block feedback about it. */
async function workflowPosition(ctx: DaemonContext, id: string): Promise<{ workflowId: string | null; phaseId: string | null }> {
  try {
    const loaded = await ctx.states.load(id);
    return { workflowId: loaded?.state.workflow_id ?? null, phaseId: loaded?.state.current_phase_id ?? null };
  } catch {
    return { workflowId: null, phaseId: null };
  }
}

export async function addFeedback(ctx: DaemonContext, p: FeedbackAddParams): Promise<FeedbackAddResult> {
  const text = checkText(p.text);
  const kind = checkKind(p.kind, DEFAULT_FEEDBACK_KIND) as FeedbackKind;
  const id = await requireSession(ctx, p.sessionId);
  return ctx.locks.runExclusive(id, async () => {
    const { workflowId, phaseId } = await workflowPosition(ctx, id);
    const record: FeedbackRecord = { timestamp: utcOffset(), kind, text, session_id: id, workflow_id: workflowId, phase_id: phaseId };
    const file = feedbackFile(ctx, id, kind);
    // Sessions made by other tools (the Python migration script) may lack the folder.
    mkdirNoFollow(ctx.store.pathsFor(id).feedback);
    await appendLines(file, [pythonDumps(record)]);
    ctx.log.info({ session: id, kind }, 'feedback recorded');
    return { sessionId: id, file: labelOf(ctx.paths, file), record, warnings: ctx.legacy.takeNotes(id) };
  });
}

export async function listFeedback(ctx: DaemonContext, p: FeedbackListParams): Promise<FeedbackListResult> {
  const kind = checkKind(p.kind, undefined);
  const session = await openForRead(ctx, p.sessionId);
  const { entries, skipped } = await session.feedback(kind);
  return { sessionId: session.sessionId, entries, skippedLines: skipped };
}
