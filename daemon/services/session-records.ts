/**
 * Which session a request is about, and that session as reads see it. This is the one place
 * (with listing, services/sessions.ts) that consults the older Python tool's files: while no
 * session is current, the legacy workflow is a read-only session like any other; the first change
 * adopts it into a real one (legacy/adopt.ts); a session adopted from it shows the legacy history
 * before its own. Services ask for a {@link SessionRecords} and never branch on where it came from.
 */
import type { FeedbackEntry, FeedbackKind } from '../../protocol/feedback.js';
import { FEEDBACK_FILE_NAMES, FEEDBACK_KINDS } from '../../protocol/feedback.js';
import { SESSION_LIST_PAGE, type SessionStatusResult, type StateSource } from '../../protocol/session.js';
import type { CheckpointSummary, LogEventView } from '../../protocol/workflow.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonContext } from '../context.js';
import { REPO_LOCK } from '../runtime/keyed-mutex.js';
import { buildStatusView } from '../engine/status-view.js';
import { OrchError } from '../errors.js';
import { feedbackEntries } from '../legacy/legacy-records.js';
import { readCheckpoints, summaryOf } from '../store/checkpoint-files.js';
import { tailEvents } from '../store/log-tail.js';
import { quarantinedCopy } from '../store/quarantine.js';
import { isPortable, repoWarnings } from '../store/repo-meta.js';
import type { LoadedState } from '../store/state-file.js';
import { writeCurrent } from './current.js';
import { reconcileLocked, reconcileUnlocked } from './log-reconcile.js';

/** A session as reads see it. */
export interface SessionRecords {
  /** The session id; null for the legacy workflow and when there is no session. */
  readonly sessionId: string | null;
  readonly source: StateSource;
  status(): Promise<SessionStatusResult>;
  /** The last `limit` events, oldest first. */
  events(limit: number): Promise<{ events: LogEventView[]; skippedLines: number; warnings?: string[] }>;
  /** Checkpoints, oldest first, and one warning per unreadable file. */
  checkpoints(): Promise<{ checkpoints: CheckpointSummary[]; warnings: string[] }>;
  /** Feedback records of the given kinds (the legacy root files' first, as the old tool kept them there). */
  feedback(kind: FeedbackKind | undefined): Promise<{ entries: FeedbackEntry[]; skipped: number }>;
}

function sessionNotFound(id: string): OrchError {
  return new OrchError('SessionNotFound', `There is no session ${id} in this repository; orch sessions lists them.`, { sessionId: id });
}

/**
 * The session a request is about: the explicit id, else `current`, else the session the legacy
 * files were adopted into (when `current` was lost). Returns null when there is no session at
 * all; fails when an explicit id, or the one `current` names, does not exist.
 */
export async function resolveSession(ctx: DaemonContext, explicit: string | undefined): Promise<string | null> {
  if (explicit !== undefined) {
    if (!(await ctx.store.exists(explicit))) throw sessionNotFound(explicit);
    return explicit;
  }
  const current = await ctx.store.readCurrent();
  if (current === null) return (await ctx.legacy.adoptedSessionId()) ?? (await refuseLostCurrent(ctx));
  if (!(await ctx.store.exists(current))) {
    throw new OrchError(
      'SessionNotFound',
      `The current session ${current} no longer exists (its folder under .orchestrator/sessions/ is gone); pick another with orch sessions switch <id>, or run orch start.`,
      { sessionId: current },
    );
  }
  return current;
}

/**
 * `current` is missing or holds no session id while sessions exist: that is not "no workflow has
 * been started". Fails naming the problem and the newest session to switch to; returns null when
 * there are no sessions at all.
 */
async function refuseLostCurrent(ctx: DaemonContext): Promise<null> {
  const ids = await ctx.store.listIds();
  if (ids.length === 0) return null;
  const created = await Promise.all(ids.map(async (id) => ({ id, at: (await ctx.store.readMeta(id).catch(() => null))?.created_at ?? '' })));
  created.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.id.localeCompare(b.id)));
  const newest = created[0]!.id;
  const listed = ids.length <= 5 ? ` (${created.map((c) => c.id).join(', ')})` : '';
  if (noCurrentInThisCheckout(ctx)) {
    throw new OrchError(
      'NoActiveWorkflow',
      `No session is current in this checkout (each clone picks its own: .orchestrator/current is never shared through git), and there are ${ids.length} session(s)${listed}; ` +
        `pick one with orch sessions switch ${newest} (the newest; orch sessions lists them all), pass --session <id>, or start a new one with orch start "<task>".`,
      { sessions: created.map((c) => c.id).slice(0, 20), newest },
    );
  }
  const what = existsSync(ctx.paths.current) ? 'holds no valid session id' : 'is missing';
  throw new OrchError(
    'SessionNotFound',
    `.orchestrator/current ${what}, so orch does not know which of the ${ids.length} session(s)${listed} to use; ` +
      `pick one with orch sessions switch ${newest} (the newest; orch sessions lists them all), or pass --session <id>.`,
    { sessions: created.map((c) => c.id).slice(0, 20), newest },
  );
}

/**
 * The session a change applies to; fails when there is none. With no session current and the
 * older Python tool's workflow present, this is where the first change adopts it.
 */
export async function requireSession(ctx: DaemonContext, explicit: string | undefined): Promise<string> {
  const resolved = await resolveSession(ctx, explicit);
  // A change through the adopted session when `current` was lost makes it current again.
  if (resolved !== null && explicit === undefined && (await ctx.store.readCurrent()) === null) {
    await ctx.locks.runExclusive(REPO_LOCK, () => writeCurrent(ctx.store, ctx.events, resolved));
  }
  const id = resolved ?? (await ctx.legacy.adoptForChange());
  if (id === null) {
    throw new OrchError('NoActiveWorkflow', 'No workflow has been started in this repository; start one with orch start "<task>".');
  }
  return id;
}

/** Loads a session's state or fails with NoActiveWorkflow when it has none. */
export async function requireState(ctx: DaemonContext, id: string): Promise<LoadedState> {
  const loaded = await ctx.states.load(id);
  if (!loaded) {
    const movedTo = await quarantinedCopy(ctx.store.pathsFor(id).state);
    if (movedTo !== null) {
      throw new OrchError(
        'StateCorrupt',
        `Session ${id} has no workflow state: its state.json was corrupt and was moved aside to ${movedTo}; restore it from there, or start a new session with orch start "<task>".`,
        { sessionId: id, movedTo },
      );
    }
    throw new OrchError('NoActiveWorkflow', `Session ${id} has no workflow state (state.json is missing); start a workflow with orch start "<task>".`, {
      sessionId: id,
    });
  }
  // Callers hold the session's mutex: the first load also sets aside log lines a crash left.
  const warning = await reconcileLocked(ctx, id, loaded.state);
  if (warning) loaded.warnings.push(warning);
  return loaded;
}

/**
 * Portable mode with no `current` file: a fresh clone (or one whose user has not picked yet),
 * not a lost pointer. `current` belongs to one checkout and never comes through git.
 */
function noCurrentInThisCheckout(ctx: DaemonContext): boolean {
  return !existsSync(ctx.paths.current) && isPortable(ctx.paths, (p) => ctx.store.readSmall(p));
}

/** The session a read is about (explicit, current, adopted), the legacy workflow, or the empty repository. */
export async function openForRead(ctx: DaemonContext, explicit: string | undefined): Promise<SessionRecords> {
  if (explicit === undefined && noCurrentInThisCheckout(ctx) && (await ctx.legacy.adoptedSessionId()) === null && (await ctx.store.listIds()).length > 0) {
    return new NoCurrentSession(ctx);
  }
  const id = await resolveSession(ctx, explicit);
  if (id !== null) return new StoredSession(ctx, id, await ctx.legacy.isAdopted(id));
  if (await ctx.legacy.hasState()) return new LegacySession(ctx);
  return new NoSession(ctx);
}

/** Legacy root feedback, then the session's own, as `orch feedback list` has always shown them. */
async function feedbackOf(ctx: DaemonContext, id: string | null, kind: FeedbackKind | undefined) {
  const legacy = await ctx.legacy.feedback(kind);
  if (id === null) return legacy;
  const kinds = FEEDBACK_KINDS.filter((k) => kind === undefined || k === kind);
  const dir = ctx.store.pathsFor(id).feedback;
  const own = await Promise.all(kinds.map((k) => feedbackEntries(ctx.paths, join(dir, FEEDBACK_FILE_NAMES[k]), k, 'session')));
  return { entries: [...legacy.entries, ...own.flatMap((o) => o.entries)], skipped: legacy.skipped + own.reduce((n, o) => n + o.skipped, 0) };
}

/** One of orch's sessions; one adopted from the legacy files shows their history first. */
class StoredSession implements SessionRecords {
  readonly source = 'session' as const;

  constructor(
    private readonly ctx: DaemonContext,
    readonly sessionId: string,
    private readonly adopted: boolean,
  ) {}

  async status(): Promise<SessionStatusResult> {
    const { ctx, sessionId: id } = this;
    const legacyWarning = await ctx.legacy.ignoredWarning(id);
    const warnings = [...(await repoWarnings(ctx)), ...(legacyWarning ? [legacyWarning] : [])];
    const reconciled = await reconcileUnlocked(ctx, id);
    if (reconciled) warnings.push(reconciled);
    const loaded = await ctx.states.load(id);
    if (loaded === null) {
      const movedTo = await quarantinedCopy(ctx.store.pathsFor(id).state);
      if (movedTo !== null) {
        return { active: false, reason: `Session ${id} has no workflow state: its state.json was corrupt and was moved aside to ${movedTo}; restore it from there, or start a new session with orch start.`, warnings };
      }
      return { active: false, reason: `Session ${id} has no workflow state yet (state.json is missing).`, warnings };
    }
    return buildStatusView(loaded.state, loaded.def, { sessionId: id, source: 'session', warnings: [...loaded.warnings, ...warnings] });
  }

  async events(limit: number) {
    // Lines a crash left without their state change are set aside (and named) before reading.
    const reconciled = await reconcileUnlocked(this.ctx, this.sessionId).catch(() => null);
    const warnings = reconciled ? { warnings: [reconciled] } : {};
    const own = await tailEvents(this.ctx.store.pathsFor(this.sessionId).log, limit);
    if (!this.adopted) return { ...own, ...warnings };
    const legacy = await this.ctx.legacy.events(limit);
    const all = [...legacy.events, ...own.events];
    return { events: limit > 0 ? all.slice(-limit) : [], skippedLines: own.skippedLines + legacy.skippedLines, ...warnings };
  }

  async checkpoints() {
    const { ctx } = this;
    const { checkpoints, warnings } = await readCheckpoints(ctx.store.pathsFor(this.sessionId).checkpoints, ctx.paths.root);
    const own = checkpoints.map((c) => summaryOf(c.cp, ctx.paths.root, c.file));
    return { checkpoints: this.adopted ? [...(await ctx.legacy.checkpoints()), ...own] : own, warnings };
  }

  feedback(kind: FeedbackKind | undefined) {
    return feedbackOf(this.ctx, this.sessionId, kind);
  }
}

/** The older Python tool's workflow while no session is current: read-only. */
class LegacySession implements SessionRecords {
  readonly sessionId = null;
  readonly source = 'legacy' as const;

  constructor(private readonly ctx: DaemonContext) {}

  async status(): Promise<SessionStatusResult> {
    return (await this.ctx.legacy.status()) ?? new NoSession(this.ctx).status();
  }

  events(limit: number) {
    return this.ctx.legacy.events(limit);
  }

  async checkpoints() {
    return { checkpoints: await this.ctx.legacy.checkpoints(), warnings: [] };
  }

  feedback(kind: FeedbackKind | undefined) {
    return feedbackOf(this.ctx, null, kind);
  }
}

/** A repository where no workflow was started (the legacy marker may still explain why). */
class NoSession implements SessionRecords {
  readonly sessionId = null;
  readonly source = 'session' as const;

  constructor(protected readonly ctx: DaemonContext) {}

  async status(): Promise<SessionStatusResult> {
    return (await this.ctx.legacy.status()) ?? { active: false, reason: 'No workflow has been started in this repository.', warnings: [] };
  }

  async events() {
    return { events: [], skippedLines: 0 };
  }

  async checkpoints() {
    return { checkpoints: [], warnings: [] };
  }

  feedback(kind: FeedbackKind | undefined) {
    return feedbackOf(this.ctx, null, kind);
  }
}

/** Portable mode: sessions came through git, but this checkout has not picked one yet. */
class NoCurrentSession extends NoSession {
  override async status(): Promise<SessionStatusResult> {
    const { sessions, total } = (await this.ctx.index.list(null, [], { limit: SESSION_LIST_PAGE }))!;
    const newest = sessions.find((s) => s.source === 'session');
    const listed = total > sessions.length ? `the newest ${sessions.length} listed below (orch sessions --all lists every one)` : 'listed below';
    return {
      active: false,
      reason: `No session is current in this checkout (each clone picks its own: .orchestrator/current is never shared through git); ${total} session(s) exist, ${listed}.`,
      warnings: await repoWarnings(this.ctx),
      sessions,
      ...(newest ? { nextAction: `orch sessions switch ${newest.sessionId}` } : {}),
    };
  }
}
