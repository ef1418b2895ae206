/**
 * The read-only views of a workflow: the full status (protocol `WorkflowStatusView`) and the
 * one-line summary `orch sessions` shows. `nextAction` is read by agents, so its wording is a
 * contract: one command, always in the same form (or `none: <why>; <fix>` when nothing can run).
 */
import type { ChecklistItem, ProgressCount, StateSource, WorkflowStatusView } from '../../protocol/session.js';
import { agentsMayApprove, approverOf } from './human-gates.js';
import { AWAITING_APPROVAL, canAdvance } from './ops-phase.js';
import type { ItemDef, PhaseDef, WorkflowDef, WorkflowState } from './types.js';
import { isRequired } from './ops-common.js';
import { evidenceOf } from './evidence.js';

export interface StatusContext {
  sessionId: string | null;
  source: StateSource;
  warnings: string[];
}

/** Completed items over all items of all phases; skipped items do not count as completed. */
export function overallProgress(state: WorkflowState): ProgressCount {
  let completed = 0;
  let total = 0;
  for (const phase of Object.values(state.phases)) {
    for (const item of Object.values(phase.items)) {
      total += 1;
      if (item.status === 'completed') completed += 1;
    }
  }
  return { completed, total };
}

function checklist(state: WorkflowState, phaseDef: PhaseDef | undefined): ChecklistItem[] {
  const phaseState = state.phases[state.current_phase_id];
  if (phaseDef === undefined || phaseState === undefined) return [];
  return phaseDef.items.flatMap((item): ChecklistItem[] => {
    const st = phaseState.items[item.id];
    if (st === undefined) return [];
    return [
      {
        id: item.id,
        name: item.name,
        status: st.status,
        required: isRequired(item),
        stepType: item.step_type,
        verification: item.verification.type,
        skipReason: st.skip_reason,
        notes: st.notes,
        approvedBy: item.verification.type === 'manual_gate' && st.status === 'completed' ? approvalOf(st.verification_result) : null,
        ...evidenceField(st),
      },
    ];
  });
}

/** The `approved_by` record of a manual gate's `verification_result`. */
function approvalOf(result: unknown): ReturnType<typeof approverOf> {
  return typeof result === 'object' && result !== null ? approverOf((result as Record<string, unknown>)['approved_by']) : null;
}

function evidenceField(st: WorkflowState['phases'][string]['items'][string]): Pick<ChecklistItem, 'evidence'> {
  if (st.status !== 'completed') return {};
  const ev = evidenceOf(st);
  return ev === null ? {} : { evidence: { ...ev, fresh: null } };
}

function isLastPhase(def: WorkflowDef, phaseId: string): boolean {
  return def.phases.length > 0 && def.phases[def.phases.length - 1]?.id === phaseId;
}

/** The next command, and at a person's gate the command the person runs. */
interface Step {
  action: string;
  person: string | null;
}

/**
 * At a person's gate an agent waits (`orch wait …`) while the person approves; a workflow that lets
 * agents approve (settings.approvals.allow_agent) gets the approval command itself.
 */
function personStep(def: WorkflowDef, wait: string, approve: string): Step {
  return agentsMayApprove(def) ? { action: approve, person: null } : { action: wait, person: approve };
}

/** The command for the first unfinished item: waiting for a person at manual gates, otherwise completion. */
function itemStep(item: ItemDef, def: WorkflowDef): Step {
  if (item.verification.type === 'manual_gate') return personStep(def, `orch wait --item ${item.id}`, `orch approve-item ${item.id}`);
  return { action: `orch complete ${item.id} --notes "<what you did>"`, person: null };
}

const PHASE_GATE = (def: WorkflowDef): Step => personStep(def, 'orch wait --phase', 'orch approve');

/** The file to fix by hand when a session's state is damaged, relative to the repo root. */
function stateFileOf(sessionId: string | null): string {
  return sessionId === null ? '.workflow_state.json' : `.orchestrator/sessions/${sessionId}/state.json`;
}

/**
 * For a session that can never continue (its current phase is not in the workflow, or has no
 * state): `none: <why>; <the fix>`. Not a command, so an agent following NEXT_ACTION stops and
 * reports instead of looping on `orch status`.
 */
function stuckAction(state: WorkflowState, def: WorkflowDef, sessionId: string | null): string | null {
  const inDef = def.phases.some((p) => p.id === state.current_phase_id);
  const inState = state.phases[state.current_phase_id] !== undefined;
  if (inDef && inState) return null;
  const phases = def.phases.map((p) => p.id).join(', ');
  const why = inDef
    ? `its current phase ${JSON.stringify(state.current_phase_id)} has no entry under phases in the state`
    : `its current phase ${JSON.stringify(state.current_phase_id)} is not a phase of the workflow (${phases})`;
  return (
    `none: the session cannot continue: ${why}; a person must set current_phase_id in ${stateFileOf(sessionId)} ` +
    `to one of ${phases}, or start a new session with orch start "<task>"`
  );
}

function nextStep(state: WorkflowState, def: WorkflowDef, blockers: string[], ok: boolean, sessionId: string | null): Step {
  const only = (action: string): Step => ({ action, person: null });
  if (state.status === 'completed' || state.status === 'abandoned') return only('orch start "<task>"');
  const stuck = stuckAction(state, def, sessionId);
  if (stuck !== null) return only(stuck);
  const phaseState = state.phases[state.current_phase_id];
  if (ok) return only(isLastPhase(def, state.current_phase_id) || phaseState?.status === 'completed' ? 'orch finish' : 'orch advance');
  if (blockers.length === 1 && blockers[0] === AWAITING_APPROVAL) return PHASE_GATE(def);
  const phaseDef = def.phases.find((p) => p.id === state.current_phase_id);
  const pending = phaseDef?.items.find((item) => {
    const status = phaseState?.items[item.id]?.status;
    return status !== undefined && status !== 'completed' && status !== 'skipped';
  });
  if (pending !== undefined) return itemStep(pending, def);
  return blockers.includes(AWAITING_APPROVAL) ? PHASE_GATE(def) : only('orch status');
}

/** The single next command an agent should run. */
export function nextActionFor(state: WorkflowState, def: WorkflowDef, blockers: string[], ok: boolean, sessionId: string | null = null): string {
  return nextStep(state, def, blockers, ok, sessionId).action;
}

/** Builds the protocol's status view of one workflow. */
export function buildStatusView(state: WorkflowState, def: WorkflowDef, ctx: StatusContext): WorkflowStatusView {
  const phaseDef = def.phases.find((p) => p.id === state.current_phase_id);
  const items = checklist(state, phaseDef);
  const open = state.status !== 'completed' && state.status !== 'abandoned';
  const check = open ? canAdvance(state, def) : { ok: false, blockers: [], skipped: [] };
  const step = nextStep(state, def, check.blockers, check.ok, ctx.sessionId);
  const phaseApproved = phaseDef !== undefined && state.metadata[`phase_${phaseDef.id}_approved`] === true;
  return {
    active: state.status === 'active',
    sessionId: ctx.sessionId,
    workflowId: state.workflow_id,
    workflowName: def.name,
    task: state.task_description,
    project: state.project,
    status: state.status,
    phase: state.current_phase_id,
    phaseName: phaseDef?.name ?? state.current_phase_id,
    phases: def.phases.map((p) => ({ id: p.id, name: p.name, status: state.phases[p.id]?.status ?? 'pending' })),
    progress: overallProgress(state),
    phaseProgress: {
      completed: items.filter((i) => i.status === 'completed').length,
      skipped: items.filter((i) => i.status === 'skipped').length,
      total: items.length,
    },
    items,
    constraints: [...state.constraints],
    blockers: check.blockers,
    canAdvance: check.ok,
    nextAction: step.action,
    waitingForPerson: step.person,
    phaseApprovedBy: phaseApproved ? approverOf(state.metadata[`phase_${phaseDef.id}_approved_by`]) : null,
    source: ctx.source,
    warnings: [...ctx.warnings],
    createdAt: state.created_at,
    updatedAt: state.updated_at,
  };
}

/** The summary of one session for listings. */
export function summarizeForList(state: WorkflowState): {
  task: string;
  status: WorkflowState['status'];
  phase: string;
  progress: ProgressCount;
} {
  return {
    task: state.task_description,
    status: state.status,
    phase: state.current_phase_id,
    progress: overallProgress(state),
  };
}
