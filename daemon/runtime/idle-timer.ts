/**
 * When the daemon should stop on its own: after an idle period with no connection and no running
 * work, or as soon as its socket or registration is no longer its own (another daemon replaced it,
 * or the repo's `.orchestrator/` was deleted) so it never lingers as a ghost.
 */
import { lstat } from 'node:fs/promises';
import { OrchError } from '../errors.js';
import { readRegistration } from './registration.js';

export class IdleTimer {
  private timer: NodeJS.Timeout | null = null;
  private connections = 0;
  private inFlight = 0;
  private closing = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly onIdle: () => void,
  ) {}

  setConnections(n: number): void {
    this.connections = n;
    this.update();
  }

  /**
   * Wraps work so the daemon never idles out while it runs, and a shutdown waits for it. Once the
   * daemon is shutting down, new work is refused with ShuttingDown instead of being started.
   */
  track = async <T>(work: () => Promise<T>): Promise<T> => {
    if (this.closing) {
      throw new OrchError('ShuttingDown', 'The orch daemon is shutting down; run the command again to reach the next one.', { pid: process.pid });
    }
    this.inFlight += 1;
    this.update();
    try {
      return await work();
    } finally {
      this.inFlight -= 1;
      this.update();
    }
  };

  get running(): number {
    return this.inFlight;
  }

  private update(): void {
    if (this.closing) return;
    const idle = this.connections === 0 && this.inFlight === 0;
    if (!idle && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    } else if (idle && !this.timer && this.timeoutMs > 0) {
      this.timer = setTimeout(this.onIdle, this.timeoutMs);
    }
  }

  /** Stops the timer for good and refuses new work from now on (in-flight work still finishes). */
  stop(): void {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Returns why the daemon no longer owns its endpoint, or null while it does. */
export async function ownershipLost(socketPath: string, socketIno: number, registrationPath: string, instanceId: string): Promise<string | null> {
  try {
    const st = await lstat(socketPath);
    if (!st.isSocket() || st.ino !== socketIno) return `socket ${socketPath} was replaced`;
  } catch {
    return `socket ${socketPath} was removed`;
  }
  const reg = await readRegistration(registrationPath);
  if (!reg) return `registration ${registrationPath} was removed`;
  if (reg.instanceId !== instanceId) return `registration now names another daemon (pid ${reg.pid})`;
  return null;
}

/** Waits until `check()` is true or `timeoutMs` passes; resolves to whether it became true. */
export async function waitUntil(check: () => boolean, timeoutMs: number, stepMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return true;
}
