import type { OrchErrorData, OrchErrorName } from '../protocol/errors.js';

/**
 * The error every daemon module throws for an expected failure. `rpc.ts` turns it into a
 * `ResponseError` with the code from the protocol's table; anything else is an internal error.
 */
export class OrchError extends Error {
  readonly errorName: OrchErrorName;
  readonly details: OrchErrorData['details'];

  constructor(name: OrchErrorName, message: string, details?: OrchErrorData['details']) {
    super(message);
    this.name = 'OrchError';
    this.errorName = name;
    this.details = details;
  }
}
