/**
 * `session/subscribe` and `session/unsubscribe`: a connection's live updates (daemon mode only). The
 * socket server drops a connection's subscriptions when it closes.
 */
import type { SubscribeParams, SubscribeResult, UnsubscribeParams } from '../../protocol/events.js';
import type { DaemonContext } from '../context.js';
import { OrchError } from '../errors.js';
import type { CallContext } from '../runtime/router.js';

export async function subscribe(ctx: DaemonContext, p: SubscribeParams, call: CallContext): Promise<SubscribeResult> {
  const live = ctx.live;
  if (!live) throw new OrchError('InvalidArgument', 'Live updates need the daemon; they are not available when orch runs without one (ORCH_DAEMON=0).');
  const sessionId = p.sessionId;
  if (sessionId !== undefined && !(await ctx.store.exists(sessionId))) {
    throw new OrchError('SessionNotFound', `There is no session ${sessionId} in this repository; orch sessions lists them.`, { sessionId });
  }
  if (sessionId) live.watcher.watchClosely(sessionId);
  return { subscriptionId: live.hub.subscribe(call.conn, sessionId, p.roster === true), instanceId: ctx.instanceId };
}

export async function unsubscribe(ctx: DaemonContext, p: UnsubscribeParams): Promise<Record<string, never>> {
  ctx.live?.hub.unsubscribe(p.subscriptionId);
  return {};
}
