/**
 * Turns what happens into live notifications: the daemon's own changes (from ctx.events, raised
 * after they are on disk) and outside changes (from the watcher). Builds each payload once and
 * hands it to the hub, which fans it out.
 */
import type { SessionChangedEvent } from '../../protocol/events.js';
import type { RepoPaths } from '../../protocol/node/paths.js';
import { buildStatusView } from '../engine/status-view.js';
import { loadWorkflowFile } from '../engine/workflow-loader.js';
import { OrchError } from '../errors.js';
import type { CommittedState, DaemonEvents } from '../events.js';
import type { KeyedMutex } from '../runtime/keyed-mutex.js';
import type { Logger } from '../runtime/logger.js';
import type { SessionIndex } from '../store/session-index.js';
import type { SessionStore } from '../store/session-store.js';
import type { StateFiles } from '../store/state-file.js';
import { LiveHub } from './hub.js';
import { RepoWatcher } from './watcher.js';
import { join } from 'node:path';
import { gitIndexPath } from '../store/git-dir.js';
import { isPortable } from '../store/repo-meta.js';

/** What live updates need of the daemon: a narrow slice of its context (no import of context.ts). */
export interface LiveDeps {
  readonly paths: RepoPaths;
  readonly log: Logger;
  readonly store: SessionStore;
  readonly states: StateFiles;
  readonly index: SessionIndex;
  readonly events: DaemonEvents;
  readonly locks: KeyedMutex;
}

/** How long an added session folder may wait for the daemon's own announcement before it counts as external. */
const OWN_CREATE_GRACE_MS = 300;
/** A pull rewrites git's index several times in a row: look once they settle. */
const GIT_SETTLE_MS = 150;

export class LiveService {
  readonly hub: LiveHub;
  readonly watcher: RepoWatcher;
  private readonly ownCreated = new Set<string>();
  /** Sessions already announced as created (by the folder watch or a rescan), so none is announced twice. */
  private readonly announced = new Set<string>();
  /** Portable mode: each session's state.json signature when last looked at, to find what a pull changed. */
  private readonly seen = new Map<string, string>();
  private portable = false;
  private rescanTimer: NodeJS.Timeout | null = null;
  private rescanning: Promise<void> = Promise.resolve();
  /** Signature of workflow.yaml when last validated (set at start, so the first edit is reported). */
  private workflowSignature = '';

  constructor(private readonly ctx: LiveDeps, maxPending: number) {
    this.hub = new LiveHub(ctx.log, maxPending);
    this.watcher = new RepoWatcher(ctx.paths, {
      workflowFile: () => void this.workflowFileChanged(),
      sessionAdded: (id) => this.sessionAdded(id),
      sessionRemoved: (id) => ctx.events.emit('sessionRemoved', { sessionId: id }),
      stateTouched: (id) => void this.stateTouched(id),
    });
  }

  async start(): Promise<void> {
    const { events } = this.ctx;
    events.on('sessionCreated', ({ sessionId }) => {
      this.ownCreated.add(sessionId);
      this.announced.add(sessionId);
      this.watcher.noteOwnWrite(sessionId);
      void this.publishCreated(sessionId);
    });
    events.on('sessionChanged', ({ sessionId, external, committed }) => {
      if (!external) this.watcher.noteOwnWrite(sessionId);
      void this.publishChanged(sessionId, external, committed);
    });
    events.on('sessionRemoved', ({ sessionId }) => {
      this.announced.delete(sessionId);
      this.ctx.log.info({ session: sessionId }, 'session folder removed outside the daemon');
      this.hub.publish({ kind: 'removed', body: { sessionId } });
    });
    events.on('currentSwitched', ({ sessionId, previous }) => {
      if (sessionId) this.watcher.watchClosely(sessionId);
      this.hub.publish({ kind: 'switched', body: { sessionId, previous } });
    });
    this.workflowSignature = RepoWatcher.signature(this.ctx.paths.workflowYaml);
    await this.watcher.start();
    // A `current` planted as a link is refused where a request reads it, not here at start-up.
    const current = await this.ctx.store.readCurrent().catch(() => null);
    if (current) this.watcher.watchClosely(current);
    if (isPortable(this.ctx.paths, (p) => this.ctx.store.readSmall(p))) await this.enablePortable();
  }

  /**
   * Portable mode: sessions also change through git (pull, merge, checkout), anywhere under
   * `sessions/`. Watching every session folder would cost a watch each; instead git's index is
   * watched, and each time it changes every session's state.json is compared (one stat each) with
   * how it was, and what changed is reported as any outside edit is: caches reload (they are keyed
   * by the file), subscribers are told, waiters wake. Idempotent.
   */
  async enablePortable(): Promise<void> {
    if (this.portable) return;
    this.portable = true;
    const index = gitIndexPath(this.ctx.paths.root);
    if (index === null) return;
    await this.rescan(true);
    await this.watcher.watchGitIndex(index, () => this.scheduleRescan());
    this.ctx.log.info({ index }, 'watching git for sessions that arrive or change through a pull or checkout');
  }

  private scheduleRescan(): void {
    if (this.rescanTimer) clearTimeout(this.rescanTimer);
    this.rescanTimer = setTimeout(() => {
      this.rescanTimer = null;
      this.rescanning = this.rescanning.then(() => this.rescan(false)).catch((err: unknown) => this.ctx.log.warn({ err }, 'rescan of sessions after a git change failed'));
    }, GIT_SETTLE_MS);
    this.rescanTimer.unref();
  }

  /** Compares every session's state.json with how it was; `baseline`: only remember (at start). */
  private async rescan(baseline: boolean): Promise<void> {
    const ids = await this.ctx.store.listIds();
    const live = new Set(ids);
    for (const id of this.seen.keys()) if (!live.has(id)) this.seen.delete(id);
    let n = 0;
    for (const id of ids) {
      // Thousands of sessions: let requests in between.
      if (++n % 500 === 0) await new Promise((r) => setImmediate(r));
      const sig = RepoWatcher.signature(join(this.ctx.store.pathsFor(id).dir, 'state.json'));
      const before = this.seen.get(id);
      this.seen.set(id, sig);
      if (baseline) {
        this.announced.add(id);
        continue;
      }
      if (before === undefined) {
        if (this.announced.has(id)) continue;
        this.announced.add(id);
        this.ctx.log.info({ session: id }, 'session arrived through git');
        void this.publishCreated(id);
      } else if (before !== sig) {
        await this.stateTouched(id);
      }
    }
  }

  /** Tells subscribers the daemon is going away, then stops watching. */
  async stop(reason: string): Promise<void> {
    if (this.rescanTimer) clearTimeout(this.rescanTimer);
    this.hub.publish({ kind: 'shutdown', body: { reason } });
    await this.watcher.stop();
  }

  /** Waits out any write of the session in progress, then reports the change if it was not ours. */
  private async stateTouched(id: string): Promise<void> {
    await this.ctx.locks.runExclusive(id, async () => undefined);
    this.ctx.index.invalidate(id);
    if (this.watcher.isExternal(id)) this.ctx.events.emit('sessionChanged', { sessionId: id, external: true });
  }

  private sessionAdded(id: string): void {
    setTimeout(() => {
      if (this.ownCreated.has(id) || this.announced.has(id)) return;
      this.announced.add(id);
      this.ctx.log.info({ session: id }, 'session folder created outside the daemon');
      void this.publishCreated(id);
    }, OWN_CREATE_GRACE_MS).unref();
  }

  private async publishCreated(id: string): Promise<void> {
    if (this.hub.size === 0) return;
    const summary = await this.ctx.index.summary(id);
    const current = await this.ctx.store.readCurrent().catch(() => null);
    this.hub.publish({ kind: 'created', body: { sessionId: id, session: this.ctx.index.toEntry(id, summary, current) } });
  }

  /** A change's notification: from what the commit wrote, or (an outside edit) from the file. */
  private async publishChanged(id: string, external: boolean, committed: CommittedState | undefined): Promise<void> {
    if (external) this.ctx.log.info({ session: id }, 'session state changed outside the daemon');
    if (this.hub.size === 0) return;
    const body: Omit<SessionChangedEvent, 'subscriptionId' | 'seq' | 'at'> = { sessionId: id, status: committed?.status ?? null, external };
    if (committed) {
      this.hub.publish({ kind: 'changed', body });
      return;
    }
    try {
      const loaded = await this.ctx.states.load(id);
      if (loaded) body.status = buildStatusView(loaded.state, loaded.def, { sessionId: id, source: 'session', warnings: loaded.warnings });
    } catch (err) {
      body.error = err instanceof OrchError ? err.message : String(err);
    }
    this.hub.publish({ kind: 'changed', body });
  }

  private async workflowFileChanged(): Promise<void> {
    const file = this.ctx.paths.workflowYaml;
    const sig = RepoWatcher.signature(file);
    if (sig === this.workflowSignature) return;
    this.workflowSignature = sig;
    const body = { file, exists: true, valid: true, errors: [] as string[], warnings: [] as string[] };
    try {
      body.warnings = (await loadWorkflowFile(file)).warnings;
    } catch (err) {
      body.valid = false;
      if (err instanceof OrchError && err.errorName === 'WorkflowNotFound') body.exists = false;
      const listed = err instanceof OrchError ? err.details?.errors : undefined;
      body.errors = Array.isArray(listed) ? listed.map(String) : [err instanceof Error ? err.message : String(err)];
    }
    this.ctx.log.info({ file, valid: body.valid, exists: body.exists }, 'workflow.yaml changed');
    this.hub.publish({ kind: 'workflowFile', body });
  }
}
