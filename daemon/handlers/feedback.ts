import type { MessageConnection } from 'vscode-jsonrpc/node.js';
import { FeedbackAddRequest, FeedbackListRequest, type FeedbackKind } from '../../protocol/feedback.js';
import type { DaemonContext } from '../context.js';
import { addFeedback, listFeedback } from '../services/feedback.js';
import type { Logger } from '../runtime/logger.js';
import { handle, optionalString, requireString } from '../runtime/router.js';
import type { Tracker } from '../runtime/tracker.js';

type Params = Record<string, unknown>;
// Checked against the known kinds by the service, whose InvalidArgument names the bad value.
type Kind = FeedbackKind | undefined;

/** feedback/add, feedback/list. */
export function registerFeedbackHandlers(conn: MessageConnection, ctx: DaemonContext, log: Logger, track: Tracker): void {
  handle(conn, log, FeedbackAddRequest, async (p) => {
    const q = p as unknown as Params;
    return addFeedback(ctx, {
      sessionId: optionalString(q, 'sessionId'),
      text: requireString(q, 'text'),
      kind: optionalString(q, 'kind') as Kind,
    });
  }, track);

  handle(conn, log, FeedbackListRequest, async (p) => {
    const q = p as Params;
    return listFeedback(ctx, { sessionId: optionalString(q, 'sessionId'), kind: optionalString(q, 'kind') as Kind });
  }, track);
}
