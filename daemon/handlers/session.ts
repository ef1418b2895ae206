import type { MessageConnection } from 'vscode-jsonrpc/node.js';
import {
  SessionListRequest,
  SessionShowRequest,
  SessionStartRequest,
  SessionStatusRequest,
  SessionSwitchRequest,
} from '../../protocol/index.js';
import { REPO_LOCK, type DaemonContext } from '../context.js';
import { OrchError } from '../errors.js';
import { LEGACY_ENTRY_ID } from '../legacy/legacy-state.js';
import { refuseSwitchToLegacy, showLegacy } from '../legacy/legacy-view.js';
import type { Logger } from '../runtime/logger.js';
import { handle, optionalBool, optionalString, optionalStringArray, requireString } from '../runtime/router.js';
import { sessionStatus, setCurrent, startSession } from '../services/sessions.js';
import type { Tracker } from '../runtime/tracker.js';

type Params = Record<string, unknown>;

export function registerSessionHandlers(conn: MessageConnection, ctx: DaemonContext, log: Logger, track: Tracker): void {
  const index = ctx.index;
  handle(conn, log, SessionStartRequest, async (p) => {
    const q = p as unknown as Params;
    return startSession(ctx, {
      task: requireString(q, 'task'),
      workflow: optionalString(q, 'workflow'),
      project: optionalString(q, 'project'),
      constraints: optionalStringArray(q, 'constraints'),
      portable: optionalBool(q, 'portable'),
    });
  }, track);

  handle(conn, log, SessionStatusRequest, async (p) => sessionStatus(ctx, optionalString(p as Params, 'sessionId')), track);

  handle(conn, log, SessionListRequest, async () => ({ sessions: await index.list() }), track);

  handle(conn, log, SessionShowRequest, async (p) => {
    const id = requireString(p as unknown as Params, 'sessionId');
    if (id === LEGACY_ENTRY_ID) return { session: await showLegacy(ctx) };
    if (!(await ctx.store.exists(id))) {
      throw new OrchError('SessionNotFound', `There is no session ${id} in this repository; orch sessions lists them.`, { sessionId: id });
    }
    const s = await index.summary(id);
    const current = await ctx.store.readCurrent();
    return {
      session: { ...index.toEntry(id, s, current), path: ctx.store.pathsFor(id).dir, repoRoot: s.repoRoot, workflowId: s.workflowId },
    };
  }, track);

  handle(conn, log, SessionSwitchRequest, async (p) => {
    const id = requireString(p as unknown as Params, 'sessionId');
    if (id === LEGACY_ENTRY_ID) refuseSwitchToLegacy();
    return ctx.locks.runExclusive(REPO_LOCK, async () => {
      if (!(await ctx.store.exists(id))) {
        throw new OrchError('SessionNotFound', `There is no session ${id} in this repository; orch sessions lists them.`, { sessionId: id });
      }
      const previous = await setCurrent(ctx, id);
      log.info({ session: id, previous }, 'current session switched');
      return { sessionId: id, previous };
    });
  }, track);
}
