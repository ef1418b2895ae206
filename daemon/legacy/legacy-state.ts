/**
 * The older Python tool's files in the repository root, read-only. Nothing in this folder ever
 * opens a legacy path for writing: orch reads them (dual-read) and writes only its own sessions.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { RepoPaths } from '../../protocol/node/paths.js';
import { parseStateFile } from '../engine/checksum.js';
import type { WorkflowDef, WorkflowState } from '../engine/types.js';
import { loadDefaultWorkflow, loadWorkflowFile } from '../engine/workflow-loader.js';
import { OrchError } from '../errors.js';

/**
 * The `sessionId` of the legacy workflow's row in `session/list` (and the id `session/show`
 * accepts for it). Session ids are 8 lowercase hex characters, so this can never name a session.
 */
export const LEGACY_ENTRY_ID = 'legacy';

/** The legacy state, parsed, with what identifies the exact bytes that were read. */
export interface LegacyState {
  /** Absolute path of `.workflow_state.json`. */
  file: string;
  /** The same, relative to the repo root (for messages). */
  label: string;
  sha256: string;
  size: number;
  /** With `workflow_definition` filled in when the file had none. */
  state: WorkflowState;
  def: WorkflowDef;
  warnings: string[];
}

/** One legacy file with its content hash (the migration marker records these). */
export interface LegacyFileHash {
  file: string;
  sha256: string;
  size: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    // Asked on every status (legacy files are usually absent): no exception for a missing file.
    return statSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/** Path relative to the repo root, as shown to people. */
export function labelOf(paths: RepoPaths, abs: string): string {
  return relative(paths.root, abs);
}

/** sha256 of the legacy state file's bytes, or null when it is absent or unreadable. */
export async function legacyStateSha256(paths: RepoPaths): Promise<string | null> {
  try {
    return sha256Hex(await readFile(paths.legacy.state));
  } catch {
    return null;
  }
}

function corruptLegacy(label: string, what: string): OrchError {
  return new OrchError(
    'StateCorrupt',
    `The older Python tool's state file ${what.replace(/\.$/, '')}; orch never changes that file, so repair it or move it away, or run orch start "<task>" to begin a new session instead.`,
    { file: label, legacy: true },
  );
}

/** Phases and items for a state written before the definition was frozen into it. */
async function fallbackDefinition(paths: RepoPaths, label: string): Promise<{ def: WorkflowDef; warning: string }> {
  if (await pathExists(paths.workflowYaml)) {
    const { def } = await loadWorkflowFile(paths.workflowYaml);
    return { def, warning: `${label} has no workflow_definition (an older tool version wrote it); orch takes the phases and items from workflow.yaml.` };
  }
  const { def } = loadDefaultWorkflow();
  return { def, warning: `${label} has no workflow_definition (an older tool version wrote it) and there is no workflow.yaml; orch uses its bundled default workflow.` };
}

/**
 * Reads and validates `.workflow_state.json`; null when there is none. Older files lacking newer
 * fields get defaults (parseStateFile). A corrupt or truncated file fails with `StateCorrupt`
 * naming the file and the problem.
 */
export async function readLegacyState(paths: RepoPaths): Promise<LegacyState | null> {
  const label = labelOf(paths, paths.legacy.state);
  let bytes: Buffer;
  try {
    bytes = await readFile(paths.legacy.state);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw corruptLegacy(label, `${label} cannot be read (${code ?? String(err)})`);
  }
  let parsed;
  try {
    parsed = parseStateFile(bytes.toString('utf8'), label);
  } catch (err) {
    if (err instanceof OrchError) throw corruptLegacy(label, err.message);
    throw err;
  }
  const warnings: string[] = [];
  if (parsed.integrity === 'mismatch') {
    warnings.push(`${label} does not match its checksum (stored ${parsed.expected}, content gives ${parsed.actual}): it was edited by hand; orch reads it as it is.`);
  }
  let state = parsed.state;
  let def = state.workflow_definition;
  if (!def) {
    const fallback = await fallbackDefinition(paths, label);
    def = fallback.def;
    warnings.push(fallback.warning);
    state = { ...state, workflow_definition: def };
  }
  return { file: paths.legacy.state, label, sha256: sha256Hex(bytes), size: bytes.length, state, def, warnings };
}

/** The legacy files that exist, as labels (`.workflow_checkpoints/` with its slash). */
export async function presentLegacyFiles(paths: RepoPaths): Promise<string[]> {
  const { state, log, checkpoints, toolFeedback, processFeedback } = paths.legacy;
  const candidates = [state, log, checkpoints, toolFeedback, processFeedback];
  const present = await Promise.all(candidates.map(pathExists));
  return candidates.filter((_, i) => present[i]).map((p) => labelOf(paths, p) + (p === checkpoints ? '/' : ''));
}

async function hashIfFile(paths: RepoPaths, abs: string): Promise<LegacyFileHash | null> {
  try {
    const bytes = await readFile(abs);
    return { file: labelOf(paths, abs), sha256: sha256Hex(bytes), size: bytes.length };
  } catch {
    return null;
  }
}

/** Hashes of every legacy file, including each file in `.workflow_checkpoints/`. */
export async function hashLegacyFiles(paths: RepoPaths): Promise<LegacyFileHash[]> {
  const { state, log, checkpoints, toolFeedback, processFeedback } = paths.legacy;
  let names: string[] = [];
  try {
    names = (await readdir(checkpoints)).sort();
  } catch {
    names = [];
  }
  const files = [state, log, toolFeedback, processFeedback, ...names.map((n) => join(checkpoints, n))];
  const hashes = await Promise.all(files.map((f) => hashIfFile(paths, f)));
  return hashes.filter((h): h is LegacyFileHash => h !== null);
}
