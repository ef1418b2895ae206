import { ItemVerifyRequest } from '../../protocol/evidence.js';
import type { CommandSpec } from '../command.js';
import { printOperation } from '../print-operation.js';

export const command: CommandSpec = {
  name: 'verify',
  summary: 're-run the checks of completed items and refresh their evidence',
  help: `Usage: orch verify [<item>…]

Re-runs the checks (file_exists, command, gate) of completed items of the current phase — the
named ones, else every completed item with a check — on the working tree as it is now, and
records the new evidence (the git tree the check ran on). An item that still passes stays
completed; one that now fails is marked failed (exit 1) and needs orch complete again. Run it when
orch advance or orch finish is refused with StaleEvidence.

Example:
  orch verify run_tests
  orch verify`,
  options: {},
  async run(ctx) {
    const sessionId = ctx.sessionId();
    const conn = await ctx.connect();
    const result = await conn.sendRequest(ItemVerifyRequest, {
      sessionId,
      itemIds: ctx.positionals.length > 0 ? ctx.positionals : undefined,
    });
    return printOperation(ctx, result);
  },
};
