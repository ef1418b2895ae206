import { PhaseAdvanceRequest } from '../../protocol/workflow.js';
import type { CommandSpec } from '../command.js';
import { usageError } from '../errors.js';
import { printOperation } from '../print-operation.js';

export const command: CommandSpec = {
  name: 'advance',
  summary: 'complete the current phase and start the next',
  help: `Usage: orch advance [--force [--reason TEXT]]

Completes the current phase and starts the next one. Refused while required items are pending
or failed, or while an exit gate awaits approval; the error lists each blocker. --force advances
anyway and records that in the log, except for an AI agent while a person's approval is
missing (a required manual gate, or the exit gate): it waits with orch wait. Advancing from the
last phase completes it and points to orch finish.

Also refused (StaleEvidence) when the code changed after a check of the phase passed: the error
names each item and the files that changed, and ends with NEXT_ACTION: orch verify <item>.
--force --reason TEXT advances anyway and logs the reason.

Example:
  orch advance
  orch advance --force --reason "Only comments changed after the test run"`,
  options: { force: { type: 'boolean', short: 'f' }, reason: { type: 'string', short: 'r' } },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError('orch advance takes no arguments.');
    const reason = ctx.values.reason as string | undefined;
    if (reason !== undefined && ctx.values.force !== true) throw usageError('--reason goes with --force: orch advance --force --reason "<why>".');
    const sessionId = ctx.sessionId();
    const conn = await ctx.connect();
    const result = await conn.sendRequest(PhaseAdvanceRequest, { sessionId, force: ctx.values.force === true ? true : undefined, reason });
    return printOperation(ctx, result);
  },
};
