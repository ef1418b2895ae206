/**
 * Evidence rules as pure functions: where a check's fingerprint is stored, which passed checks of
 * the current phase ran on another tree than the one in the working copy now (stale), the
 * `StaleEvidence` refusal and its `--force --reason` override, and `expect_changes`.
 *
 * Storage keeps the Python tool's state valid: the fingerprint goes inside the free-form
 * `verification_result` / `gate_result` dicts (`.evidence`), the tree a phase started on into
 * `metadata.phase_<ID>_start_evidence`, like the tool's own `phase_<ID>_approved`.
 */
import { OrchError } from '../errors.js';
import { makeEvent } from './ops-common.js';
import type { Evidence, TreeChange } from './fingerprint.js';
import type { ItemDef, ItemState, LogEvent, WorkflowDef, WorkflowState } from './types.js';

/** The working tree as the daemon found it just before an operation (taken with no lock held). */
export interface CurrentTree {
  evidence: Evidence;
  /** Recorded tree id → what changed from it to `evidence.tree`. */
  changes: Record<string, TreeChange>;
}

export interface StaleItem {
  itemId: string;
  /** The tree the item's check ran on. */
  tree: string;
  change: TreeChange | null;
}

/** `settings.evidence.ignore` of a workflow: globs whose changes never make evidence stale. */
export function ignoreGlobs(def: WorkflowDef): string[] {
  const ev = def.settings['evidence'];
  if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) return [];
  const ignore = (ev as Record<string, unknown>)['ignore'];
  return Array.isArray(ignore) ? ignore.filter((g): g is string => typeof g === 'string' && g !== '') : [];
}

export const phaseStartKey = (phaseId: string): string => `phase_${phaseId}_start_evidence`;

function isEvidence(v: unknown): v is Evidence {
  return v !== null && typeof v === 'object' && typeof (v as Evidence).method === 'string';
}

/** The evidence stored with an item's last check result, if any. */
export function evidenceOf(item: ItemState): Evidence | null {
  const fromGate = item.gate_result?.['evidence'];
  if (item.gate_result?.['success'] === true && isEvidence(fromGate)) return fromGate;
  const fromCheck = item.verification_result?.['evidence'];
  return isEvidence(fromCheck) ? fromCheck : null;
}

/** The tree the current phase started on, when it was recorded. */
export function phaseStartEvidence(state: WorkflowState): Evidence | null {
  const v = state.metadata[phaseStartKey(state.current_phase_id)];
  return isEvidence(v) ? v : null;
}

/** Completed items of the current phase whose check recorded a bound tree, with that tree. */
export function boundItems(state: WorkflowState, def: WorkflowDef): { itemId: string; tree: string }[] {
  const phaseDef = def.phases.find((p) => p.id === state.current_phase_id);
  const phaseState = state.phases[state.current_phase_id];
  if (phaseDef === undefined || phaseState === undefined) return [];
  const out: { itemId: string; tree: string }[] = [];
  for (const item of phaseDef.items) {
    const st = phaseState.items[item.id];
    if (st?.status !== 'completed') continue;
    const ev = evidenceOf(st);
    if (ev?.method === 'git-tree' && typeof ev.tree === 'string') out.push({ itemId: item.id, tree: ev.tree });
  }
  return out;
}

/** Passed checks of the current phase that ran on another tree than `current`. Unknown when `current` is unbound: none. */
export function staleItems(state: WorkflowState, def: WorkflowDef, current: CurrentTree): StaleItem[] {
  const tree = current.evidence.tree;
  if (current.evidence.method !== 'git-tree' || tree === null) return [];
  return boundItems(state, def)
    .filter((b) => b.tree !== tree)
    .map((b) => ({ ...b, change: current.changes[b.tree] ?? null }));
}

function describeChange(c: TreeChange | null): string {
  if (c === null || c.count === null) return 'the tree differs';
  const more = c.count > c.files.length ? `, …` : '';
  return `${c.count} file${c.count === 1 ? '' : 's'} changed since: ${c.files.join(', ')}${more}`;
}

/** The `orch verify` command for stale items. */
export function verifyAction(stale: StaleItem[]): string {
  return `orch verify ${stale.map((s) => s.itemId).join(' ')}`;
}

function staleError(verb: 'advance' | 'finish', phaseId: string, stale: StaleItem[]): OrchError {
  const list = stale.map((s) => `${s.itemId} (ran on tree ${s.tree.slice(0, 12)}; ${describeChange(s.change)})`).join('; ');
  const action = verifyAction(stale);
  return new OrchError(
    'StaleEvidence',
    `Cannot ${verb}: the code changed after these checks passed: ${list}. Run \`${action}\` to re-run them on the current tree, ` +
      `or pass --force --reason "<why>" to ${verb} anyway.\nNEXT_ACTION: ${action}`,
    {
      phase: phaseId,
      items: stale.map((s) => s.itemId),
      changedFiles: [...new Set(stale.flatMap((s) => s.change?.files ?? []))],
      nextAction: action,
    },
  );
}

/**
 * At `advance` and `finish`: refuses with `StaleEvidence` when a passed check of the current phase
 * ran on another tree; with `force` and a reason, returns the `evidence_overridden` event to log.
 */
export function checkFreshEvidence(
  state: WorkflowState,
  def: WorkflowDef,
  verb: 'advance' | 'finish',
  opts: { force?: boolean; reason?: string; tree?: CurrentTree },
  now: Date,
): LogEvent | null {
  if (opts.tree === undefined) return null;
  const stale = staleItems(state, def, opts.tree);
  if (stale.length === 0) return null;
  if (!opts.force) throw staleError(verb, state.current_phase_id, stale);
  if (!opts.reason || opts.reason.trim() === '') {
    throw new OrchError(
      'InvalidArgument',
      `--force over stale evidence (${stale.map((s) => s.itemId).join(', ')}) needs a reason: orch ${verb} --force --reason "<why>".`,
      { items: stale.map((s) => s.itemId) },
    );
  }
  return makeEvent(state, now, 'evidence_overridden', `Stale evidence overridden at ${verb}: ${opts.reason}`, {
    phaseId: state.current_phase_id,
    details: {
      reason: opts.reason,
      verb,
      tree: opts.tree.evidence.tree,
      head: opts.tree.evidence.head,
      stale: stale.map((s) => ({ item: s.itemId, tree: s.tree, changed: s.change?.count ?? null, files: s.change?.files ?? [] })),
    },
  });
}

/** What the daemon found for an item's `expect_changes`: the change since its phase started. */
export interface ExpectedChangeCheck {
  /** Null when it could not be known (unbound, no tree recorded at the phase's start). */
  change: TreeChange | null;
  /** Why it could not be known. */
  unknownReason?: string;
}

/** The refusal for an item with `expect_changes` whose globs match no changed file; null when it may complete. */
export function expectChangesRefusal(item: ItemDef, check: ExpectedChangeCheck | undefined): OrchError | null {
  const globs = item.expect_changes ?? [];
  if (globs.length === 0 || check === undefined || check.change === null || check.change.count !== 0) return null;
  return new OrchError(
    'ExpectedChangesMissing',
    `Item ${item.id} expects changes to ${globs.join(', ')}, but no file matching them differs from the tree its phase started on; ` +
      `make the change, then run \`orch complete ${item.id}\` again.`,
    { itemId: item.id, globs },
  );
}
