import { OrchError } from '../../daemon/errors.js';
import type { ItemDef, PhaseDef, VerificationDef, WorkflowDef, WorkflowState } from '../../daemon/engine/types.js';

/** Fixed clock for engine transitions. */
export const NOW = new Date('2026-01-02T03:04:05.000Z');

// --- builders for a tiny workflow and a hand-built state, independent of the loader and state factory ---
export function item(id: string, o: Partial<ItemDef> = {}, v: Partial<VerificationDef> = {}): ItemDef {
  const forced = o.step_type === 'gate' || o.step_type === 'required';
  return {
    id, name: `Item ${id}`, description: null, required: true, skippable: !forced, skip_conditions: [], agent: null,
    notes: [], step_type: 'flexible', evidence_schema: null, evidence_prompt: null, ...o,
    verification: { type: 'none', path: null, command: null, expect_exit_code: 0, description: null, ...v },
  };
}
export function phase(id: string, items: ItemDef[], o: Partial<PhaseDef> = {}): PhaseDef {
  return { id, name: `Phase ${id}`, description: null, agent: null, executor: null, items, exit_gate: null, notes: [],
    required_reviews: [], phase_type: 'guided', intended_tools: [], ...o };
}
export function stateFor(def: WorkflowDef): WorkflowState {
  const phases: WorkflowState['phases'] = {};
  def.phases.forEach((p, i) => {
    const items: WorkflowState['phases'][string]['items'] = {};
    for (const it of p.items) {
      items[it.id] = { id: it.id, status: 'pending', started_at: null, completed_at: null, skipped_at: null, skip_reason: null,
        skip_context_considered: null, notes: null, verification_result: null, retry_count: 0, files_modified: null,
        evidence: null, gate_result: null };
    }
    phases[p.id] = { id: p.id, status: i === 0 ? 'active' : 'pending', started_at: i === 0 ? 'T0' : null, completed_at: null, items };
  });
  return { workflow_id: 'wf_test0001', workflow_type: def.name, workflow_version: def.version, task_description: 'Test task',
    project: null, status: 'active', current_phase_id: def.phases[0]!.id, phases, created_at: 'T0', updated_at: 'T0',
    completed_at: null, metadata: {}, workflow_definition: def, constraints: [] };
}
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
export function refusal(fn: () => unknown): OrchError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OrchError) return err;
    throw err;
  }
  throw new Error('expected an OrchError');
}
