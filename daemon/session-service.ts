/**
 * Session-level operations behind the `session/*` requests: start, status, list, show, switch.
 * Mutations run under the session's mutex (and the repo mutex for `current` and meta.json);
 * reads take no lock and rely on atomic renames.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import { isInside } from '../protocol/paths.js';
import type {
  SessionStartParams,
  SessionStartResult,
  SessionStatusResult,
} from '../protocol/session.js';
import { REPO_LOCK, type DaemonContext } from './context.js';
import { createInitialState, initialEvents } from './engine/state-factory.js';
import { buildStatusView } from './engine/status-view.js';
import { loadDefaultWorkflow, loadWorkflowFile, workflowFileChecksum } from './engine/workflow-loader.js';
import type { WorkflowDef } from './engine/types.js';
import { OrchError } from './errors.js';
import { newWorkflowId } from './ids.js';
import { adoptedSessionId, legacyIgnoredWarning, legacyStatus } from './legacy/legacy-view.js';
import { ensureRepoMeta } from './repo-meta.js';
import { reconcileUnlocked } from './log-reconcile.js';
import { loadSessionState, saveSessionState } from './state-io.js';

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
    if (c.length > MAX_CONSTRAINT) {
      throw new OrchError('InvalidArgument', `A constraint is ${c.length} characters; each may have at most ${MAX_CONSTRAINT}.`);
    }
  }
}

export async function startSession(ctx: DaemonContext, p: SessionStartParams): Promise<SessionStartResult> {
  checkStartParams(p);
  const wf = await resolveWorkflow(ctx, p.workflow);
  return ctx.locks.runExclusive(REPO_LOCK, async () => {
    const { warnings: metaWarnings } = await ensureRepoMeta(ctx.paths, p.portable);
    const sessionId = await ctx.store.create();
    const state = createInitialState(wf.def, {
      task: p.task.trim(),
      project: p.project ?? null,
      constraints: p.constraints ?? [],
      workflowYamlPath: wf.path,
      workflowYamlChecksum: wf.checksum,
      workflowId: newWorkflowId(),
    });
    try {
      await ctx.locks.runExclusive(sessionId, () => saveSessionState(ctx.store, sessionId, state, initialEvents(state)));
    } catch (err) {
      // A session folder without its state would be listed as `unknown`: a failed start leaves none.
      await ctx.store.remove(sessionId).catch((e: unknown) => ctx.log.warn({ err: e, session: sessionId }, 'could not remove a half-made session'));
      throw err;
    }
    ctx.events.emit('sessionCreated', { sessionId });
    await setCurrent(ctx, sessionId);
    ctx.log.info({ session: sessionId, workflow: wf.path ?? 'bundled' }, 'session started');
    const legacyWarning = await legacyIgnoredWarning(ctx, sessionId);
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

/**
 * Makes `id` the repo's current session and announces the switch; returns the session that was
 * current before. Callers hold the repo mutex.
 */
export async function setCurrent(ctx: DaemonContext, id: string): Promise<string | null> {
  const previous = await ctx.store.readCurrent();
  if (previous === id) return previous;
  await ctx.store.writeCurrent(id);
  ctx.events.emit('currentSwitched', { sessionId: id, previous });
  return previous;
}

/**
 * The session a request is about: the explicit id, else `current`, else the session the legacy
 * files were adopted into (when `current` was lost). Returns null when there is no session at
 * all; fails when an explicit id, or the one `current` names, does not exist.
 */
export async function resolveSession(ctx: DaemonContext, explicit: string | undefined): Promise<string | null> {
  if (explicit !== undefined) {
    if (!(await ctx.store.exists(explicit))) {
      throw new OrchError('SessionNotFound', `There is no session ${explicit} in this repository; orch sessions lists them.`, {
        sessionId: explicit,
      });
    }
    return explicit;
  }
  const current = await ctx.store.readCurrent();
  if (current === null) return adoptedSessionId(ctx);
  if (!(await ctx.store.exists(current))) {
    throw new OrchError(
      'SessionNotFound',
      `The current session ${current} no longer exists (its folder under .orchestrator/sessions/ is gone); pick another with orch sessions switch <id>, or run orch start.`,
      { sessionId: current },
    );
  }
  return current;
}

export async function sessionStatus(ctx: DaemonContext, explicit: string | undefined): Promise<SessionStatusResult> {
  // No session at all: the legacy workflow itself, if there is one.
  const id = await resolveSession(ctx, explicit);
  if (id === null) {
    return (await legacyStatus(ctx)) ?? { active: false, reason: 'No workflow has been started in this repository.', warnings: [] };
  }
  const legacyWarning = await legacyIgnoredWarning(ctx, id);
  const warnings = legacyWarning ? [legacyWarning] : [];
  const reconciled = await reconcileUnlocked(ctx, id, async () => (await loadSessionState(ctx.store, ctx.paths.root, id))?.state ?? null);
  if (reconciled) warnings.push(reconciled);
  const loaded = await loadSessionState(ctx.store, ctx.paths.root, id);
  if (loaded === null) {
    return { active: false, reason: `Session ${id} has no workflow state yet (state.json is missing).`, warnings };
  }
  return buildStatusView(loaded.state, loaded.def, { sessionId: id, source: 'session', warnings: [...loaded.warnings, ...warnings] });
}

