import { resolve } from 'node:path';
import { CheckpointCreateRequest } from '../../protocol/workflow.js';
import type { CommandSpec } from '../command.js';
import { usageError } from '../errors.js';

export const command: CommandSpec = {
  name: 'checkpoint',
  summary: 'record a checkpoint: a state snapshot plus decisions and files',
  help: `Usage: orch checkpoint [-m MESSAGE] [-d DECISION]... [-f FILE]...

Writes a checkpoint into the session's checkpoints/ folder: a snapshot of the workflow state, a
summary of where it stands, the decisions you name, and a file manifest (the files you name,
then up to 10 changed or untracked files git reports). It changes nothing in the workflow, so a
finished workflow accepts checkpoints too. orch checkpoints lists them.

Options:
  -m, --message TEXT     what this checkpoint marks
  -d, --decision TEXT    a key decision (repeatable)
  -f, --file FILE        a file to record (repeatable; must exist inside the repository)

Example:
  orch checkpoint -m "Plan approved" -d "Token bucket per API key" -f docs/plan.md`,
  options: {
    message: { type: 'string', short: 'm' },
    decision: { type: 'string', short: 'd', multiple: true },
    file: { type: 'string', short: 'f', multiple: true },
  },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError('orch checkpoint takes no arguments; pass the text with -m "<message>".');
    const sessionId = ctx.sessionId();
    const files = ((ctx.values.file as string[] | undefined) ?? []).map((f) => resolve(ctx.cwd, f));
    const conn = await ctx.connect();
    const result = await conn.sendRequest(CheckpointCreateRequest, {
      sessionId,
      message: ctx.values.message as string | undefined,
      decisions: (ctx.values.decision as string[] | undefined) ?? [],
      files,
    });
    const cp = result.checkpoint;
    ctx.out.document(result);
    ctx.out.text(
      [
        `✓ Checkpoint created: ${cp.checkpointId}`,
        `  Phase: ${cp.phaseId}`,
        ...(cp.itemId ? [`  Item: ${cp.itemId}`] : []),
        ...(cp.message !== null ? [`  Message: ${cp.message}`] : []),
        ...(cp.decisions.length > 0 ? [`  Decisions: ${cp.decisions.length}`] : []),
        `  Files tracked: ${cp.files.length}`,
        `  File: ${cp.path}`,
      ].join('\n'),
    );
    return 0;
  },
};
