import type { MessageConnection } from 'vscode-jsonrpc/node.js';
import {
  ItemApproveRequest,
  ItemCompleteRequest,
  ItemSkipRequest,
  PhaseAdvanceRequest,
  PhaseApproveRequest,
  WorkflowFinishRequest,
} from '../../protocol/workflow.js';
import type { DaemonContext } from '../context.js';
import type { Logger } from '../runtime/logger.js';
import { handle, optionalBool, optionalString, requireString } from '../runtime/router.js';
import { advanceOp, approveItemOp, approvePhaseOp, completeOp, finishOp, skipOp } from '../services/workflow.js';
import type { Tracker } from '../runtime/tracker.js';

type Params = Record<string, unknown>;

export function registerWorkflowHandlers(conn: MessageConnection, ctx: DaemonContext, log: Logger, track: Tracker): void {
  handle(conn, log, ItemCompleteRequest, async (p) => {
    const q = p as unknown as Params;
    return completeOp(ctx, {
      sessionId: optionalString(q, 'sessionId'),
      itemId: requireString(q, 'itemId'),
      notes: optionalString(q, 'notes'),
      skipVerify: optionalBool(q, 'skipVerify'),
    });
  }, track);
  handle(conn, log, ItemSkipRequest, async (p) => {
    const q = p as unknown as Params;
    return skipOp(ctx, {
      sessionId: optionalString(q, 'sessionId'),
      itemId: requireString(q, 'itemId'),
      reason: requireString(q, 'reason'),
      force: optionalBool(q, 'force'),
    });
  }, track);
  handle(conn, log, ItemApproveRequest, async (p) => {
    const q = p as unknown as Params;
    return approveItemOp(ctx, { sessionId: optionalString(q, 'sessionId'), itemId: requireString(q, 'itemId'), notes: optionalString(q, 'notes') });
  }, track);
  handle(conn, log, PhaseApproveRequest, async (p) => {
    const q = p as unknown as Params;
    return approvePhaseOp(ctx, { sessionId: optionalString(q, 'sessionId'), phaseId: optionalString(q, 'phaseId') });
  }, track);
  handle(conn, log, PhaseAdvanceRequest, async (p) => {
    const q = p as unknown as Params;
    return advanceOp(ctx, { sessionId: optionalString(q, 'sessionId'), force: optionalBool(q, 'force') });
  }, track);
  handle(conn, log, WorkflowFinishRequest, async (p) => {
    const q = p as unknown as Params;
    return finishOp(ctx, {
      sessionId: optionalString(q, 'sessionId'),
      notes: optionalString(q, 'notes'),
      force: optionalBool(q, 'force'),
      abandon: optionalBool(q, 'abandon'),
      reason: optionalString(q, 'reason'),
    });
  }, track);
}
