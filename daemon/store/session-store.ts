/**
 * Session files under `.orchestrator/sessions/<id>/`. Every path is built through
 * protocol/paths.ts, which refuses anything but a session id, so no caller can escape the
 * sessions folder. Writes are durable (durable-write.ts); callers serialise them per session.
 */
import { constants, readFileSync, statSync, type BigIntStats } from 'node:fs';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { ensureSessionDirs, isSessionId, sessionPaths, type RepoPaths, type SessionPaths } from '../../protocol/node/paths.js';
import { appendLines, writeCache, writeDurable } from './durable-write.js';
import { OrchError } from '../errors.js';
import { newSessionId } from './ids.js';
import { SmallFiles } from './small-files.js';
import { pythonDumps } from '../engine/pyjson.js';
import type { LogEvent } from '../engine/types.js';
import { assertNoLinksDir, openNoFollow, readFileNoFollow, readFileNoFollowSync } from '../../protocol/node/safe-fs.js';
import { isPortable } from './repo-meta.js';
import { splitConflict } from './session-conflict.js';

export interface SessionMeta {
  session_id: string;
  created_at: string;
  repo_root: string;
  [key: string]: unknown;
}

/** Naive local time with microseconds, as the Python tool writes session `created_at`. */
function naiveLocalNow(): string {
  const d = new Date();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}000`
  );
}

export class SessionStore {
  /** `current` and the meta.json files, read on every request: one lstat when unchanged. */
  private readonly small = new SmallFiles();
  private readonly pathsById = new Map<string, SessionPaths>();

  constructor(private readonly paths: RepoPaths) {}

  /** A small file under `.orchestrator/` (e.g. meta.json), through the cache of unchanged files. */
  readSmall(path: string): string {
    return this.small.read(path);
  }

  /**
   * The `repo_root` a session's meta.json records: the absolute root in normal mode; in portable
   * mode `.` (as the Python tool often wrote it), since the file is shared with every clone.
   */
  private sessionRepoRoot(): string {
    return isPortable(this.paths, (p) => this.small.read(p)) ? '.' : this.paths.root;
  }

  /** Paths for a session id from anywhere (a client, `current`); refuses non-ids with InvalidSessionId. */
  pathsFor(id: string): SessionPaths {
    if (!isSessionId(id)) {
      throw new OrchError(
        'InvalidSessionId',
        `${JSON.stringify(id)} is not a session id; session ids are 8 lowercase hex characters, as listed by orch sessions.`,
        { sessionId: String(id).slice(0, 100) },
      );
    }
    let sp = this.pathsById.get(id);
    if (sp === undefined) {
      // Asked on every request (nine path joins): kept per id, up to a bound.
      if (this.pathsById.size >= 1024) this.pathsById.clear();
      sp = sessionPaths(this.paths, id);
      this.pathsById.set(id, sp);
    }
    return sp;
  }

  /** Creates a new session folder (exclusively, retrying on an id collision) and its meta.json. */
  async create(): Promise<string> {
    ensureSessionDirs(this.paths);
    for (let attempt = 0; attempt < 20; attempt++) {
      const id = newSessionId();
      const sp = sessionPaths(this.paths, id);
      try {
        await mkdir(sp.dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      try {
        ensureSessionDirs(this.paths, sp);
        const meta: SessionMeta = { session_id: id, created_at: naiveLocalNow(), repo_root: this.sessionRepoRoot() };
        await writeDurable(sp.meta, JSON.stringify(meta, null, 2));
      } catch (err) {
        // A folder without its files would be listed as an `unknown` session: take it back.
        await this.remove(id).catch(() => undefined);
        throw err;
      }
      return id;
    }
    throw new OrchError('Internal', 'Could not find a free session id after 20 attempts.');
  }

  /** Removes a session folder this daemon just created (a start that failed half-way). */
  async remove(id: string): Promise<void> {
    const dir = this.pathsFor(id).dir;
    assertNoLinksDir(dir);
    await rm(dir, { recursive: true, force: true });
  }

  // exists() and readCurrent() run on every request: synchronous calls on a directory entry and a
  // 9-byte file cost microseconds, where the thread pool's round trip costs tens.
  async exists(id: string): Promise<boolean> {
    try {
      return statSync(this.pathsFor(id).dir).isDirectory();
    } catch (err) {
      if (err instanceof OrchError) throw err;
      return false;
    }
  }

  /** The `current` session id, or null when there is none or the file holds no valid id. */
  async readCurrent(): Promise<string | null> {
    try {
      const id = this.small.read(this.paths.current).trim();
      return isSessionId(id) ? id : null;
    } catch (err) {
      // A planted link is refused, not read as "no current session".
      if ((err as { errorName?: string }).errorName === 'UnsafePath') throw err;
      return null;
    }
  }

  async writeCurrent(id: string): Promise<void> {
    this.pathsFor(id);
    await writeDurable(this.paths.current, id);
  }

  /** Ids of the session folders (directories only; anything else under sessions/ is ignored). */
  async listIds(): Promise<string[]> {
    try {
      const entries = await readdir(this.paths.sessionsDir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && isSessionId(e.name)).map((e) => e.name);
    } catch {
      return [];
    }
  }

  /**
   * A session's meta.json, parsed. `remember: false` reads it without keeping its text among the
   * small files (the session index reading thousands of finished sessions once).
   */
  async readMeta(id: string, opts: { remember?: boolean } = {}): Promise<SessionMeta | null> {
    try {
      const path = this.pathsFor(id).meta;
      let text = opts.remember === false ? readFileNoFollowSync(path) : this.small.read(path);
      // Changed in two clones (portable mode): read our side until the session is resolved, so
      // its created_at is not lost to a rebuilt file.
      const sides = splitConflict(text);
      if (sides) text = sides.ours;
      const parsed = JSON.parse(text) as SessionMeta;
      return typeof parsed === 'object' && parsed !== null ? parsed : null;
    } catch (err) {
      if (err instanceof OrchError || (err as { errorName?: string }).errorName === 'UnsafePath') throw err;
      return null;
    }
  }

  /**
   * Merges `fields` into the session's meta.json (read-modify-write: callers hold the session's
   * mutex). `durable: false` skips fsync, for caches such as the list summary, which is validated
   * against state.json whenever it is read.
   */
  async updateMeta(id: string, fields: Record<string, unknown>, opts: { durable: boolean }): Promise<void> {
    const meta = (await this.readMeta(id)) ?? { session_id: id, created_at: naiveLocalNow(), repo_root: this.sessionRepoRoot() };
    const text = JSON.stringify({ ...meta, ...fields }, null, 2);
    const path = this.pathsFor(id).meta;
    await (opts.durable ? writeDurable(path, text) : writeCache(path, text));
  }

  /** How many times a state.json was read from disk (tests count re-reads through it). */
  stateReads = 0;

  /** state.json's text and the identity of the very file read; null when the session has none yet. */
  async readStateFile(id: string): Promise<{ text: string; stat: BigIntStats } | null> {
    let handle;
    try {
      // Never through a link: a state.json (or a session folder) planted as one is refused.
      handle = await openNoFollow(this.pathsFor(id).state, constants.O_RDONLY);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      this.stateReads += 1;
      const st = await handle.stat({ bigint: true });
      return { text: await handle.readFile('utf8'), stat: st };
    } finally {
      await handle.close();
    }
  }

  /** The raw text of state.json, or null when the session has none yet. */
  async readStateText(id: string): Promise<string | null> {
    try {
      return await readFileNoFollow(this.pathsFor(id).state);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async writeStateText(id: string, text: string | Buffer): Promise<void> {
    await writeDurable(this.pathsFor(id).state, text);
  }

  /** Appends events to the session's log.jsonl, one whole line per event. */
  async appendEvents(id: string, events: LogEvent[]): Promise<void> {
    await appendLines(this.pathsFor(id).log, events.map((e) => pythonDumps(e)));
  }
}
