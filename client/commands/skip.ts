import { ItemSkipRequest } from '../../protocol/workflow.js';
import type { CommandSpec } from '../command.js';
import { usageError } from '../errors.js';
import { printOperation } from '../print-operation.js';

export const command: CommandSpec = {
  name: 'skip',
  summary: 'skip an item of the current phase, with a reason',
  help: `Usage: orch skip <item> --reason TEXT [--force]

Skips an item of the current phase. The reason needs at least 10 characters; documented items
need at least 50 and a real explanation (not "n/a", "not needed", …). Items with step_type
required, or skippable: false, cannot be skipped. Gates can only be skipped with --force and a
reason of at least 50 characters. A manual gate (a person's sign-off) cannot be skipped by an
AI agent, with or without --force: it waits with orch wait --item <item>.

Example:
  orch skip risk_notes --reason "Small isolated middleware change; risks are covered inline in docs/plan.md"`,
  options: { reason: { type: 'string', short: 'r' }, force: { type: 'boolean', short: 'f' } },
  async run(ctx) {
    const itemId = ctx.positionals[0];
    if (!itemId || ctx.positionals.length > 1) throw usageError('orch skip takes one item id, e.g. orch skip risk_notes --reason "…".');
    const reason = ctx.values.reason as string | undefined;
    if (reason === undefined) throw usageError('orch skip needs --reason "<why this item does not apply>".');
    const sessionId = ctx.sessionId();
    const conn = await ctx.connect();
    const result = await conn.sendRequest(ItemSkipRequest, { sessionId, itemId, reason, force: ctx.values.force === true ? true : undefined });
    return printOperation(ctx, result);
  },
};
