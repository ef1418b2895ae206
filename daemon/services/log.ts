/** `log/read`: the last events of a session's log (the legacy log for the legacy workflow). */
import type { LogReadParams, LogReadResult } from '../../protocol/workflow.js';
import type { DaemonContext } from '../context.js';
import { OrchError } from '../errors.js';
import { openForRead } from './session-records.js';

export const DEFAULT_LOG_LIMIT = 20;
export const MAX_LOG_LIMIT = 10_000;

/** The last events of the session's log, oldest first; empty when there is no session. */
export async function readLog(ctx: DaemonContext, p: LogReadParams): Promise<LogReadResult> {
  const limit = p.limit ?? DEFAULT_LOG_LIMIT;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LOG_LIMIT) {
    throw new OrchError('InvalidArgument', `The number of events must be a whole number from 0 to ${MAX_LOG_LIMIT}; got ${limit}.`, { limit });
  }
  const session = await openForRead(ctx, p.sessionId);
  return { sessionId: session.sessionId, source: session.source, ...(await session.events(limit)) };
}
