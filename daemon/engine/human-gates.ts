/**
 * A person's sign-off: who gave it, and the rule that an AI agent may not give it, nor stand in for
 * it by skipping a manual gate or forcing past one. Whether a caller is an agent comes from its
 * `daemon/hello` (kind mcp or hook, or `agent: true`): a guardrail against an agent following its
 * instructions too literally, not authentication. A workflow may allow agents with
 * `settings.approvals.allow_agent: true`.
 */
import { OrchError } from '../errors.js';
import { isRequired } from './ops-common.js';
import type { ItemDef, WorkflowDef, WorkflowState } from './types.js';

/** Who approved, as stored in state and in the log: the name, how the request came, the client's pid. */
export interface Approver {
  by: string;
  /** The client's kind from its hello (`cli`, `editor`, `web`, `mcp`, …), `library` when it did not say. */
  channel: string;
  pid: number | null;
}

/** Who asks for a change, as the connection's hello describes it. */
export interface Caller {
  approver: Approver;
  /** True when an AI agent drives the client. */
  agent: boolean;
}

function isRec(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when the workflow lets agents approve (`settings.approvals.allow_agent: true`). */
export function agentsMayApprove(def: WorkflowDef): boolean {
  const approvals = def.settings['approvals'];
  return isRec(approvals) && approvals['allow_agent'] === true;
}

/** True when `caller` is an agent and the workflow does not allow agents to approve. */
function refused(caller: Caller | undefined, def: WorkflowDef): boolean {
  return caller !== undefined && caller.agent && !agentsMayApprove(def);
}

const NOT_AUTH = 'A workflow that lets agents approve sets settings.approvals.allow_agent: true.';

function itemRefusal(itemId: string, what: string, caller: Caller): OrchError {
  return new OrchError(
    'AgentCannotApprove',
    `${what}: '${itemId}' is a person's sign-off and an AI agent drives this client (${caller.approver.channel}). ` +
      `Run \`orch wait --item ${itemId}\` to wait until a person approves it with \`orch approve-item ${itemId}\`. ${NOT_AUTH}`,
    { itemId, channel: caller.approver.channel },
  );
}

function phaseRefusal(phaseId: string, what: string, caller: Caller): OrchError {
  return new OrchError(
    'AgentCannotApprove',
    `${what}: phase ${phaseId} needs a person's approval and an AI agent drives this client (${caller.approver.channel}). ` +
      `Run \`orch wait --phase\` to wait until a person approves it with \`orch approve\`. ${NOT_AUTH}`,
    { phase: phaseId, channel: caller.approver.channel },
  );
}

/** Refuses `approve-item` from an agent. */
export function assertMayApproveItem(caller: Caller | undefined, def: WorkflowDef, itemId: string): void {
  if (refused(caller, def)) throw itemRefusal(itemId, 'An agent cannot approve', caller!);
}

/** Refuses `approve` (a phase's human_approval gate) from an agent. */
export function assertMayApprovePhase(caller: Caller | undefined, def: WorkflowDef, phaseId: string): void {
  if (refused(caller, def)) throw phaseRefusal(phaseId, 'An agent cannot approve', caller!);
}

/** Skipping a manual gate (even a skippable one, even with --force) would stand in for the approval. */
export function assertMaySkip(caller: Caller | undefined, def: WorkflowDef, item: ItemDef | undefined): void {
  if (item === undefined || item.verification.type !== 'manual_gate' || !refused(caller, def)) return;
  throw itemRefusal(item.id, 'An agent cannot skip a manual gate', caller!);
}

/**
 * `advance --force` and `finish --force` past what only a person can clear (a required manual gate
 * not yet approved, or the phase's unapproved human_approval gate) would stand in for the approval.
 */
export function assertMayForcePast(caller: Caller | undefined, state: WorkflowState, def: WorkflowDef, verb: 'advance' | 'finish'): void {
  if (!refused(caller, def) || state.status === 'completed' || state.status === 'abandoned') return;
  const phaseDef = def.phases.find((p) => p.id === state.current_phase_id);
  const phaseState = state.phases[state.current_phase_id];
  if (phaseDef === undefined || phaseState === undefined) return;
  const gate = phaseDef.items.find((item) => {
    const status = phaseState.items[item.id]?.status;
    return item.verification.type === 'manual_gate' && isRequired(item) && status !== undefined && status !== 'completed' && status !== 'skipped';
  });
  const what = `An agent cannot ${verb} with --force past a person's approval`;
  if (gate !== undefined) throw itemRefusal(gate.id, what, caller!);
  if (phaseDef.exit_gate === 'human_approval' && !state.metadata[`phase_${phaseDef.id}_approved`]) {
    throw phaseRefusal(phaseDef.id, what, caller!);
  }
}

/** An approval record as stored (`approved_by`), or null when there is none or it is malformed. */
export function approverOf(value: unknown): Approver | null {
  if (!isRec(value) || typeof value['by'] !== 'string') return null;
  const channel = typeof value['channel'] === 'string' ? value['channel'] : 'unknown';
  const pid = typeof value['pid'] === 'number' ? value['pid'] : null;
  return { by: value['by'], channel, pid };
}

/** The stored form of an approver (key order fixed, as state.json is written in key order). */
export function approverRecord(a: Approver): Record<string, unknown> {
  return { by: a.by, channel: a.channel, pid: a.pid };
}
