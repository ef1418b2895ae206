import { ItemApproveRequest } from '../../protocol/workflow.js';
import { approverName } from '../approver.js';
import type { CommandSpec } from '../command.js';
import { usageError } from '../errors.js';
import { printOperation } from '../print-operation.js';

export const command: CommandSpec = {
  name: 'approve-item',
  summary: 'approve a manual-gate item (a person’s sign-off)',
  help: `Usage: orch approve-item <item> [--notes TEXT] [--by NAME]

Approves an item whose verification is manual_gate, completing it. This is the only way such an
item completes: --skip-verify does not bypass it. orch records who approved (--by, else
git config user.name, else $USER) and through which client; orch status shows it.

A person approves; an AI agent is refused (exit 1) and waits with orch wait --item <item>,
unless the workflow sets settings.approvals.allow_agent: true.

Options:
  -n, --notes TEXT   a note kept with the item
  --by NAME          who approves (default: git config user.name, else $USER)

Example:
  orch approve-item plan_approval --notes "Plan looks right" --by "Dana"`,
  options: { notes: { type: 'string', short: 'n' }, by: { type: 'string' } },
  async run(ctx) {
    const itemId = ctx.positionals[0];
    if (!itemId || ctx.positionals.length > 1) throw usageError('orch approve-item takes one item id, e.g. orch approve-item plan_approval.');
    const sessionId = ctx.sessionId();
    const by = await approverName(ctx);
    const conn = await ctx.connect();
    const result = await conn.sendRequest(ItemApproveRequest, { sessionId, itemId, notes: ctx.values.notes as string | undefined, by });
    return printOperation(ctx, result);
  },
};
