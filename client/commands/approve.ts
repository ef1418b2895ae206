import { PhaseApproveRequest } from '../../protocol/workflow.js';
import type { CommandSpec } from '../command.js';
import { usageError } from '../errors.js';
import { printOperation } from '../print-operation.js';

export const command: CommandSpec = {
  name: 'approve',
  summary: 'approve a phase whose exit gate needs human approval',
  help: `Usage: orch approve [--phase PHASE]

Records human approval of a phase (default: the current one), which a phase with
exit_gate: human_approval needs before orch advance.

Example:
  orch approve --phase BUILD`,
  options: { phase: { type: 'string', short: 'p' } },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError('orch approve takes no arguments; name the phase with --phase.');
    const sessionId = ctx.sessionId();
    const conn = await ctx.connect();
    const result = await conn.sendRequest(PhaseApproveRequest, { sessionId, phaseId: ctx.values.phase as string | undefined });
    return printOperation(ctx, result);
  },
};
