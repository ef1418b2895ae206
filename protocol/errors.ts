/**
 * The one table of application error codes. Codes are positive and grouped by hundreds, so they
 * never collide with JSON-RPC's reserved band (-32768..-32000) or vscode-jsonrpc's own codes.
 * Each code maps to exactly one CLI exit code (see {@link exitCodeFor}).
 */
export const OrchErrorCode = {
  /** The workflow file named by the caller (or `workflow.yaml`) does not exist. */
  WorkflowNotFound: 1001,
  /** The workflow file exists but fails to parse or validate. */
  InvalidWorkflow: 1002,
  /** A session id from the caller is not a plain session name (e.g. `../..`, empty, absolute). */
  InvalidSessionId: 1003,
  /** A parameter is missing, has the wrong type, or is out of range. */
  InvalidArgument: 1004,
  /** A path from the caller points outside the repository. */
  PathOutsideRepo: 1005,
  /** No session with that id exists (or `current` names one that no longer does). */
  SessionNotFound: 1100,
  /** The session's lock was not acquired by the deadline. */
  SessionBusy: 1101,
  /** The workflow refuses the change (blockers, wrong phase, gate rules, finished workflow). */
  InvalidTransition: 1102,
  /** There is no workflow to act on. */
  NoActiveWorkflow: 1103,
  /** The item id is not in the workflow (or not in the current phase). */
  ItemNotFound: 1104,
  /** The item's verification (file, command, gate) failed. */
  VerificationFailed: 1105,
  /** An agent (MCP server, hook, or a CLI run under an agent) tried to give or bypass a person's approval. */
  AgentCannotApprove: 1106,
  /** A passed check of the phase ran on another tree than the one in the working copy now (`orch verify` re-runs it). */
  StaleEvidence: 1107,
  /** An item with `expect_changes` has no changed file matching its globs since its phase started. */
  ExpectedChangesMissing: 1108,
  /**
   * One session was changed in two clones (portable mode): its state.json has git's conflict
   * markers, or its log holds events the state never saw. `orch sessions resolve <id> --keep
   * ours|theirs` keeps one version and sets the other beside it.
   */
  SessionConflict: 1110,
  /** `.orchestrator/` is missing where it must exist. */
  RepoNotInitialized: 1200,
  /** A state or meta file fails to parse or validate. */
  StateCorrupt: 1201,
  /** `.orchestrator/meta.json` names another repository (the folder was copied). */
  RepoMismatch: 1202,
  /** A filesystem lock was not acquired by its deadline. */
  LockTimeout: 1203,
  /** A symbolic link (or a file where a folder must be) inside `.orchestrator/`: refused, nothing written. */
  UnsafePath: 1204,
  /** The file system refused a read or write: disk full, read-only, permission denied, immutable file, a folder where a file was expected. */
  FileSystem: 1205,
  /** The daemon speaks another protocol version. */
  ProtocolMismatch: 1300,
  /** The daemon is shutting down; retry and a new daemon will answer. */
  ShuttingDown: 1301,
  /** The daemon could not be reached or failed to start. */
  DaemonUnavailable: 1302,
  /** The connection sent a request before `daemon/hello` (or never said hello in time). */
  HelloRequired: 1303,
  /** The daemon already serves as many connections as it allows (ORCH_MAX_CONNECTIONS). */
  TooManyConnections: 1304,
  /** The connection broke one of the daemon's input limits (buffered bytes, frame time, unread replies). */
  ConnectionLimit: 1305,
  /** An unexpected failure inside orch (a bug): the daemon log has the stack. */
  Internal: 1900,
} as const;

export type OrchErrorName = keyof typeof OrchErrorCode;

/**
 * The answer to a request its client cancelled (`$/cancelRequest`), in the JSON-RPC reserved band
 * as LSP defines it (vscode-jsonrpc 8 does not name it). Only long waits (gate/wait) answer it.
 */
export const REQUEST_CANCELLED = -32800;

/** The `data` of every application `ResponseError` orch sends. */
export interface OrchErrorData {
  /** The symbolic name of the code, e.g. `SessionNotFound`. */
  name: OrchErrorName;
  /** Structured context (ids, paths, fields); never a stack trace. */
  details?: Record<string, string | number | boolean | null | string[]>;
}

/** CLI exit codes. */
export const ExitCode = {
  Ok: 0,
  /** Refused by the workflow, or not found. */
  Refused: 1,
  /** Bad command-line usage or bad input. */
  Usage: 2,
  /** The daemon is unreachable or failed to start. */
  Unavailable: 3,
  /**
   * `orch wait`: the timeout passed and the gate is still closed. Not an error: the command printed
   * the same NEXT_ACTION (the wait again), so an agent simply runs it once more.
   */
  StillWaiting: 4,
  /** Interrupted (Ctrl-C) before it was done; nothing was changed (128 + SIGINT, as shells report it). */
  Interrupted: 130,
  /** A bug in orch. */
  Internal: 70,
} as const;

const EXIT_BY_NAME: Record<OrchErrorName, number> = {
  WorkflowNotFound: ExitCode.Refused,
  InvalidWorkflow: ExitCode.Refused,
  InvalidSessionId: ExitCode.Usage,
  InvalidArgument: ExitCode.Usage,
  PathOutsideRepo: ExitCode.Usage,
  SessionNotFound: ExitCode.Refused,
  SessionBusy: ExitCode.Refused,
  InvalidTransition: ExitCode.Refused,
  NoActiveWorkflow: ExitCode.Refused,
  ItemNotFound: ExitCode.Refused,
  VerificationFailed: ExitCode.Refused,
  AgentCannotApprove: ExitCode.Refused,
  StaleEvidence: ExitCode.Refused,
  ExpectedChangesMissing: ExitCode.Refused,
  SessionConflict: ExitCode.Refused,
  RepoNotInitialized: ExitCode.Refused,
  StateCorrupt: ExitCode.Refused,
  RepoMismatch: ExitCode.Refused,
  LockTimeout: ExitCode.Refused,
  UnsafePath: ExitCode.Refused,
  FileSystem: ExitCode.Refused,
  ProtocolMismatch: ExitCode.Unavailable,
  ShuttingDown: ExitCode.Unavailable,
  DaemonUnavailable: ExitCode.Unavailable,
  HelloRequired: ExitCode.Unavailable,
  TooManyConnections: ExitCode.Unavailable,
  ConnectionLimit: ExitCode.Unavailable,
  Internal: ExitCode.Internal,
};

/** The exit code for an application error name. */
export function exitCodeFor(name: OrchErrorName): number {
  return EXIT_BY_NAME[name];
}

const NAME_BY_CODE = new Map<number, OrchErrorName>(
  (Object.entries(OrchErrorCode) as [OrchErrorName, number][]).map(([n, c]) => [c, n]),
);

/** The symbolic name for a numeric code, or undefined for codes outside the table. */
export function errorNameFor(code: number): OrchErrorName | undefined {
  return NAME_BY_CODE.get(code);
}

/** Type guard for the `data` of an orch `ResponseError`. */
export function isOrchErrorData(value: unknown): value is OrchErrorData {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    (value as { name: string }).name in OrchErrorCode
  );
}

/** What the user should know about each errno orch treats as the user's situation, not a bug. */
const ERRNO_CAUSES: Record<string, string> = {
  ENOSPC: 'the disk is full; free some space and run the command again',
  EDQUOT: 'the disk quota is used up; free some space and run the command again',
  EROFS: 'the file system is read-only; remount it read-write (read-only commands such as orch status still work)',
  EACCES: 'permission denied; check the owner and mode of the file and its folder (ls -l)',
  EPERM: 'the operation is not permitted; the file may be immutable (lsattr; chattr -i) or owned by someone else',
  EISDIR: 'it is a folder, not a file; name a file instead',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EMFILE: 'too many files are open; close some programs and run the command again',
  ENFILE: 'too many files are open; close some programs and run the command again',
  EIO: 'the device reported an input/output error; check the disk',
};

/**
 * The one place that turns an errno error (ENOSPC, EROFS, EACCES, EPERM, EISDIR, …) into a sentence
 * naming the file and the cause, with the `FileSystem` error name. Null for anything else (a bug).
 */
export function describeFsError(err: unknown): { name: 'FileSystem'; message: string; details: { file: string | null; errno: string } } | null {
  const e = err as { code?: unknown; path?: unknown; dest?: unknown; syscall?: unknown } | null;
  if (!e || typeof e.code !== 'string') return null;
  const cause = ERRNO_CAUSES[e.code];
  if (cause === undefined) return null;
  const file = typeof e.path === 'string' ? e.path : null;
  const syscall = typeof e.syscall === 'string' ? e.syscall : '';
  const verb = /^(read|scandir|lstat|stat|access)$/.test(syscall) ? 'read' : syscall === 'open' ? 'open' : 'write';
  const where = file ? `${verb} ${file}` : `${verb} a file`;
  return { name: 'FileSystem', message: `Could not ${where}: ${cause} (${e.code}).`, details: { file, errno: e.code } };
}
