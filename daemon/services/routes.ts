import type { MessageConnection } from 'vscode-jsonrpc/node.js';
import type { DaemonContext } from '../context.js';
import type { Logger } from '../runtime/logger.js';
import { registerDaemonHandlers } from './daemon-info.js';
import { registerFeedbackHandlers } from '../handlers/feedback.js';
import { registerLiveHandlers } from '../live/subscriptions.js';
import { registerRecordHandlers } from '../handlers/records.js';
import { registerSessionHandlers } from '../handlers/session.js';
import type { Tracker } from '../runtime/tracker.js';
import { registerWorkflowHandlers } from '../handlers/workflow.js';

/** The wiring table: every request type the daemon serves, one register call per group. */
export function registerAllHandlers(conn: MessageConnection, ctx: DaemonContext, log: Logger, track: Tracker): void {
  registerDaemonHandlers(conn, ctx, log, track);
  registerSessionHandlers(conn, ctx, log, track);
  registerWorkflowHandlers(conn, ctx, log, track);
  registerRecordHandlers(conn, ctx, log, track);
  registerFeedbackHandlers(conn, ctx, log, track);
  registerLiveHandlers(conn, ctx, log, track);
}
