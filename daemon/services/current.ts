/** The repo's `current` session: written in one place, announced to listeners. */
import type { DaemonEvents } from '../events.js';
import type { SessionStore } from '../store/session-store.js';

/**
 * Makes `id` the repo's current session and announces the switch; returns the session that was
 * current before. Callers hold the repo mutex.
 */
export async function writeCurrent(store: SessionStore, events: DaemonEvents, id: string): Promise<string | null> {
  const previous = await store.readCurrent();
  if (previous === id) return previous;
  await store.writeCurrent(id);
  events.emit('currentSwitched', { sessionId: id, previous });
  return previous;
}
