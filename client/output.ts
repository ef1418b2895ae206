/**
 * The only module that writes to stdout. Human text by default; with `--json`, exactly one JSON
 * document on stdout and nothing else. Errors are one sentence on stderr (`orch: …`), or an
 * `{"error": …}` document under `--json`, and map to an exit code.
 */
import { ResponseError } from 'vscode-jsonrpc/node.js';
import { describeFsError, ExitCode, errorNameFor, exitCodeFor, isOrchErrorData, OrchErrorCode, type OrchErrorName } from '../protocol/errors.js';
import { CliError } from './errors.js';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export class Output {
  /** Warnings about how the command ran (not part of the daemon's answer). */
  private readonly notices: string[] = [];

  constructor(
    readonly io: Io,
    readonly json: boolean,
    readonly quiet: boolean,
  ) {}

  /** Human text (ignored under --json). */
  text(s: string): void {
    if (!this.json) this.io.stdout(s.endsWith('\n') ? s : s + '\n');
  }

  /** The one JSON document (only under --json); notices join its `warnings`. */
  document(value: unknown): void {
    if (!this.json) return;
    let doc = value;
    if (this.notices.length > 0 && doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
      const own = (doc as { warnings?: unknown }).warnings;
      doc = { ...doc, warnings: [...this.notices, ...(Array.isArray(own) ? own : [])] };
    } else if (this.notices.length > 0) {
      // A list has no place for warnings: they go to stderr, stdout stays one document.
      for (const n of this.notices) this.io.stderr(`orch: warning: ${n}\n`);
    }
    this.io.stdout(JSON.stringify(doc, null, 2) + '\n');
  }

  /** A warning about how the command ran: on stderr now, and in the JSON document's `warnings`. */
  notice(message: string): void {
    this.notices.push(message);
    this.warn(message);
  }

  /** A warning on stderr in human mode; JSON callers get warnings inside the document. */
  warn(message: string): void {
    if (!this.json) this.io.stderr(`orch: warning: ${message}\n`);
  }

  /** Prints an error and returns the exit code it maps to. */
  error(err: unknown): number {
    const described = describeError(err);
    const { code, name, exit } = described;
    const message = cutLongRuns(described.message);
    const details = cutDetails(described.details);
    if (this.json) this.io.stdout(JSON.stringify({ error: { code, name, message, details } }, null, 2) + '\n');
    else this.io.stderr(`orch: ${message}\n`);
    return exit;
  }
}

/**
 * Error messages and details echo what the caller gave; a 5 KB id or path is not echoed back in full.
 * Any run of more than 200 characters without a space is cut to its first 100 and an ellipsis
 * (longer than any real path or id orch would name).
 */
function cutLongRuns(text: string): string {
  return text.replace(/\S{201,}/g, (run) => `${run.slice(0, 100)}…`);
}

function cutDetails(details: unknown): unknown {
  if (typeof details === 'string') return cutLongRuns(details);
  if (Array.isArray(details)) return details.map(cutDetails);
  if (details !== null && typeof details === 'object') return Object.fromEntries(Object.entries(details).map(([k, v]) => [k, cutDetails(v)]));
  return details;
}

interface ErrorDescription {
  code: number | null;
  name: string;
  message: string;
  details?: unknown;
  exit: number;
}

function describeError(err: unknown): ErrorDescription {
  if (err instanceof CliError) return { code: err.code, name: err.errorName, message: err.message, details: err.details, exit: err.exitCode };
  if (err instanceof ResponseError) {
    const data: unknown = err.data;
    const name = isOrchErrorData(data) ? data.name : errorNameFor(err.code);
    if (name) return { code: err.code, name, message: err.message, details: isOrchErrorData(data) ? data.details : undefined, exit: exitCodeFor(name) };
    if (err.code === -32602) return { code: err.code, name: 'InvalidParams', message: err.message, exit: ExitCode.Usage };
    // Transport errors (connection closed, pending request rejected): the daemon went away.
    return { code: err.code, name: 'DaemonUnavailable', message: `The daemon stopped answering (${err.message}); run the command again.`, exit: ExitCode.Unavailable };
  }
  // Errors of the shared protocol code the client runs itself (a refused link, an errno).
  const named = err as { errorName?: unknown; message?: unknown; details?: unknown } | null;
  if (named && typeof named.errorName === 'string' && named.errorName in OrchErrorCode && typeof named.message === 'string') {
    const name = named.errorName as OrchErrorName;
    return { code: OrchErrorCode[name], name, message: named.message, details: named.details, exit: exitCodeFor(name) };
  }
  const fs = describeFsError(err);
  if (fs) return { code: OrchErrorCode.FileSystem, name: fs.name, message: fs.message, details: fs.details, exit: exitCodeFor(fs.name) };
  const message = err instanceof Error ? err.message : String(err);
  if (/Connection (is )?(closed|disposed)|ECONNRESET|EPIPE/i.test(message)) {
    return { code: null, name: 'DaemonUnavailable', message: `The daemon stopped answering (${message}); run the command again.`, exit: ExitCode.Unavailable };
  }
  return { code: null, name: 'Internal', message: `internal error: ${message}`, exit: ExitCode.Internal };
}
