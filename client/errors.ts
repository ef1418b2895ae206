import { OrchErrorCode, exitCodeFor, type OrchErrorName } from '../protocol/errors.js';

/** A failure detected by the client itself: a name from the one error table (protocol/errors.ts). */
export class CliError extends Error {
  readonly exitCode: number;
  readonly code: number;
  constructor(
    message: string,
    readonly errorName: OrchErrorName,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.exitCode = exitCodeFor(errorName);
    this.code = OrchErrorCode[errorName];
  }
}

/** Longest piece of user input an error message echoes back. */
const MAX_ECHO = 100;

/** `value` as JSON for an error message, cut to {@link MAX_ECHO} characters with an ellipsis. */
export function echo(value: string): string {
  return JSON.stringify(value.length > MAX_ECHO ? `${value.slice(0, MAX_ECHO)}…` : value);
}

/** Bad command-line usage (exit 2): InvalidArgument, unless a more precise name applies. */
export function usageError(message: string, name: OrchErrorName = 'InvalidArgument'): CliError {
  return new CliError(message, name);
}

export function unavailableError(message: string, details?: Record<string, unknown>): CliError {
  return new CliError(message, 'DaemonUnavailable', details);
}
