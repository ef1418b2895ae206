import type { MessageConnection } from 'vscode-jsonrpc/node.js';
import {
  CheckpointCreateRequest,
  CheckpointListRequest,
  LogReadRequest,
  WorkflowInitRequest,
  WorkflowValidateRequest,
} from '../../protocol/workflow.js';
import { createCheckpoint, listCheckpoints } from '../services/checkpoints.js';
import type { DaemonContext } from '../context.js';
import type { Logger } from '../runtime/logger.js';
import { readLog } from '../services/log.js';
import { handle, optionalBool, optionalInt, optionalString, optionalStringArray } from '../runtime/router.js';
import { initWorkflow, validateWorkflow } from '../services/workflow-file.js';
import type { Tracker } from '../runtime/tracker.js';

type Params = Record<string, unknown>;

/** checkpoint/create, checkpoint/list, log/read, workflow/validate, workflow/init. */
export function registerRecordHandlers(conn: MessageConnection, ctx: DaemonContext, log: Logger, track: Tracker): void {
  handle(conn, log, CheckpointCreateRequest, async (p) => {
    const q = p as unknown as Params;
    return createCheckpoint(ctx, {
      sessionId: optionalString(q, 'sessionId'),
      message: optionalString(q, 'message'),
      decisions: optionalStringArray(q, 'decisions'),
      files: optionalStringArray(q, 'files'),
    });
  }, track);
  handle(conn, log, CheckpointListRequest, async (p) => listCheckpoints(ctx, optionalString(p as Params, 'sessionId')), track);
  handle(conn, log, LogReadRequest, async (p) => {
    const q = p as unknown as Params;
    return readLog(ctx, { sessionId: optionalString(q, 'sessionId'), limit: optionalInt(q, 'limit') });
  }, track);
  handle(conn, log, WorkflowValidateRequest, async (p) => validateWorkflow(ctx, { file: optionalString(p as Params, 'file') }), track);
  handle(conn, log, WorkflowInitRequest, async (p) => {
    const q = p as unknown as Params;
    return initWorkflow(ctx, { force: optionalBool(q, 'force'), portable: optionalBool(q, 'portable') });
  }, track);
}
