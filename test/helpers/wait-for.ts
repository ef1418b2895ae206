import { isProcessRunning } from '../../protocol/node/process.js';

/**
 * Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws `what`). The
 * deadline is generous on purpose (a loaded machine is slow, not wrong): speed is `npm run bench`'s job.
 */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30_000, stepMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** True while process `pid` runs (a zombie awaiting a lazy reaper counts as exited). */
export const isAlive = isProcessRunning;
