import { CheckpointListRequest, type CheckpointSummary } from '../../protocol/workflow.js';
import type { CommandSpec } from '../command.js';
import { usageError } from '../errors.js';

/** `2026-11-23 22:51:41` (UTC) from a checkpoint timestamp. */
function shortTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

function row(cp: CheckpointSummary, idWidth: number, phaseWidth: number): string {
  return `${cp.checkpointId.padEnd(idWidth)}  ${cp.phaseId.padEnd(phaseWidth)}  ${shortTime(cp.timestamp)}  ${cp.message ?? ''}`;
}

export const command: CommandSpec = {
  name: 'checkpoints',
  summary: 'list the session’s checkpoints, oldest first',
  help: `Usage: orch checkpoints

Lists the checkpoints of the session (ID, phase, time in UTC, message), oldest first. Each is a
file under .orchestrator/sessions/<id>/checkpoints/; --json gives their decisions and files too.

Example:
  orch checkpoints --json`,
  options: {},
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError('orch checkpoints takes no arguments.');
    const sessionId = ctx.sessionId();
    const conn = await ctx.connect({ readOnly: true });
    const result = await conn.sendRequest(CheckpointListRequest, { sessionId });
    ctx.out.document(result);
    for (const w of result.warnings) ctx.out.warn(w);
    if (result.checkpoints.length === 0) {
      ctx.out.text('No checkpoints yet. Create one with: orch checkpoint -m "<message>"');
      return 0;
    }
    const idWidth = Math.max(2, ...result.checkpoints.map((c) => c.checkpointId.length));
    const phaseWidth = Math.max(5, ...result.checkpoints.map((c) => c.phaseId.length));
    const header = `${'ID'.padEnd(idWidth)}  ${'PHASE'.padEnd(phaseWidth)}  ${'TIME (UTC)'.padEnd(19)}  MESSAGE`;
    ctx.out.text([header, ...result.checkpoints.map((c) => row(c, idWidth, phaseWidth))].join('\n'));
    return 0;
  },
};
