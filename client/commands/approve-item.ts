import { ItemApproveRequest } from '../../protocol/workflow.js';
import type { CommandSpec } from '../command.js';
import { usageError } from '../errors.js';
import { printOperation } from '../print-operation.js';

export const command: CommandSpec = {
  name: 'approve-item',
  summary: 'approve a manual-gate item (a person’s sign-off)',
  help: `Usage: orch approve-item <item> [--notes TEXT]

Approves an item whose verification is manual_gate, completing it. This is the only way such an
item completes: --skip-verify does not bypass it.

Example:
  orch approve-item plan_approval --notes "Plan approved by Dana"`,
  options: { notes: { type: 'string', short: 'n' } },
  async run(ctx) {
    const itemId = ctx.positionals[0];
    if (!itemId || ctx.positionals.length > 1) throw usageError('orch approve-item takes one item id, e.g. orch approve-item plan_approval.');
    const sessionId = ctx.sessionId();
    const conn = await ctx.connect();
    const result = await conn.sendRequest(ItemApproveRequest, { sessionId, itemId, notes: ctx.values.notes as string | undefined });
    return printOperation(ctx, result);
  },
};
