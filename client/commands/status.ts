import { SessionStatusRequest } from '../../protocol/session.js';
import type { CommandSpec } from '../command.js';
import { applyToStatus, selectorsOf } from '../next-action.js';
import { renderStatusResult } from '../render-status.js';

export const command: CommandSpec = {
  name: 'status',
  summary: 'show the current phase, checklist, blockers and the next command',
  help: `Usage: orch status [--session ID] [--json]

Shows the session's task, phase, progress and checklist, and ends with NEXT_ACTION: the exact
next command. With no workflow it says so and exits 0 ({"active": false} under --json).

Example:
  orch status
  ORCH_SESSION=2f76b47f orch status --json`,
  options: {},
  async run(ctx) {
    const sessionId = ctx.sessionId();
    const conn = await ctx.connect({ readOnly: true, requestsOnly: true });
    const result = applyToStatus(await conn.sendRequest(SessionStatusRequest, { sessionId }), selectorsOf(ctx));
    ctx.out.document(result);
    for (const w of result.warnings) ctx.out.warn(w);
    ctx.out.text(renderStatusResult(result));
    return 0;
  },
};
