import { WorkflowFinishRequest } from '../../protocol/workflow.js';
import type { CommandSpec } from '../command.js';
import { usageError } from '../errors.js';
import { printOperation } from '../print-operation.js';

export const command: CommandSpec = {
  name: 'finish',
  summary: 'complete the workflow (or abandon it with --abandon --reason)',
  help: `Usage: orch finish [--notes TEXT] [--force [--reason TEXT]]
       orch finish --abandon --reason TEXT

Completes the workflow. Refused while the current phase has blockers, unless --force (which an
AI agent cannot use while a person's approval is missing: it waits with orch wait). A finished
or abandoned workflow refuses further changes; start a new one with orch start. orch never
commits, pushes or archives files for you. Like orch advance, refused with StaleEvidence when the
code changed after a check of the open phase passed (orch verify re-runs it); --force --reason TEXT
finishes anyway and logs the reason.

Example:
  orch finish --notes "Shipped behind a feature flag"
  orch finish --abandon --reason "Superseded by the gateway-level limiter"`,
  options: {
    notes: { type: 'string', short: 'n' },
    force: { type: 'boolean', short: 'f' },
    abandon: { type: 'boolean' },
    reason: { type: 'string', short: 'r' },
  },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError('orch finish takes no arguments; use --notes or --abandon --reason.');
    const abandon = ctx.values.abandon === true;
    const reason = ctx.values.reason as string | undefined;
    if (abandon && !reason) throw usageError('orch finish --abandon needs --reason "<why>".');
    if (!abandon && reason !== undefined && ctx.values.force !== true) {
      throw usageError('--reason goes with --abandon (or --force over stale evidence); use --notes to describe a completed workflow.');
    }
    const sessionId = ctx.sessionId();
    const conn = await ctx.connect();
    const result = await conn.sendRequest(WorkflowFinishRequest, {
      sessionId,
      notes: ctx.values.notes as string | undefined,
      force: ctx.values.force === true ? true : undefined,
      abandon: abandon || undefined,
      reason,
    });
    return printOperation(ctx, result);
  },
};
