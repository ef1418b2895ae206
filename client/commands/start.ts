import { resolve } from 'node:path';
import { SessionStartRequest, SessionStatusRequest } from '../../protocol/session.js';
import type { CommandSpec } from '../command.js';
import { usageError } from '../errors.js';
import { applyToStatus, selectorsOf } from '../next-action.js';
import { renderStatusResult } from '../render-status.js';

export const command: CommandSpec = {
  name: 'start',
  summary: 'start a workflow for a task in a new session (it becomes current)',
  help: `Usage: orch start "<task>" [--workflow FILE] [--project P] [-c CONSTRAINT]... [--portable]

Starts a workflow in a new session and makes it the repo's current session. The workflow is
FILE, else workflow.yaml in the repo root, else orch's bundled default. The session keeps this
definition even if the file changes later.

Options:
  --workflow FILE, -w FILE   workflow file (must be inside the repository)
  --project P, -p P          project name stored with the workflow
  -c, --constraint TEXT      a constraint for the work (repeatable, at most 1000 characters each)
  --portable                 portable mode: sessions are committed and shared through git; what
                             belongs to this checkout (current, meta.json, daemon files) is not

Example:
  orch start "Add rate limiting to the public API" --project demo-api -c "no new dependencies"`,
  options: {
    workflow: { type: 'string', short: 'w' },
    project: { type: 'string', short: 'p' },
    constraint: { type: 'string', short: 'c', multiple: true },
    portable: { type: 'boolean' },
  },
  async run(ctx) {
    const task = ctx.positionals.join(' ').trim();
    if (!task) throw usageError('orch start needs the task, e.g. orch start "Add rate limiting to the public API".');
    const workflow = ctx.values.workflow as string | undefined;
    const conn = await ctx.connect();
    const result = await conn.sendRequest(SessionStartRequest, {
      task,
      workflow: workflow === undefined ? undefined : resolve(ctx.cwd, workflow),
      project: ctx.values.project as string | undefined,
      constraints: (ctx.values.constraint as string[] | undefined) ?? [],
      portable: ctx.values.portable === true ? true : undefined,
    });
    ctx.out.document(result);
    for (const w of result.warnings) ctx.out.warn(w);
    ctx.out.text(`Started session ${result.sessionId} (${result.workflowId}) from ${result.workflowSource} workflow.`);
    if (!ctx.out.json && !ctx.out.quiet) {
      const status = await conn.sendRequest(SessionStatusRequest, { sessionId: result.sessionId });
      // The new session is current: NEXT_ACTION needs only the root, when one was given.
      ctx.out.text(renderStatusResult(applyToStatus(status, { root: selectorsOf(ctx).root })));
    }
    return 0;
  },
};
