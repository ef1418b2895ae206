/**
 * Checkpoints (`<session>/checkpoints/cp_*.json`, reference §2.8): a snapshot of the state plus
 * the decisions and files an agent wants to remember. Written in the Python tool's format
 * (`json.dumps(indent=2)`, no trailing newline), but atomically and durably, and never over an
 * existing checkpoint: the file is linked into place from a synced temp file, so a clashing id
 * fails instead of overwriting, and a crash never leaves half a checkpoint.
 */
import { createHash, randomInt } from 'node:crypto';
import { constants } from 'node:fs';
import { link, readdir, realpath, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isInside } from '../protocol/paths.js';
import { assertNoLinks, assertNoLinksDir, mkdirNoFollow, openNoFollow, readFileNoFollow } from '../protocol/safe-fs.js';
import type { CheckpointCreateParams, CheckpointCreateResult, CheckpointListResult, CheckpointSummary } from '../protocol/workflow.js';
import { detectChangedFiles } from './changed-files.js';
import type { DaemonContext } from './context.js';
import { fsyncDir, withPath } from './durable-write.js';
import { pythonDumps } from './engine/pyjson.js';
import { overallProgress } from './engine/status-view.js';
import { utcOffset } from './engine/time.js';
import type { Checkpoint, WorkflowState } from './engine/types.js';
import { OrchError } from './errors.js';
import { requireSession, requireState } from './session-mutation.js';
import { hasLegacyState, isAdoptedSession, withLegacyCheckpoints } from './legacy/legacy-history.js';
import { resolveSession } from './session-service.js';

const CHECKPOINT_FILE_RE = /^cp_.*\.json$/;
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
 * A caller's `--file` as a repo-relative path. It need not exist, but it must stay inside the
 * repository, also after following links (a link inside pointing outside is refused).
 */
async function manifestPath(root: string, file: string): Promise<string> {
  const abs = isAbsolute(file) ? resolve(file) : resolve(root, file);
  if (!isInside(root, abs) || !isInside(root, await realLocation(abs))) {
    throw new OrchError('PathOutsideRepo', `The file ${file} is outside the repository ${root}; a checkpoint records only files inside it.`, { file });
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

/**
 * Writes `data` to `path` only if `path` does not exist: the temp file is synced, then hard-linked
 * into place (link fails with EEXIST rather than replacing), and the folder is synced. The temp
 * name `<path>.<n>` is the one the daemon's start-up sweep removes after a crash.
 */
export async function writeExclusiveDurable(path: string, data: string): Promise<boolean> {
  const temp = `${path}.${randomInt(0, 2 ** 32)}`;
  assertNoLinks(path);
  const handle = await openNoFollow(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } catch (err) {
    await rm(temp, { force: true });
    throw withPath(err, path);
  } finally {
    await handle.close();
  }
  try {
    await link(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
  await fsyncDir(dirname(path));
  return true;
}

function summaryOf(cp: Checkpoint, root: string, file: string): CheckpointSummary {
  return {
    checkpointId: cp.checkpoint_id,
    phaseId: cp.phase_id,
    itemId: cp.item_id ?? null,
    timestamp: cp.timestamp,
    message: cp.message ?? null,
    contextSummary: cp.context_summary ?? null,
    decisions: Array.isArray(cp.key_decisions) ? cp.key_decisions.map(String) : [],
    files: Array.isArray(cp.file_manifest) ? cp.file_manifest.map(String) : [],
    parentCheckpointId: cp.parent_checkpoint_id ?? null,
    path: relative(root, file),
  };
}

interface ReadResult {
  checkpoints: { cp: Checkpoint; file: string }[];
  warnings: string[];
}

/** Every readable checkpoint of a folder, oldest first (by timestamp, then id). */
async function readCheckpoints(dir: string, root: string): Promise<ReadResult> {
  assertNoLinksDir(dir, 'read');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => CHECKPOINT_FILE_RE.test(n));
  } catch {
    return { checkpoints: [], warnings: [] };
  }
  const checkpoints: ReadResult['checkpoints'] = [];
  const warnings: string[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      const cp = JSON.parse(await readFileNoFollow(file)) as Checkpoint;
      if (typeof cp?.checkpoint_id !== 'string' || typeof cp.timestamp !== 'string') throw new Error('it lacks checkpoint_id or timestamp');
      checkpoints.push({ cp, file });
    } catch (err) {
      warnings.push(`${relative(root, file)} is not a readable checkpoint (${(err as Error).message}); it is left out.`);
    }
  }
  const key = (c: Checkpoint) => `${c.timestamp.replace('Z', '+00:00')} ${c.checkpoint_id}`;
  checkpoints.sort((a, b) => (key(a.cp) < key(b.cp) ? -1 : key(a.cp) > key(b.cp) ? 1 : 0));
  return { checkpoints, warnings };
}

/**
 * The id of the session's newest readable checkpoint. Ids begin with their UTC time, so names sort
 * chronologically and only the newest files need to be parsed.
 */
async function latestCheckpointId(dir: string): Promise<string | null> {
  const names = (await readdir(dir)).filter((n) => CHECKPOINT_FILE_RE.test(n)).sort().reverse();
  for (const name of names) {
    try {
      const cp = JSON.parse(await readFileNoFollow(join(dir, name))) as Partial<Checkpoint>;
      if (typeof cp?.checkpoint_id === 'string') return cp.checkpoint_id;
    } catch {
      // An unreadable file cannot be a parent; try the next newest.
    }
  }
  return null;
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
export async function listCheckpoints(ctx: DaemonContext, sessionId: string | undefined): Promise<CheckpointListResult> {
  const id = await resolveSession(ctx, sessionId);
  if (id === null) {
    if (!(await hasLegacyState(ctx))) return { sessionId: null, source: 'session', checkpoints: [], warnings: [] };
    return { sessionId: null, source: 'legacy', checkpoints: await withLegacyCheckpoints(ctx, []), warnings: [] };
  }
  const { checkpoints, warnings } = await readCheckpoints(ctx.store.pathsFor(id).checkpoints, ctx.paths.root);
  const own = checkpoints.map((c) => summaryOf(c.cp, ctx.paths.root, c.file));
  const all = (await isAdoptedSession(ctx, id)) ? await withLegacyCheckpoints(ctx, own) : own;
  return { sessionId: id, source: 'session', checkpoints: all, warnings };
}
