/**
 * The only place that builds ResponseErrors. An OrchError keeps its code, message and details; a
 * parameter of the wrong shape is the spec's InvalidParams; a refused link and a file-system errno
 * (ENOSPC, EROFS, EACCES, …) are named for the user; anything else is logged with its stack and
 * answered as an internal error without the stack.
 */
import { ErrorCodes, ResponseError, type MessageConnection, type RequestType } from 'vscode-jsonrpc/node.js';
import { describeFsError, OrchErrorCode, type OrchErrorData } from '../protocol/errors.js';
import { UnsafePathError } from '../protocol/safe-fs.js';
import { OrchError } from './errors.js';
import type { Logger } from './logger.js';

export type Handler<P, R> = (params: P) => Promise<R>;

/** Raised by parameter checks in handlers: becomes JSON-RPC InvalidParams. */
export class ParamsError extends Error {}

export function toResponseError(err: unknown, method: string, log: Logger): ResponseError<OrchErrorData | undefined> {
  if (err instanceof OrchError) {
    return new ResponseError(OrchErrorCode[err.errorName], err.message, { name: err.errorName, details: err.details });
  }
  if (err instanceof ParamsError) return new ResponseError(ErrorCodes.InvalidParams, err.message, undefined);
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

/** Registers `fn` for `type` on `conn`, with timing at debug level and uniform error mapping. */
export function handle<P, R>(
  conn: MessageConnection,
  log: Logger,
  type: RequestType<P, R, OrchErrorData>,
  fn: Handler<P, R>,
  track: <T>(work: () => Promise<T>) => Promise<T>,
): void {
  conn.onRequest(type, async (params: P) => {
    const started = performance.now();
    try {
      if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params))) {
        throw new ParamsError(`${type.method} takes its parameters as one object.`);
      }
      return await track(() => fn((params ?? {}) as P));
    } catch (err) {
      return toResponseError(err, type.method, log);
    } finally {
      log.debug({ method: type.method, ms: Math.round((performance.now() - started) * 1000) / 1000 }, 'request');
    }
  });
}

/** Helpers for handlers' parameter checks. */
export function optionalString(params: Record<string, unknown>, key: string): string | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ParamsError(`Parameter ${key} must be a string.`);
  return v;
}

export function requireString(params: Record<string, unknown>, key: string): string {
  const v = optionalString(params, key);
  if (v === undefined) throw new ParamsError(`Parameter ${key} is required.`);
  return v;
}

export function optionalBool(params: Record<string, unknown>, key: string): boolean | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ParamsError(`Parameter ${key} must be true or false.`);
  return v;
}

export function optionalStringArray(params: Record<string, unknown>, key: string): string[] | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ParamsError(`Parameter ${key} must be a list of strings.`);
  return v as string[];
}

export function optionalInt(params: Record<string, unknown>, key: string): number | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ParamsError(`Parameter ${key} must be a non-negative whole number.`);
  return v;
}
