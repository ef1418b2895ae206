/**
 * Daemon configuration: one frozen object resolved from argv and the environment, with every
 * default in one literal. Invalid values fail with the variable's name.
 */
export interface DaemonConfig {
  /** Absolute, realpath'd repository root. */
  readonly root: string;
  /** Exit after this long with no client connected and no work running. */
  readonly idleTimeoutMs: number;
  /** pino level for `.orchestrator/daemon.log`. */
  readonly logLevel: string;
  /** Deadline for taking the single-writer lock at start. */
  readonly lockTimeoutMs: number;
  /** Deadline for the legacy migration lock. */
  readonly migrationLockTimeoutMs: number;
  /** Default timeout for verification and gate commands. */
  readonly commandTimeoutMs: number;
  /** How often the daemon checks that its socket and registration are still its own. */
  readonly ownershipCheckMs: number;
  /** Largest accepted JSON-RPC message body, in bytes. */
  readonly maxMessageBytes: number;
  /** `daemon.log` is rotated to `daemon.log.1` when it grows past this many bytes. */
  readonly logMaxBytes: number;
  /** How long a command run without a daemon (ORCH_DAEMON=0) waits for the single-writer lock. */
  readonly cliLockTimeoutMs: number;
  /** Why this daemon was started (`--reason`, passed by the client that spawned it), for `daemon status`. */
  readonly startReason: string | null;
  /** Unwritten notifications a subscriber may have before it is cut off and later resynced. */
  readonly subscriberMaxPending: number;
  /** Client connections served at once; one more is refused with TooManyConnections. */
  readonly maxConnections: number;
  /**
   * Bytes the daemon holds for all connections together: incomplete incoming frames plus replies
   * written but not yet read. A connection whose partial frame (or unread replies) would pass it is closed.
   */
  readonly maxBufferedBytes: number;
  /** A frame (header + body) must arrive whole within this long of its first byte, or the connection is closed. */
  readonly frameTimeoutMs: number;
  /** A connection must say `daemon/hello` within this long, or it is closed. */
  readonly helloTimeoutMs: number;
  /** Replies one connection may leave unread before it is cut off. */
  readonly maxUnreadReplyBytes: number;
}

const DEFAULTS = {
  idleTimeoutMs: 15 * 60 * 1000,
  logLevel: 'info',
  lockTimeoutMs: 5000,
  migrationLockTimeoutMs: 10_000,
  commandTimeoutMs: 300_000,
  ownershipCheckMs: 2000,
  maxMessageBytes: 1024 * 1024,
  logMaxBytes: 5 * 1024 * 1024,
  cliLockTimeoutMs: 30_000,
  subscriberMaxPending: 256,
  maxConnections: 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  frameTimeoutMs: 10_000,
  helloTimeoutMs: 10_000,
  maxUnreadReplyBytes: 256 * 1024,
};

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name} must be a non-negative whole number of milliseconds (or bytes), got ${JSON.stringify(raw)}.`);
  }
  return n;
}

/** Resolves the daemon's configuration for `root` from command-line arguments and `ORCH_*` variables. */
export function resolveConfig(root: string, env: NodeJS.ProcessEnv, args: { startReason?: string | null } = {}): DaemonConfig {
  return Object.freeze({
    root,
    startReason: args.startReason ?? null,
    idleTimeoutMs: intFromEnv(env, 'ORCH_IDLE_TIMEOUT_MS', DEFAULTS.idleTimeoutMs),
    logLevel: env.ORCH_LOG_LEVEL || DEFAULTS.logLevel,
    lockTimeoutMs: intFromEnv(env, 'ORCH_LOCK_TIMEOUT_MS', DEFAULTS.lockTimeoutMs),
    migrationLockTimeoutMs: intFromEnv(env, 'ORCH_MIGRATION_LOCK_TIMEOUT_MS', DEFAULTS.migrationLockTimeoutMs),
    commandTimeoutMs: intFromEnv(env, 'ORCH_COMMAND_TIMEOUT_MS', DEFAULTS.commandTimeoutMs),
    ownershipCheckMs: intFromEnv(env, 'ORCH_OWNERSHIP_CHECK_MS', DEFAULTS.ownershipCheckMs),
    maxMessageBytes: intFromEnv(env, 'ORCH_MAX_MESSAGE_BYTES', DEFAULTS.maxMessageBytes),
    logMaxBytes: intFromEnv(env, 'ORCH_LOG_MAX_BYTES', DEFAULTS.logMaxBytes),
    cliLockTimeoutMs: intFromEnv(env, 'ORCH_CLI_LOCK_TIMEOUT_MS', DEFAULTS.cliLockTimeoutMs),
    subscriberMaxPending: intFromEnv(env, 'ORCH_SUBSCRIBER_MAX_PENDING', DEFAULTS.subscriberMaxPending),
    maxConnections: intFromEnv(env, 'ORCH_MAX_CONNECTIONS', DEFAULTS.maxConnections),
    maxBufferedBytes: intFromEnv(env, 'ORCH_MAX_BUFFERED_BYTES', DEFAULTS.maxBufferedBytes),
    frameTimeoutMs: intFromEnv(env, 'ORCH_FRAME_TIMEOUT_MS', DEFAULTS.frameTimeoutMs),
    helloTimeoutMs: intFromEnv(env, 'ORCH_HELLO_TIMEOUT_MS', DEFAULTS.helloTimeoutMs),
    maxUnreadReplyBytes: intFromEnv(env, 'ORCH_MAX_UNREAD_REPLY_BYTES', DEFAULTS.maxUnreadReplyBytes),
  });
}
