/**
 * Serves the routes table on one connection: every request's params are validated against the
 * schema declared in protocol/params.ts before its service runs, so services receive typed values
 * and never re-check shapes. Also the only place that builds ResponseErrors: an OrchError keeps
 * its code, message and details; params of the wrong shape are the spec's InvalidParams naming the
 * field; a refused link and a file-system errno (ENOSPC, EROFS, EACCES, …) are named for the user;
 * anything else is logged with its stack and answered as an internal error without it.
 *
 * A connection must say `daemon/hello` first: until it has, every other request is refused.
 */
import { ErrorCodes, ResponseError, type CancellationToken, type MessageConnection, type RequestType } from 'vscode-jsonrpc/node.js';
import type { z } from 'zod';
import { DaemonHelloRequest } from '../../protocol/daemon.js';
import type { ClientInfo } from '../../protocol/params.js';
import { describeFsError, OrchErrorCode, REQUEST_CANCELLED, type OrchErrorData } from '../../protocol/errors.js';
import { UnsafePathError } from '../../protocol/node/safe-fs.js';
import type { DaemonContext } from '../context.js';
import { OrchError } from '../errors.js';
import type { Logger } from './logger.js';
import type { RosterSlot } from './roster.js';
import type { Tracker } from './tracker.js';

/** What a service knows about the call beyond its params. */
export interface CallContext {
  readonly conn: MessageConnection;
  readonly log: Logger;
  /** The connection's state (hello seen, who the client is). */
  readonly client: ConnectionState;
  /** Cancelled when the client sends `$/cancelRequest` for this request. */
  readonly token?: CancellationToken;
}

/** Per-connection state the router and services share. */
export interface ConnectionState {
  /** Set by a successful `daemon/hello`. */
  helloDone: boolean;
  /** Set by any `daemon/hello`, also one refused for another protocol version. */
  helloTried: boolean;
  /** The client's orch version, from its hello. */
  clientVersion: string | null;
  /** Who the client said it is in its hello (null before hello, or when it did not say). */
  info: ClientInfo | null;
  /** The connection's place in the roster (who is connected, their last request). */
  readonly slot: RosterSlot;
}

/** One row of the routes table: a request, the schema of its params, and the service that answers it. */
export interface Route<P, R> {
  readonly type: RequestType<P, R, OrchErrorData>;
  readonly params: z.ZodType<P>;
  readonly run: (ctx: DaemonContext, params: P, call: CallContext) => Promise<R>;
  /**
   * True for requests that wait on events (gate/wait): they are not work, so the daemon may go
   * idle or shut down while they wait (the client asks again), and the socket server does not
   * count them against a connection's turns.
   */
  readonly waits?: boolean;
}

/** Builds a route; the compiler checks that the schema, the request type and the service agree. */
export function route<P, R>(
  type: RequestType<P, R, OrchErrorData>,
  params: z.ZodType<P>,
  run: (ctx: DaemonContext, params: P, call: CallContext) => Promise<R>,
  opts: { waits?: boolean } = {},
): Route<P, R> {
  return { type, params, run, ...opts };
}

/**
 * What a client whose hello was refused (another protocol version) may still call: enough to see
 * which daemon runs and to ask it to stop, so that the client can replace it.
 */
const AFTER_MISMATCH = new Set(['daemon/status', 'daemon/shutdown']);

/** Longest value echoed back in an error message. */
const MAX_ECHO = 100;

/** The first problem of a failed parse, as one sentence that names the field and what was expected. */
export function describeParamsError(method: string, error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return `${method}: invalid parameters.`;
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : null;
  const what = issue.message.replace(/^Invalid input: /, '').slice(0, MAX_ECHO * 2);
  return field ? `${method}: parameter ${field}: ${what}.` : `${method}: parameters: ${what}.`;
}

export function toResponseError(err: unknown, method: string, log: Logger): ResponseError<OrchErrorData | undefined> {
  // Built on purpose by a service (a cancelled request): passed on as it is.
  if (err instanceof ResponseError && err.code === REQUEST_CANCELLED) return err as ResponseError<undefined>;
  if (err instanceof OrchError) {
    return new ResponseError(OrchErrorCode[err.errorName], err.message, { name: err.errorName, details: err.details });
  }
  if (err instanceof UnsafePathError) {
    log.warn({ file: err.file, method }, 'refused a symbolic link inside .orchestrator/');
    return new ResponseError(OrchErrorCode.UnsafePath, err.message, { name: 'UnsafePath', details: err.details });
  }
  // Disk full, read-only, permission denied: the user's situation, named, not a bug.
  const fs = describeFsError(err);
  if (fs) {
    log.warn({ err, method }, 'request failed on the file system');
    return new ResponseError(OrchErrorCode.FileSystem, fs.message, { name: fs.name, details: fs.details });
  }
  log.error({ err, method }, 'request failed');
  return new ResponseError(OrchErrorCode.Internal, `orch failed internally while handling ${method}; the daemon log has the details.`, {
    name: 'Internal',
  });
}

/** Registers every route on `conn`, with hello enforcement, params validation, timing and uniform error mapping. */
export function serveRoutes(
  conn: MessageConnection,
  routes: readonly Route<any, any>[], // eslint-disable-line @typescript-eslint/no-explicit-any -- a table of differently typed rows
  ctx: DaemonContext,
  log: Logger,
  track: Tracker,
): ConnectionState {
  const roster = ctx.roster;
  const client: ConnectionState = { helloDone: false, helloTried: false, clientVersion: null, info: null, slot: roster.open() };
  for (const r of routes) {
    const method = r.type.method;
    conn.onRequest(method, async (raw: unknown, token: CancellationToken) => {
      const started = performance.now();
      const call: CallContext = { conn, log, client, token };
      roster.touch(client.slot, method);
      try {
        if (method === DaemonHelloRequest.method) client.helloTried = true;
        else if (!client.helloDone && !(client.helloTried && AFTER_MISMATCH.has(method))) {
          throw new OrchError('HelloRequired', `Say daemon/hello first: the daemon answers ${method} only after the handshake.`, { method });
        }
        const parsed = r.params.safeParse(raw ?? {});
        if (!parsed.success) return new ResponseError(ErrorCodes.InvalidParams, describeParamsError(method, parsed.error));
        return r.waits ? await r.run(ctx, parsed.data, call) : await track(() => r.run(ctx, parsed.data, call));
      } catch (err) {
        return toResponseError(err, method, log);
      } finally {
        log.debug({ method, ms: Math.round((performance.now() - started) * 1000) / 1000 }, 'request');
      }
    });
  }
  return client;
}
