import type { MessageConnection } from 'vscode-jsonrpc/node.js';
import { SubscribeRequest, UnsubscribeRequest } from '../../protocol/events.js';
import type { DaemonContext } from '../context.js';
import { OrchError } from '../errors.js';
import type { Logger } from '../runtime/logger.js';
import { handle, optionalString, requireString } from '../runtime/router.js';
import type { Tracker } from '../runtime/tracker.js';

export function registerLiveHandlers(conn: MessageConnection, ctx: DaemonContext, log: Logger, track: Tracker): void {
  conn.onClose(() => ctx.live?.hub.detach(conn));
  handle(conn, log, SubscribeRequest, async (p) => {
    const live = ctx.live;
    if (!live) throw new OrchError('InvalidArgument', 'Live updates need the daemon; they are not available when orch runs without one (ORCH_DAEMON=0).');
    const sessionId = optionalString(p as unknown as Record<string, unknown>, 'sessionId');
    if (sessionId !== undefined && !(await ctx.store.exists(sessionId))) {
      throw new OrchError('SessionNotFound', `There is no session ${sessionId} in this repository; orch sessions lists them.`, { sessionId });
    }
    if (sessionId) live.watcher.watchClosely(sessionId);
    return { subscriptionId: live.hub.subscribe(conn, sessionId), instanceId: ctx.instanceId };
  }, track);
  handle(conn, log, UnsubscribeRequest, async (p) => {
    ctx.live?.hub.unsubscribe(requireString(p as unknown as Record<string, unknown>, 'subscriptionId'));
    return {};
  }, track);
}
