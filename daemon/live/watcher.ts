/**
 * Notices changes made outside the daemon, narrowly (chokidar's CPU problems come from watching
 * too much): `workflow.yaml`, the `sessions/` folder itself (sessions created or deleted by hand),
 * and the folders of the sessions that matter now (current, subscribed, recently changed), at
 * most {@link MAX_CLOSE_WATCHES}. Never the whole repo. The daemon's own writes do not echo back:
 * after each of its writes the file's (mtime, size) is recorded, and an event that finds the file
 * as recorded is dropped.
 *
 * The sessions folder itself is watched with one plain `fs.watch` (one inotify watch, names only),
 * not chokidar: chokidar stats every entry of a folder it watches and keeps an object per entry,
 * even at depth 0, and reads the whole folder again (with a stat per entry) on each change; with
 * 10,000 session folders that was 35 MB of the daemon's memory and a second of its start, for
 * sessions that are finished. Which folders exist is kept as a set of ids, to tell a new one.
 *
 * The closely watched session folders get one plain `fs.watch` each too, for the same reason: every
 * save renames a temp file over state.json, and chokidar answered each rename by reading the whole
 * folder again with an `lstat` per entry, a fifth of the daemon's CPU with 32 clients changing 8
 * sessions. A watch that only passes on the name `state.json` costs one callback per event; what
 * changed is then told by the file's signature, as before.
 */
import { lstatSync, readdirSync, statSync, watch as fsWatch, type FSWatcher as NodeWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { isSessionId, type RepoPaths } from '../../protocol/node/paths.js';

const MAX_CLOSE_WATCHES = 256;
/** Longer than chokidar's 50 ms change throttle. */
const TRAILING_CHECK_MS = 80;

export interface WatcherEvents {
  workflowFile(): void;
  sessionAdded(id: string): void;
  sessionRemoved(id: string): void;
  /** A session's state.json changed on disk, by the daemon or someone else: confirm with {@link RepoWatcher.isExternal}. */
  stateTouched(id: string): void;
}

function signature(path: string): string {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return 'missing';
  }
}

export class RepoWatcher {
  private watcher: FSWatcher | null = null;
  /** Portable mode: git's index, which every pull, merge and checkout rewrites. */
  private gitWatcher: FSWatcher | null = null;
  private sessionsWatch: NodeWatcher | null = null;
  /** Session folders present (as last seen), to tell an added folder from a removed one. */
  private readonly present = new Set<string>();
  private readonly known = new Map<string, string>();
  /** The closely watched session folders, oldest first, each with its own watch. */
  private readonly close = new Map<string, NodeWatcher>();

  constructor(
    private readonly paths: RepoPaths,
    private readonly on: WatcherEvents,
  ) {}

  async start(): Promise<void> {
    const { root, workflowYaml, sessionsDir } = this.paths;
    // workflow.yaml is watched through its folder (depth 0, every other name ignored): a watch on
    // the file itself loses track of it after the first change event on Linux, and editors that
    // save by rename replace the file anyway.
    this.watchSessionsFolder(sessionsDir);
    this.watcher = watch([root], {
      ignoreInitial: true,
      depth: 0,
      atomic: false,
      ignored: (p: string) => p !== root && p !== workflowYaml,
    });
    this.watcher.on('all', (_event, path) => {
      if (path === workflowYaml) this.withTrailingCheck(() => this.on.workflowFile());
    });
    this.watcher.on('error', () => undefined);
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  /**
   * Calls `onChange` whenever git rewrites its index (a pull, merge, checkout, reset): portable
   * mode's sessions can change through git in folders nobody watches closely. Watched through its
   * folder (depth 0, every other name ignored), since git replaces the file by a rename.
   */
  async watchGitIndex(indexPath: string, onChange: () => void): Promise<void> {
    if (this.gitWatcher || !this.watcher) return;
    const dir = dirname(indexPath);
    const w = watch(dir, { ignoreInitial: true, depth: 0, atomic: false, ignored: (p: string) => p !== dir && p !== indexPath });
    this.gitWatcher = w;
    w.on('all', (_event, path) => {
      if (path === indexPath) onChange();
    });
    w.on('error', () => undefined);
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  }

  private watchSessionsFolder(dir: string): void {
    try {
      this.sessionsWatch = fsWatch(dir, { persistent: false }, (_event, name) => {
        if (typeof name === 'string' && isSessionId(name)) this.sessionEntry(name);
      });
      this.sessionsWatch.on('error', () => undefined);
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory() && isSessionId(e.name)) this.present.add(e.name);
    } catch {
      // no sessions folder (yet): the session index still finds new folders by listing
    }
  }

  /** Something happened to `sessions/<id>`: a folder that appeared or went away is reported. */
  private sessionEntry(id: string): void {
    let isDir = false;
    try {
      isDir = statSync(join(this.paths.sessionsDir, id)).isDirectory();
    } catch {
      isDir = false;
    }
    if (isDir && !this.present.has(id)) {
      this.present.add(id);
      this.on.sessionAdded(id);
    } else if (!isDir && this.present.delete(id)) {
      this.unwatchClosely(id);
      this.known.delete(id);
      this.on.sessionRemoved(id);
    }
  }

  /** Records the daemon's own write of a session's state so its event is not taken as external. */
  noteOwnWrite(sessionId: string): void {
    this.known.set(sessionId, signature(join(this.paths.sessionsDir, sessionId, 'state.json')));
    this.watchClosely(sessionId);
  }

  /**
   * Watches a session's folder (its state.json) from now on. A folder that is not there, or is a
   * link (never followed: protocol/node/safe-fs.ts refuses it where it is read), is not watched.
   */
  watchClosely(sessionId: string): void {
    if (!this.watcher || this.close.has(sessionId) || !isSessionId(sessionId)) return;
    const dir = join(this.paths.sessionsDir, sessionId);
    let w: NodeWatcher;
    try {
      if (!lstatSync(dir).isDirectory()) return;
      w = fsWatch(dir, { persistent: false }, (_event, name) => {
        // Every event is delivered (no throttle as in chokidar), so no trailing look is needed.
        if (name === 'state.json') this.on.stateTouched(sessionId);
      });
    } catch {
      return;
    }
    // The folder removed: its watch ends; the sessions folder's watch reports the removal.
    w.on('error', () => this.unwatchClosely(sessionId));
    if (this.close.size >= MAX_CLOSE_WATCHES) this.unwatchClosely(this.close.keys().next().value as string);
    this.close.set(sessionId, w);
  }

  private unwatchClosely(sessionId: string): void {
    const w = this.close.get(sessionId);
    if (!w) return;
    this.close.delete(sessionId);
    w.close();
  }

  /**
   * chokidar drops (does not delay) a second change of a path within 50 ms of the first, so a
   * quick second edit would go unreported; look again once that window has passed. Handlers
   * compare file signatures, so an unchanged file is not reported twice.
   */
  private withTrailingCheck(fn: () => void): void {
    fn();
    setTimeout(fn, TRAILING_CHECK_MS).unref();
  }

  /** The (mtime, size, inode) of a file, for change detection. */
  static signature(path: string): string {
    return signature(path);
  }

  /**
   * True when session `id`'s state.json is not as the daemon last wrote it (and records it, so one
   * outside edit is reported once). Call it when no write of that session is in progress: an event
   * can arrive while the daemon is between its rename and its bookkeeping.
   */
  isExternal(id: string): boolean {
    const now = signature(join(this.paths.sessionsDir, id, 'state.json'));
    if (now === 'missing' || this.known.get(id) === now) return false;
    this.known.set(id, now);
    return true;
  }

  async stop(): Promise<void> {
    await this.gitWatcher?.close();
    this.gitWatcher = null;
    this.sessionsWatch?.close();
    this.sessionsWatch = null;
    for (const id of [...this.close.keys()]) this.unwatchClosely(id);
    await this.watcher?.close();
    this.watcher = null;
  }
}
