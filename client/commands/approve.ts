import { PhaseApproveRequest } from '../../protocol/workflow.js';
import { approverName } from '../approver.js';
import type { CommandSpec } from '../command.js';
import { usageError } from '../errors.js';
import { printOperation } from '../print-operation.js';

export const command: CommandSpec = {
  name: 'approve',
  summary: 'approve a phase whose exit gate needs human approval',
  help: `Usage: orch approve [--phase PHASE] [--by NAME]

Records human approval of a phase (default: the current one), which a phase with
exit_gate: human_approval needs before orch advance. orch records who approved (--by, else
git config user.name, else $USER) and through which client; orch status shows it.

A person approves; an AI agent is refused (exit 1) and waits with orch wait --phase,
unless the workflow sets settings.approvals.allow_agent: true.

Options:
  -p, --phase PHASE  the phase to approve (default: the current phase)
  --by NAME          who approves (default: git config user.name, else $USER)

Example:
  orch approve --phase BUILD --by "Dana"`,
  options: { phase: { type: 'string', short: 'p' }, by: { type: 'string' } },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError('orch approve takes no arguments; name the phase with --phase.');
    const sessionId = ctx.sessionId();
    const by = await approverName(ctx);
    const conn = await ctx.connect();
    const result = await conn.sendRequest(PhaseApproveRequest, { sessionId, phaseId: ctx.values.phase as string | undefined, by });
    return printOperation(ctx, result);
  },
};
