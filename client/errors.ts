import { ExitCode } from '../protocol/errors.js';

/** A failure detected by the client itself, with the exit code it maps to. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly errorName: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.Usage, 'Usage');
}

export function unavailableError(message: string, details?: Record<string, unknown>): CliError {
  return new CliError(message, ExitCode.Unavailable, 'DaemonUnavailable', details);
}
