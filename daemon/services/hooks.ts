/**
 * `hook/stop`: whether an agent may stop now (Claude Code's Stop hook asks). The decision is made
 * from the session's status, the same view `session/status` returns:
 *
 * - the agent still has work in the current phase (a required item open that is not a manual
 *   gate, or the phase ready to advance or finish): block;
 * - the phase waits on a person (the only open required items are manual gates, or the phase's
 *   human-approval gate is closed): allow, naming the gates;
 * - the workflow is finished, paused, absent, or cannot continue: allow.
 *
 * A block is remembered in memory per (orch session, agent session): the state's `updatedAt` and
 * phase at the time. When the agent stops again while already continuing because of a block
 * (`stopHookActive`) and that fingerprint is unchanged, the stop is allowed: the agent tried and
 * could not move the workflow, and holding it in a loop helps no one. Memory, not a file: the hook
 * is not a writer of `.orchestrator/`, and the daemon's files are for the workflow, not for a
 * detail of one agent's conversation. A restarted daemon has forgotten, so it blocks once more.
 */
import type { HookStopParams, HookStopResult } from '../../protocol/hooks.js';
import type { WorkflowStatusView } from '../../protocol/session.js';
import type { DaemonContext } from '../context.js';
import { AWAITING_APPROVAL } from '../engine/ops-phase.js';
import { openForRead } from './session-records.js';

/** At most this many remembered blocks per daemon (the oldest are forgotten first). */
const MAX_REMEMBERED = 1000;

const lastBlocks = new WeakMap<DaemonContext, Map<string, string>>();

function memoryOf(ctx: DaemonContext): Map<string, string> {
  let m = lastBlocks.get(ctx);
  if (!m) lastBlocks.set(ctx, (m = new Map()));
  return m;
}

/** What the stop depends on: the state's last change and where the workflow stands. */
function fingerprint(view: WorkflowStatusView): string {
  return `${view.updatedAt}|${view.phase}|${view.items.map((i) => `${i.id}:${i.status}`).join(',')}|${view.blockers.join(',')}`;
}

/** The decision before memory is consulted. */
export function stopDecision(view: WorkflowStatusView): Pick<HookStopResult, 'decision' | 'reason' | 'gates'> {
  if (view.status === 'completed' || view.status === 'abandoned') return { decision: 'allow', reason: 'finished', gates: [] };
  if (view.status !== 'active' || view.nextAction.startsWith('none:')) return { decision: 'allow', reason: 'none', gates: [] };
  const open = view.items.filter((i) => i.required && i.status !== 'completed' && i.status !== 'skipped');
  const agentOpen = open.filter((i) => i.verification !== 'manual_gate');
  const gates = open.filter((i) => i.verification === 'manual_gate').map((i) => i.id);
  if (view.blockers.includes(AWAITING_APPROVAL)) gates.push(`phase:${view.phase}`);
  if (agentOpen.length === 0 && gates.length > 0) return { decision: 'allow', reason: 'person', gates };
  if (agentOpen.length > 0 || view.canAdvance) return { decision: 'block', reason: 'open', gates: [] };
  return { decision: 'allow', reason: 'none', gates: [] };
}

export async function hookStop(ctx: DaemonContext, p: HookStopParams): Promise<HookStopResult> {
  const status = await (await openForRead(ctx, p.sessionId)).status();
  if (!('workflowId' in status)) return { decision: 'allow', reason: 'none', gates: [], status };
  const decided = stopDecision(status);
  if (decided.decision === 'allow') return { ...decided, status };
  const memory = memoryOf(ctx);
  const key = `${status.sessionId ?? 'legacy'}\0${p.agentSessionId ?? ''}`;
  const print = fingerprint(status);
  if (p.stopHookActive === true && memory.get(key) === print) return { decision: 'allow', reason: 'unchanged', gates: [], status };
  memory.delete(key);
  memory.set(key, print);
  if (memory.size > MAX_REMEMBERED) memory.delete(memory.keys().next().value as string);
  return { ...decided, status };
}
