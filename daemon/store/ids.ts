import { customAlphabet } from 'nanoid';

const hex8 = customAlphabet('0123456789abcdef', 8);

/** A new session id: 8 lowercase hex characters. */
export function newSessionId(): string {
  return hex8();
}

/** A new workflow id in the Python tool's shape: `wf_` + 8 hex. */
export function newWorkflowId(): string {
  return `wf_${hex8()}`;
}

/** A random hex suffix of `n` characters (checkpoint ids, instance ids). */
export function randomHex(n: number): string {
  return customAlphabet('0123456789abcdef', n)();
}
