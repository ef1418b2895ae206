/**
 * Checkpoints (`<session>/checkpoints/cp_*.json`, reference §2.8): a snapshot of the state plus
 * the decisions and files an agent wants to remember. Written in the Python tool's format
 * (`json.dumps(indent=2)`, no trailing newline), but atomically and durably, and never over an
 * existing checkpoint: the file is linked into place from a synced temp file, so a clashing id
 * fails instead of overwriting, and a crash never leaves half a checkpoint.
 */
import { createHash, randomInt } from 'node:crypto';
import { mkdir, realpath, stat, link, readdir, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isInside } from '../../protocol/node/paths.js';
import type { CheckpointCreateParams, CheckpointCreateResult, CheckpointListParams, CheckpointListResult } from '../../protocol/workflow.js';
import type { DaemonContext } from '../context.js';
import { pythonDumps } from '../engine/pyjson.js';
import { overallProgress } from '../engine/status-view.js';
import { utcOffset } from '../engine/time.js';
import type { Checkpoint, WorkflowState } from '../engine/types.js';
import { OrchError } from '../errors.js';
import { latestCheckpointId, summaryOf, writeExclusiveDurable } from '../store/checkpoint-files.js';
import { detectChangedFiles } from './changed-files.js';
import { openForRead, requireSession, requireState } from './session-records.js';
import { constants } from 'node:fs';
import { assertNoLinks, assertNoLinksDir, mkdirNoFollow, openNoFollow, readFileNoFollow } from '../../protocol/node/safe-fs.js';

const MAX_TEXT = 2000;
const MAX_ENTRIES = 100;

/** `cp_<YYYYmmdd_HHMMSS>_<µs6>_<rand4>_<md5(workflow_id)[:4]>`, from the checkpoint's own timestamp. */
export function checkpointIdFor(timestamp: string, workflowId: string, rand = randomInt(0, 10000)): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})/.exec(timestamp);
  if (!m) throw new Error(`Unexpected timestamp ${timestamp}`);
  const hash = createHash('md5').update(workflowId, 'utf8').digest('hex').slice(0, 4);
  return `cp_${m[1]}${m[2]}${m[3]}_${m[4]}${m[5]}${m[6]}_${m[7]}_${String(rand).padStart(4, '0')}_${hash}`;
}

/** "Task: …; Current Phase: …; Progress: x/y items completed[; Constraints: n active]" over all phases. */
export function contextSummary(state: WorkflowState): string {
  const { completed, total } = overallProgress(state);
  const parts = [`Task: ${state.task_description}`, `Current Phase: ${state.current_phase_id}`, `Progress: ${completed}/${total} items completed`];
  if (state.constraints.length > 0) parts.push(`Constraints: ${state.constraints.length} active`);
  return parts.join('; ');
}

/** The first in-progress item of the current phase (the engine never sets one; kept for the format). */
function inProgressItem(state: WorkflowState): string | null {
  const items = Object.values(state.phases[state.current_phase_id]?.items ?? {});
  return items.find((i) => i.status === 'in_progress')?.id ?? null;
}

/** Where `abs` really is: its realpath, or for a path that does not exist, its nearest existing ancestor's. */
async function realLocation(abs: string): Promise<string> {
  for (let p = abs; ; p = dirname(p)) {
    try {
      return await realpath(p);
    } catch {
      if (dirname(p) === p) return abs;
    }
  }
}

/**
 * A caller's `--file` as a repo-relative path. It must exist and stay inside the repository, also
 * after following links (a link inside pointing outside is refused); a NUL in the name is refused.
 */
async function manifestPath(root: string, file: string): Promise<string> {
  if (typeof file !== 'string' || file === '' || file.includes('\0')) {
    throw new OrchError('InvalidArgument', 'A checkpoint file name is empty or contains a NUL character; name an existing file inside the repository.', {
      file: String(file).replace(/\0/g, '\\0').slice(0, 100),
    });
  }
  const abs = isAbsolute(file) ? resolve(file) : resolve(root, file);
  if (!isInside(root, abs) || !isInside(root, await realLocation(abs))) {
    throw new OrchError('PathOutsideRepo', `The file ${file} is outside the repository ${root}; a checkpoint records only files inside it.`, { file });
  }
  if (!(await stat(abs).then(() => true, () => false))) {
    throw new OrchError('InvalidArgument', `The file ${file} does not exist; a checkpoint records only files that exist (check the path, relative to the current folder).`, {
      file,
    });
  }
  return relative(root, abs).split(sep).join('/') || '.';
}

/** User files first (deduplicated, in order), then detected ones not already listed: Python's order. */
export function mergeManifest(userFiles: string[], detected: string[]): string[] {
  const out: string[] = [];
  for (const f of [...userFiles, ...detected]) if (!out.includes(f)) out.push(f);
  return out;
}

function checkTexts(p: CheckpointCreateParams): void {
  const texts = [p.message ?? '', ...(p.decisions ?? [])];
  const long = texts.find((t) => t.length > MAX_TEXT);
  if (long !== undefined) {
    throw new OrchError('InvalidArgument', `A checkpoint message or decision is ${long.length} characters; the limit is ${MAX_TEXT}.`);
  }
  if ((p.decisions?.length ?? 0) > MAX_ENTRIES || (p.files?.length ?? 0) > MAX_ENTRIES) {
    throw new OrchError('InvalidArgument', `A checkpoint takes at most ${MAX_ENTRIES} decisions and ${MAX_ENTRIES} files.`);
  }
}

/** Creates a checkpoint in the session (default `current`). */
export async function createCheckpoint(ctx: DaemonContext, p: CheckpointCreateParams): Promise<CheckpointCreateResult> {
  checkTexts(p);
  const root = ctx.paths.root;
  const userFiles = await Promise.all((p.files ?? []).map((f) => manifestPath(root, f)));
  const id = await requireSession(ctx, p.sessionId);
  // git runs before the session's mutex is taken: it may take seconds and needs no state.
  const detected = await detectChangedFiles(root);
  const dir = ctx.store.pathsFor(id).checkpoints;
  return ctx.locks.runExclusive(id, async () => {
    const { state } = await requireState(ctx, id);
    // Sessions adopted from elsewhere may lack the folder.
    mkdirNoFollow(dir);
    const previous = await latestCheckpointId(dir);
    for (let attempt = 0; attempt < 20; attempt++) {
      const timestamp = utcOffset();
      const cp: Checkpoint = {
        checkpoint_id: checkpointIdFor(timestamp, state.workflow_id),
        workflow_id: state.workflow_id,
        phase_id: state.current_phase_id,
        item_id: inProgressItem(state),
        timestamp,
        message: p.message ?? null,
        context_summary: contextSummary(state),
        key_decisions: [...(p.decisions ?? [])],
        file_manifest: mergeManifest(userFiles, detected),
        workflow_state_snapshot: state,
        parent_checkpoint_id: previous,
      };
      const file = join(dir, `${cp.checkpoint_id}.json`);
      if (await writeExclusiveDurable(file, pythonDumps(cp, { indent: 2 }))) {
        ctx.log.info({ session: id, checkpoint: cp.checkpoint_id }, 'checkpoint created');
        return { sessionId: id, checkpoint: summaryOf(cp, root, file) };
      }
    }
    throw new OrchError('Internal', 'Could not find a free checkpoint id after 20 attempts.');
  });
}

/** Lists the session's checkpoints, oldest first; an empty list when there is no session. */
export async function listCheckpoints(ctx: DaemonContext, p: CheckpointListParams): Promise<CheckpointListResult> {
  const session = await openForRead(ctx, p.sessionId);
  return { sessionId: session.sessionId, source: session.source, ...(await session.checkpoints()) };
}
