/**
 * `workflow/validate` and `workflow/init`: the workflow file itself, not a session. Validation
 * reuses the loader that `orch start` uses, so a file that validates is a file that starts. Init is
 * the one operation that writes outside `.orchestrator/`, and only `<repo>/workflow.yaml` (plus its
 * `.bak`), only on the user's explicit request.
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { lstat, readFile, realpath } from 'node:fs/promises';
import { isInside } from '../../protocol/node/paths.js';
import type { WorkflowInitParams, WorkflowInitResult, WorkflowValidateParams, WorkflowValidateResult } from '../../protocol/workflow.js';
import type { DaemonContext } from '../context.js';
import { REPO_LOCK } from '../runtime/keyed-mutex.js';
import { writeDurable } from '../store/durable-write.js';
import { DEFAULT_WORKFLOW_YAML } from '../engine/default-workflow.js';
import { loadWorkflowFile } from '../engine/workflow-loader.js';
import { unrunnableChecks } from '../engine/runnable.js';
import { OrchError } from '../errors.js';
import { ensureRepoMeta, readRepoMeta } from '../store/repo-meta.js';
import { resolveWorkflowFile } from './sessions.js';

/** Validates `<repo>/workflow.yaml`, or the caller's file (absolute, inside the repository). */
export async function validateWorkflow(ctx: DaemonContext, p: WorkflowValidateParams): Promise<WorkflowValidateResult> {
  let file: string;
  if (p.file !== undefined) {
    file = await resolveWorkflowFile(ctx, p.file);
  } else {
    file = ctx.paths.workflowYaml;
    if (!existsSync(file)) {
      throw new OrchError(
        'WorkflowNotFound',
        `There is no workflow.yaml in ${ctx.paths.root}; create one with orch init, or name a file with --workflow.`,
        { file },
      );
    }
  }
  const { def, warnings } = await loadWorkflowFile(file);
  const problems = unrunnableChecks(def, ctx.paths.root, relative(ctx.paths.root, file) || file);
  if (problems.length > 0) {
    const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
    throw new OrchError('InvalidWorkflow', `${relative(ctx.paths.root, file) || file} is not a valid workflow (${count}):${problems.map((e) => `\n  - ${e}`).join('')}`, {
      file,
      errors: problems,
    });
  }
  return {
    valid: true,
    file,
    name: def.name,
    version: def.version,
    phases: def.phases.length,
    items: def.phases.reduce((n, phase) => n + phase.items.length, 0),
    warnings,
  };
}

/**
 * The current content of a file init may replace, or null when absent. A link to outside the
 * repository is refused: write-file-atomic writes through links, so it would write out there.
 */
async function readReplaceable(ctx: DaemonContext, path: string): Promise<Buffer | null> {
  let isLink: boolean;
  try {
    isLink = (await lstat(path)).isSymbolicLink();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const target = isLink ? await realpath(path).catch(() => null) : path;
  if (target === null || !isInside(ctx.paths.root, target)) {
    throw new OrchError('PathOutsideRepo', `${path} is a link to outside the repository (or to nothing); remove it, then run orch init again.`, {
      file: path,
    });
  }
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') {
      throw new OrchError('InvalidTransition', `${path} is a folder, not a workflow file; move it away, then run orch init again.`, { file: path });
    }
    throw err;
  }
}

/**
 * The first of `workflow.yaml.bak`, `workflow.yaml.bak.1`, `.bak.2`, … that does not exist (not
 * even as a dangling link): a backup is never overwritten, so `init --force` twice keeps both files.
 */
async function freeBackupName(file: string): Promise<string> {
  for (let n = 0; n < 10_000; n++) {
    const candidate = n === 0 ? `${file}.bak` : `${file}.bak.${n}`;
    try {
      await lstat(candidate);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return candidate;
      throw err;
    }
  }
  throw new OrchError('InvalidTransition', `${file}.bak through ${file}.bak.9999 all exist; remove old backups, then run orch init --force again.`, { file });
}

/**
 * Writes the bundled default workflow to `<repo>/workflow.yaml`. An existing file is replaced only
 * with `force`, after it has been kept as `workflow.yaml.bak` (or the next free `.bak.N`); without `force` nothing changes.
 */
export async function initWorkflow(ctx: DaemonContext, p: WorkflowInitParams): Promise<WorkflowInitResult> {
  return ctx.locks.runExclusive(REPO_LOCK, async () => {
    const file = ctx.paths.workflowYaml;
    const existing = await readReplaceable(ctx, file);
    if (existing !== null && !p.force) {
      throw new OrchError(
        'InvalidTransition',
        `${file} already exists; orch init --force replaces it with the default (keeping the current one as workflow.yaml.bak), and orch validate checks it.`,
        { file },
      );
    }
    let backup: string | null = null;
    if (existing !== null) {
      const backupFile = await freeBackupName(file);
      // The backup is durable before the original is replaced, so one of the two always holds it.
      await writeDurable(backupFile, existing);
      backup = backupFile;
    }
    await writeDurable(file, DEFAULT_WORKFLOW_YAML);
    // Only --portable touches .orchestrator/; otherwise the recorded mode is just reported.
    const { meta, warnings } = p.portable ? await ensureRepoMeta(ctx.paths, true) : { meta: await readRepoMeta(ctx.paths), warnings: [] };
    const portable = meta?.mode === 'portable';
    if (portable) await ctx.live?.enablePortable();
    ctx.log.info({ file, backup, portable }, 'workflow initialised');
    return { file, backup, portable, warnings };
  });
}
