/**
 * NEXT_ACTION names exactly what the command used. The daemon builds the command for the session
 * (status-view.ts) and does not know how the client chose it; the client does, so it adds the
 * selectors here, to the printed line and to the `nextAction` of the JSON document alike:
 *   - `--session <id>` whenever the session was chosen with --session or ORCH_SESSION (an agent
 *     that follows the line keeps working on that session even when another one becomes current);
 *   - `--root <dir>` whenever the root was given with --root or ORCH_ROOT (the absolute root, so the
 *     line works from any folder).
 * `orch start` creates a new session, so it only gets `--root`. A `none: …` line (a session that
 * cannot continue) is not a command and gets nothing.
 */
import type { SessionStatusResult, WorkflowStatusView } from '../protocol/session.js';
import type { OperationResult } from '../protocol/workflow.js';
import type { CommandContext } from './command.js';

export interface Selectors {
  session?: string;
  root?: string;
}

/** The selectors this command was given explicitly (flags or environment). */
export function selectorsOf(ctx: CommandContext): Selectors {
  const sel: Selectors = {};
  const session = ctx.sessionId();
  if (session !== undefined) sel.session = session;
  const root = (ctx.values.root as string | undefined) ?? (ctx.env.ORCH_ROOT || undefined);
  if (root !== undefined) sel.root = ctx.paths().root;
  return sel;
}

/** A word for a POSIX shell: as-is when it needs no quoting, else in single quotes. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `action` with the selectors appended. */
export function withSelectors(action: string, sel: Selectors): string {
  if (!action.startsWith('orch ')) return action;
  let out = action;
  if (sel.session !== undefined && !action.startsWith('orch start ')) out += ` --session ${sel.session}`;
  if (sel.root !== undefined) out += ` --root ${shellWord(sel.root)}`;
  return out;
}

/** Sets the status result's `nextAction` (also on "no workflow") with the selectors. */
export function applyToStatus<T extends SessionStatusResult>(result: T, sel: Selectors): T {
  if (!result.active && !('workflowId' in result)) {
    result.nextAction = withSelectors(result.nextAction ?? 'orch start "<task>"', sel);
  } else {
    const view = result as WorkflowStatusView;
    view.nextAction = withSelectors(view.nextAction, sel);
    if (view.waitingForPerson) view.waitingForPerson = withSelectors(view.waitingForPerson, sel);
  }
  return result;
}

export function applyToOperation(result: OperationResult, sel: Selectors): OperationResult {
  applyToStatus(result.status, sel);
  return result;
}
