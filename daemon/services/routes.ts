/**
 * The routes table: every request the daemon serves, the schema of its params (protocol/params.ts)
 * and the service function that answers it. The router (runtime/router.ts) validates params, so a
 * service receives a typed value. To add a request: declare its params in protocol/params.ts and
 * its RequestType beside its result types, write the service, add one row here.
 */
import { DaemonHelloRequest, DaemonShutdownRequest, DaemonStatusRequest } from '../../protocol/daemon.js';
import { SubscribeRequest, UnsubscribeRequest } from '../../protocol/events.js';
import { ItemVerifyRequest } from '../../protocol/evidence.js';
import { FeedbackAddRequest, FeedbackListRequest } from '../../protocol/feedback.js';
import { GateWaitRequest } from '../../protocol/gates.js';
import { HookStopRequest } from '../../protocol/hooks.js';
import * as P from '../../protocol/params.js';
import { RosterListRequest } from '../../protocol/roster.js';
import {
  SessionListRequest,
  SessionResolveRequest,
  SessionShowRequest,
  SessionStartRequest,
  SessionStatusRequest,
  SessionSwitchRequest,
} from '../../protocol/session.js';
import {
  CheckpointCreateRequest,
  CheckpointListRequest,
  ItemApproveRequest,
  ItemCompleteRequest,
  ItemSkipRequest,
  LogReadRequest,
  PhaseAdvanceRequest,
  PhaseApproveRequest,
  WorkflowFinishRequest,
  WorkflowInitRequest,
  WorkflowValidateRequest,
} from '../../protocol/workflow.js';
import { subscribe, unsubscribe } from '../live/subscriptions.js';
import { route } from '../runtime/router.js';
import { createCheckpoint, listCheckpoints } from './checkpoints.js';
import { daemonStatus, hello, shutdownDaemon } from './daemon-info.js';
import { addFeedback, listFeedback } from './feedback.js';
import { waitGate } from './gate-wait.js';
import { hookStop } from './hooks.js';
import { readLog } from './log.js';
import { resolveConflict } from './resolve.js';
import { listSessions, sessionStatus, showSession, startSession, switchSession } from './sessions.js';
import { verifyOp } from './verify.js';
import { initWorkflow, validateWorkflow } from './workflow-file.js';
import { advanceOp, approveItemOp, approvePhaseOp, completeOp, finishOp, skipOp } from './workflow.js';

export const ROUTES = [
  route(DaemonHelloRequest, P.DaemonHelloParams, hello),
  route(DaemonStatusRequest, P.DaemonStatusParams, daemonStatus),
  route(DaemonShutdownRequest, P.DaemonShutdownParams, shutdownDaemon),

  route(SessionStartRequest, P.SessionStartParams, startSession),
  route(SessionStatusRequest, P.SessionStatusParams, sessionStatus),
  route(SessionListRequest, P.SessionListParams, listSessions),
  route(SessionShowRequest, P.SessionShowParams, showSession),
  route(SessionSwitchRequest, P.SessionSwitchParams, switchSession),
  route(SessionResolveRequest, P.SessionResolveParams, resolveConflict),

  route(ItemCompleteRequest, P.ItemCompleteParams, completeOp),
  route(ItemSkipRequest, P.ItemSkipParams, skipOp),
  route(ItemApproveRequest, P.ItemApproveParams, approveItemOp),
  route(PhaseApproveRequest, P.PhaseApproveParams, approvePhaseOp),
  route(PhaseAdvanceRequest, P.PhaseAdvanceParams, advanceOp),
  route(WorkflowFinishRequest, P.WorkflowFinishParams, finishOp),
  route(ItemVerifyRequest, P.ItemVerifyParams, verifyOp),

  route(CheckpointCreateRequest, P.CheckpointCreateParams, createCheckpoint),
  route(CheckpointListRequest, P.CheckpointListParams, listCheckpoints),
  route(LogReadRequest, P.LogReadParams, readLog),
  route(WorkflowValidateRequest, P.WorkflowValidateParams, validateWorkflow),
  route(WorkflowInitRequest, P.WorkflowInitParams, initWorkflow),

  route(FeedbackAddRequest, P.FeedbackAddParams, addFeedback),
  route(FeedbackListRequest, P.FeedbackListParams, listFeedback),

  // Waits on change events, not work: see Route.waits.
  route(GateWaitRequest, P.GateWaitParams, waitGate, { waits: true }),
  route(RosterListRequest, P.RosterListParams, async (ctx) => ctx.roster.list()),
  route(HookStopRequest, P.HookStopParams, hookStop),

  route(SubscribeRequest, P.SubscribeParams, subscribe),
  route(UnsubscribeRequest, P.UnsubscribeParams, unsubscribe),
] as const;
