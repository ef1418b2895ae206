import { ItemCompleteRequest } from '../../protocol/workflow.js';
import type { CommandSpec } from '../command.js';
import { usageError } from '../errors.js';
import { printOperation } from '../print-operation.js';

export const command: CommandSpec = {
  name: 'complete',
  summary: 'complete an item of the current phase (runs its verification)',
  help: `Usage: orch complete <item> [--notes TEXT] [--skip-verify]

Completes an item of the current phase. Items with verification are checked first: file_exists
items need their file (inside the repo), command items and gates run their command in the repo
root (exit code must match; default timeout 300 s). A failed check is recorded (status failed)
and exits 1. --skip-verify skips file and command checks of non-gate items; it never replaces a
manual approval (use orch approve-item) and never skips a gate's command.

Example:
  orch complete write_plan --notes "Wrote docs/plan.md: token bucket per API key"`,
  options: { notes: { type: 'string', short: 'n' }, 'skip-verify': { type: 'boolean' } },
  async run(ctx) {
    const itemId = ctx.positionals[0];
    if (!itemId || ctx.positionals.length > 1) throw usageError('orch complete takes one item id, e.g. orch complete write_plan --notes "…".');
    const sessionId = ctx.sessionId();
    const conn = await ctx.connect();
    const result = await conn.sendRequest(ItemCompleteRequest, {
      sessionId,
      itemId,
      notes: ctx.values.notes as string | undefined,
      skipVerify: ctx.values['skip-verify'] === true ? true : undefined,
    });
    return printOperation(ctx, result);
  },
};
