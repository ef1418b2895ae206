/**
 * The compact status block for people and agents. Its last line is `NEXT_ACTION: orch …`, the
 * exact next command; agents key on it, so its shape is stable.
 */
import type { ApprovalRecord, ChecklistItem, SessionStatusResult, WorkflowStatusView } from '../protocol/session.js';

const MARKS: Record<string, string> = {
  completed: '✓',
  skipped: '⊘',
  in_progress: '●',
  failed: '✗',
  blocked: '✗',
  pending: '○',
};

/** `approved by Ada (cli)`. */
function approvedBy(a: ApprovalRecord): string {
  return `approved by ${a.by} (${a.channel})`;
}

function itemLine(item: ChecklistItem): string {
  const mark = MARKS[item.status] ?? '○';
  const req = item.required ? '*' : ' ';
  let line = `  ${mark} ${req} ${item.id} — ${item.name}`;
  if (item.approvedBy) line += ` — ${approvedBy(item.approvedBy)}`;
  if (item.status === 'skipped' && item.skipReason) line += `\n        └─ skipped: ${item.skipReason}`;
  else if (item.status === 'failed') line += '   (verification failed)';
  const ev = item.evidence;
  if (ev?.method === 'unbound') line += '   [evidence unbound]';
  else if (ev?.fresh === true) line += `   [evidence fresh: tree ${ev.tree?.slice(0, 7) ?? ''}]`;
  else if (ev?.fresh === false) line += `   [evidence STALE: ran on tree ${ev.tree?.slice(0, 7) ?? ''}; orch verify ${item.id}]`;
  return line;
}

export function renderStatus(view: WorkflowStatusView): string {
  const lines = [
    `Task: ${view.task}`,
    `Session: ${view.sessionId ?? '(legacy files)'}   Workflow: ${view.workflowName} (${view.workflowId})   Status: ${view.status}`,
    `Phase: ${view.phase} - ${view.phaseName} (${view.phases.findIndex((p) => p.id === view.phase) + 1}/${view.phases.length})`,
    `Progress: ${view.phaseProgress.completed}/${view.phaseProgress.total} items in this phase` +
      (view.phaseProgress.skipped ? ` (${view.phaseProgress.skipped} skipped)` : '') +
      `, ${view.progress.completed}/${view.progress.total} overall`,
  ];
  if (view.constraints.length) lines.push('Constraints:', ...view.constraints.map((c) => `  - ${c}`));
  lines.push('', 'Checklist (* = required):', ...view.items.map(itemLine));
  if (view.phaseApprovedBy) lines.push('', `Phase ${view.phase} ${approvedBy(view.phaseApprovedBy)}`);
  if (view.blockers.length) lines.push('', `Blockers: ${view.blockers.join(', ')}`);
  lines.push('');
  if (view.waitingForPerson) lines.push(`Waiting for a person: ${view.waitingForPerson}`);
  lines.push(`NEXT_ACTION: ${view.nextAction}`);
  return lines.join('\n');
}

/** Human text for any status result, including "no workflow". */
export function renderStatusResult(result: SessionStatusResult): string {
  if (!result.active && !('workflowId' in result)) {
    const listed = (result.sessions ?? []).map((s) => {
      const progress = s.progress ? `${s.progress.completed}/${s.progress.total}` : '-';
      return `  ${s.sessionId.padEnd(8)}  ${s.status.padEnd(9)}  ${(s.phase ?? '-').padEnd(9)}  ${progress.padStart(5)}  ${s.error ? `(unreadable: ${s.error})` : (s.task ?? '-')}`;
    });
    const table = listed.length > 0 ? `\n\n  SESSION   STATUS     PHASE       DONE  TASK\n${listed.join('\n')}\n` : '';
    return `No active workflow. ${result.reason}${table}\nNEXT_ACTION: ${result.nextAction ?? 'orch start "<task>"'}`;
  }
  return renderStatus(result as WorkflowStatusView);
}
