/**
 * Evidence bound to the tree: fingerprints taken with no lock held (git can take a second on a
 * large repository), then handed to the pure operations.
 */
import path from 'node:path';
import { mkdirNoFollow } from '../../protocol/node/safe-fs.js';
import type { DaemonContext } from '../context.js';
import { boundItems, ignoreGlobs, phaseStartEvidence, type CurrentTree, type ExpectedChangeCheck } from '../engine/evidence.js';
import { fingerprintTree, type Comparison, type Fingerprint } from '../engine/fingerprint.js';
import type { WorkflowDef, WorkflowState } from '../engine/types.js';

/** Where the tree objects of dirty trees are kept, so later fingerprints can name what changed. */
function storeDir(ctx: DaemonContext): string | undefined {
  if (ctx.readOnly !== null) return undefined;
  const dir = path.join(ctx.paths.orchDir, 'evidence', 'objects');
  try {
    mkdirNoFollow(dir);
    return dir;
  } catch (err) {
    ctx.log.warn({ err, dir }, 'evidence tree store unavailable; changed files will not be named');
    return undefined;
  }
}

/** Fingerprints the repository's working tree (no lock held by the caller). */
export async function takeFingerprint(ctx: DaemonContext, def: WorkflowDef, compare: Comparison[] = []): Promise<Fingerprint> {
  const objects = storeDir(ctx);
  const cacheDir = objects === undefined ? undefined : path.dirname(objects);
  const fp = await fingerprintTree(ctx.paths.root, { ignore: ignoreGlobs(def), storeDir: objects, cacheDir, compare });
  ctx.log.info({ tree: fp.evidence.tree, method: fp.evidence.method, ms: fp.evidence.ms }, 'working tree fingerprinted');
  return fp;
}

/** The warning an answer carries when evidence could not be bound to a tree. */
export function unboundWarning(fp: Fingerprint): string | null {
  if (fp.evidence.method !== 'unbound') return null;
  return `Evidence is unbound (${fp.evidence.reason ?? 'no git repository'}): orch cannot tell later whether the code changed after this check.`;
}

/** The working tree now, compared with every tree a passed check of the current phase ran on. */
export async function currentTreeFor(ctx: DaemonContext, def: WorkflowDef, trees: string[]): Promise<{ tree: CurrentTree; fp: Fingerprint }> {
  const bases = [...new Set(trees)];
  const fp = await takeFingerprint(ctx, def, bases.map((base) => ({ base })));
  const changes: CurrentTree['changes'] = {};
  bases.forEach((b, i) => {
    const c = fp.changes[i];
    if (c !== undefined) changes[b] = c;
  });
  return { tree: { evidence: fp.evidence, changes }, fp };
}

/** Distinct trees the current phase's passed checks ran on. */
export function recordedTrees(state: WorkflowState, def: WorkflowDef): string[] {
  return [...new Set(boundItems(state, def).map((b) => b.tree))];
}

/** What an `expect_changes` item needs compared: its globs and the tree its phase started on. */
export function expectedChangeBase(state: WorkflowState, def: WorkflowDef, itemId: string): { globs: string[]; base: string | null } | null {
  const phaseDef = def.phases.find((p) => p.id === state.current_phase_id);
  const globs = phaseDef?.items.find((i) => i.id === itemId)?.expect_changes ?? [];
  if (globs.length === 0) return null;
  const start = phaseStartEvidence(state);
  return { globs, base: start?.method === 'git-tree' ? start.tree : null };
}

/** The finding for `expect_changes` from a fingerprint taken with the comparison at `index`. */
export function expectedChangeCheck(expect: { base: string | null }, fp: Fingerprint, index: number): ExpectedChangeCheck {
  if (fp.evidence.method !== 'git-tree') return { change: null, unknownReason: fp.evidence.reason ?? 'unbound' };
  if (expect.base === null) return { change: null, unknownReason: 'no tree was recorded when the phase started' };
  return { change: fp.changes[index] ?? null };
}
