/**
 * Session-level operations behind the `session/*` requests: start, status, list, show, switch.
 * Mutations run under the session's mutex (and the repo mutex for `current` and meta.json);
 * reads take no lock and rely on atomic renames.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import { isInside } from '../../protocol/node/paths.js';
import type {
  SessionListParams,
  SessionListResult,
  SessionShowParams,
  SessionShowResult,
  SessionStartParams,
  SessionStartResult,
  SessionStatusParams,
  SessionStatusResult,
  SessionSwitchParams,
  SessionSwitchResult,
  WorkflowStatusView,
} from '../../protocol/session.js';
import type { DaemonContext } from '../context.js';
import { createInitialState, initialEvents } from '../engine/state-factory.js';
import { loadDefaultWorkflow, loadWorkflowFile, workflowFileChecksum } from '../engine/workflow-loader.js';
import type { WorkflowDef } from '../engine/types.js';
import { OrchError } from '../errors.js';
import { LEGACY_ENTRY_ID } from '../legacy/legacy-source.js';
import { REPO_LOCK } from '../runtime/keyed-mutex.js';
import { newWorkflowId } from '../store/ids.js';
import { ensureRepoMeta } from '../store/repo-meta.js';
import { phaseStartKey, staleItems, verifyAction } from '../engine/evidence.js';
import { writeCurrent } from './current.js';
import { currentTreeFor, recordedTrees, takeFingerprint, unboundWarning } from './evidence.js';
import { openForRead } from './session-records.js';

const MAX_TASK = 2000;
const MAX_CONSTRAINT = 1000;

interface ResolvedWorkflow {
  def: WorkflowDef;
  warnings: string[];
  path: string | null;
  checksum: string | null;
}

/** Resolves a client-supplied workflow path; it must exist inside the repository. */
export async function resolveWorkflowFile(ctx: DaemonContext, requested: string): Promise<string> {
  if (!isAbsolute(requested)) {
    throw new OrchError('InvalidArgument', `The workflow path ${requested} must be absolute; the orch client resolves it for you.`);
  }
  if (!existsSync(requested)) {
    throw new OrchError('WorkflowNotFound', `Workflow file ${requested} does not exist; check the --workflow path.`, { file: requested });
  }
  const real = await realpath(requested);
  if (!isInside(ctx.paths.root, real)) {
    throw new OrchError('PathOutsideRepo', `Workflow file ${requested} is outside the repository ${ctx.paths.root}; copy it into the repository first.`, {
      file: requested,
    });
  }
  if (statSync(real).isDirectory()) {
    throw new OrchError('InvalidArgument', `${requested} is a folder, not a workflow file; name the YAML file itself, e.g. --workflow ${requested.replace(/\/$/, '')}/workflow.yaml.`, {
      file: requested,
    });
  }
  return real;
}

async function resolveWorkflow(ctx: DaemonContext, requested: string | undefined): Promise<ResolvedWorkflow> {
  let file: string | null = null;
  if (requested !== undefined) file = await resolveWorkflowFile(ctx, requested);
  else if (existsSync(ctx.paths.workflowYaml)) file = await resolveWorkflowFile(ctx, ctx.paths.workflowYaml);
  if (file === null) {
    const { def, warnings } = loadDefaultWorkflow();
    return { def, warnings, path: null, checksum: null };
  }
  const { def, warnings } = await loadWorkflowFile(file);
  return { def, warnings, path: file, checksum: workflowFileChecksum(await readFile(file)) };
}

function checkStartParams(p: SessionStartParams): void {
  if (typeof p.task !== 'string' || p.task.trim() === '') {
    throw new OrchError('InvalidArgument', 'The task must be a non-empty description, e.g. orch start "Add rate limiting".');
  }
  if (p.task.length > MAX_TASK) throw new OrchError('InvalidArgument', `The task is ${p.task.length} characters; the limit is ${MAX_TASK}.`);
  for (const c of p.constraints ?? []) {
    if (typeof c !== 'string' || c.trim() === '') {
      throw new OrchError('InvalidArgument', 'A constraint is empty; give each -c a rule for the work, e.g. -c "No new runtime dependencies".');
    }
    if (c.length > MAX_CONSTRAINT) {
      throw new OrchError('InvalidArgument', `A constraint is ${c.length} characters; each may have at most ${MAX_CONSTRAINT}.`);
    }
  }
}

export async function startSession(ctx: DaemonContext, p: SessionStartParams): Promise<SessionStartResult> {
  checkStartParams(p);
  const wf = await resolveWorkflow(ctx, p.workflow);
  // The tree the first phase starts on, for its `expect_changes` items (taken before any lock).
  const first = wf.def.phases[0];
  const start = first?.items.some((i) => (i.expect_changes ?? []).length > 0) ? await takeFingerprint(ctx, wf.def) : null;
  return ctx.locks.runExclusive(REPO_LOCK, async () => {
    const { meta, warnings: metaWarnings } = await ensureRepoMeta(ctx.paths, p.portable);
    if (meta.mode === 'portable') await ctx.live?.enablePortable();
    const sessionId = await ctx.store.create();
    const state = createInitialState(wf.def, {
      task: p.task.trim(),
      project: p.project ?? null,
      constraints: p.constraints ?? [],
      workflowYamlPath: wf.path,
      workflowYamlChecksum: wf.checksum,
      workflowId: newWorkflowId(),
    });
    if (start !== null && first !== undefined) state.metadata[phaseStartKey(first.id)] = { ...start.evidence };
    try {
      await ctx.locks.runExclusive(sessionId, () => ctx.states.save(sessionId, state, initialEvents(state)));
    } catch (err) {
      // A session folder without its state would be listed as `unknown`: a failed start leaves none.
      await ctx.store.remove(sessionId).catch((e: unknown) => ctx.log.warn({ err: e, session: sessionId }, 'could not remove a half-made session'));
      throw err;
    }
    ctx.events.emit('sessionCreated', { sessionId });
    await writeCurrent(ctx.store, ctx.events, sessionId);
    ctx.log.info({ session: sessionId, workflow: wf.path ?? 'bundled' }, 'session started');
    const legacyWarning = await ctx.legacy.ignoredWarning(sessionId);
    return {
      sessionId,
      workflowId: state.workflow_id,
      task: state.task_description,
      phase: state.current_phase_id,
      workflowSource: wf.path ? relative(ctx.paths.root, wf.path) || wf.path : 'bundled',
      warnings: [...wf.warnings, ...metaWarnings, ...(legacyWarning ? [legacyWarning] : [])],
    };
  });
}

/** `session/status`: the session's status, the legacy workflow's, or why there is none. */
export async function sessionStatus(ctx: DaemonContext, p: SessionStatusParams): Promise<SessionStatusResult> {
  const records = await openForRead(ctx, p.sessionId);
  const result = await records.status();
  if (records.source !== 'session' || records.sessionId === null || !('items' in result)) return result;
  return markFreshness(ctx, records.sessionId, result);
}

/**
 * Says for each passed check of the current phase whether the working tree is still the one it
 * ran on (a fingerprint, taken only when such a check exists, with no lock held); when one is
 * stale, NEXT_ACTION becomes `orch verify <items>` instead of an advance that would be refused.
 */
async function markFreshness(ctx: DaemonContext, id: string, view: WorkflowStatusView): Promise<WorkflowStatusView> {
  if (!view.items.some((i) => i.evidence?.method === 'git-tree')) return view;
  const loaded = await ctx.states.load(id);
  if (loaded === null) return view;
  const { tree, fp } = await currentTreeFor(ctx, loaded.def, recordedTrees(loaded.state, loaded.def));
  if (fp.evidence.method !== 'git-tree') return { ...view, warnings: [...view.warnings, unboundWarning(fp) ?? ''] };
  const stale = staleItems(loaded.state, loaded.def, tree);
  const items = view.items.map((i) =>
    i.evidence?.method === 'git-tree' ? { ...i, evidence: { ...i.evidence, fresh: i.evidence.tree === fp.evidence.tree } } : i,
  );
  const redirect = stale.length > 0 && (view.nextAction === 'orch advance' || view.nextAction === 'orch finish');
  return { ...view, items, ...(redirect ? { nextAction: verifyAction(stale) } : {}) };
}

/** `session/list`: sessions newest first (a page, or every one), with the legacy workflow's row while it is not adopted. */
export async function listSessions(ctx: DaemonContext, p: SessionListParams): Promise<SessionListResult> {
  const current = await ctx.store.readCurrent();
  const legacy = await ctx.legacy.listEntry(current);
  const page = await ctx.index.list(current, legacy ? [legacy] : [], p);
  if (page === undefined) {
    throw new OrchError('SessionNotFound', `Session ${p.after} is no longer listed, so there is no page after it; run orch sessions again.`, {
      sessionId: p.after ?? null,
    });
  }
  return { ...page, current };
}

function sessionNotFound(id: string): OrchError {
  return new OrchError('SessionNotFound', `There is no session ${id} in this repository; orch sessions lists them.`, { sessionId: id });
}

/** `session/show`: one session's row with its folder and repo root (or the legacy workflow's). */
export async function showSession(ctx: DaemonContext, p: SessionShowParams): Promise<SessionShowResult> {
  const id = p.sessionId;
  const current = await ctx.store.readCurrent();
  if (id === LEGACY_ENTRY_ID) return { session: await ctx.legacy.show(current) };
  if (!(await ctx.store.exists(id))) throw sessionNotFound(id);
  const s = await ctx.index.summary(id);
  return {
    session: { ...ctx.index.toEntry(id, s, current), path: ctx.store.pathsFor(id).dir, repoRoot: s.repoRoot, workflowId: s.workflowId },
  };
}

/** `session/switch`: makes a session the repo's `current`. */
export async function switchSession(ctx: DaemonContext, p: SessionSwitchParams): Promise<SessionSwitchResult> {
  const id = p.sessionId;
  if (id === LEGACY_ENTRY_ID) ctx.legacy.refuseSwitch();
  return ctx.locks.runExclusive(REPO_LOCK, async () => {
    if (!(await ctx.store.exists(id))) throw sessionNotFound(id);
    const previous = await writeCurrent(ctx.store, ctx.events, id);
    ctx.log.info({ session: id, previous }, 'current session switched');
    return { sessionId: id, previous };
  });
}
