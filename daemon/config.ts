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
}

const DEFAULTS = {
  idleTimeoutMs: 15 * 60 * 1000,
  logLevel: 'info',
  lockTimeoutMs: 5000,
  migrationLockTimeoutMs: 10_000,
  commandTimeoutMs: 300_000,
  ownershipCheckMs: 2000,
  maxMessageBytes: 1024 * 1024,
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

/** Resolves the daemon's configuration for `root` from `ORCH_*` variables. */
export function resolveConfig(root: string, env: NodeJS.ProcessEnv): DaemonConfig {
  return Object.freeze({
    root,
    idleTimeoutMs: intFromEnv(env, 'ORCH_IDLE_TIMEOUT_MS', DEFAULTS.idleTimeoutMs),
    logLevel: env.ORCH_LOG_LEVEL || DEFAULTS.logLevel,
    lockTimeoutMs: intFromEnv(env, 'ORCH_LOCK_TIMEOUT_MS', DEFAULTS.lockTimeoutMs),
    migrationLockTimeoutMs: intFromEnv(env, 'ORCH_MIGRATION_LOCK_TIMEOUT_MS', DEFAULTS.migrationLockTimeoutMs),
    commandTimeoutMs: intFromEnv(env, 'ORCH_COMMAND_TIMEOUT_MS', DEFAULTS.commandTimeoutMs),
    ownershipCheckMs: intFromEnv(env, 'ORCH_OWNERSHIP_CHECK_MS', DEFAULTS.ownershipCheckMs),
    maxMessageBytes: intFromEnv(env, 'ORCH_MAX_MESSAGE_BYTES', DEFAULTS.maxMessageBytes),
  });
}
