import { Mutex } from 'async-mutex';

/**
 * One async-mutex per key (a session id, or `repo` for repo-level files). Keys with nobody
 * waiting are dropped so thousands of sessions do not leave thousands of mutexes behind.
 */
export class KeyedMutex {
  private readonly mutexes = new Map<string, { mutex: Mutex; users: number }>();

  /** Runs `fn` while holding the mutex for `key`. */
  async runExclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let entry = this.mutexes.get(key);
    if (!entry) {
      entry = { mutex: new Mutex(), users: 0 };
      this.mutexes.set(key, entry);
    }
    entry.users += 1;
    try {
      return await entry.mutex.runExclusive(fn);
    } finally {
      entry.users -= 1;
      if (entry.users === 0) this.mutexes.delete(key);
    }
  }
}

/** The key of the repo-level mutex (current, meta.json, .gitignore). */
export const REPO_LOCK = 'repo';
