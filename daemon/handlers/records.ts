import type { MessageConnection } from 'vscode-jsonrpc/node.js';
import type { DaemonContext } from '../context.js';
import type { Logger } from '../logger.js';
import type { Tracker } from './tracker.js';

/** checkpoint/create, checkpoint/list, log/read, workflow/validate, workflow/init. */
export function registerRecordHandlers(conn: MessageConnection, ctx: DaemonContext, log: Logger, track: Tracker): void {
  void conn;
  void ctx;
  void log;
  void track;
}
