import { isAbsolute, relative, resolve } from 'node:path';
import { ResponseError } from 'vscode-jsonrpc/node.js';
import { exitCodeFor, isOrchErrorData } from '../../protocol/errors.js';
import { WorkflowValidateRequest } from '../../protocol/workflow.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { usageError } from '../errors.js';

/** A path as the user would type it from here: relative when below the working directory. */
function shown(ctx: CommandContext, file: string): string {
  const rel = relative(ctx.cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** Every problem of an invalid workflow on its own line (the error's details carry the list). */
function printProblems(ctx: CommandContext, err: unknown): number | null {
  if (ctx.out.json || !(err instanceof ResponseError) || !isOrchErrorData(err.data) || err.data.name !== 'InvalidWorkflow') return null;
  const errors = err.data.details?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return null;
  const file = String(err.data.details?.file ?? 'The workflow');
  const count = `${errors.length} problem${errors.length === 1 ? '' : 's'}`;
  ctx.out.io.stderr(`orch: ${shown(ctx, file)} is not a valid workflow (${count}):\n${errors.map((e) => `  ${e}\n`).join('')}`);
  return exitCodeFor('InvalidWorkflow');
}

export const command: CommandSpec = {
  name: 'validate',
  summary: 'check a workflow file and list every problem',
  help: `Usage: orch validate [--workflow FILE]

Checks workflow.yaml in the repo root (or FILE, which must be inside the repository) with the same
rules orch start uses, plus the rules verification applies: a command that needs a shell, a
setting with shell characters used in a command, or a file_exists path outside the repository is
a problem (such a check could never pass). A valid file prints its name, version and phase and
item counts, plus any warnings (unknown keys, undefined {{settings}}), and exits 0. An invalid one prints every problem
on its own line as file:line:col: field: what is allowed, and exits 1.

Options:
  --workflow FILE, -w FILE   the file to check (default: workflow.yaml in the repo root)

Example:
  orch validate --workflow workflows/release.yaml`,
  options: { workflow: { type: 'string', short: 'w' } },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError('orch validate takes no arguments; name a file with --workflow FILE.');
    const workflow = ctx.values.workflow as string | undefined;
    const conn = await ctx.connect();
    let result;
    try {
      result = await conn.sendRequest(WorkflowValidateRequest, { file: workflow === undefined ? undefined : resolve(ctx.cwd, workflow) });
    } catch (err) {
      const code = printProblems(ctx, err);
      if (code === null) throw err;
      return code;
    }
    ctx.out.document(result);
    const lines = [
      `✓ ${shown(ctx, result.file)} is valid`,
      `  Name: ${result.name}`,
      `  Version: ${result.version}`,
      `  Phases: ${result.phases}`,
      `  Items: ${result.items}`,
    ];
    if (result.warnings.length > 0) lines.push(`Warnings (${result.warnings.length}):`, ...result.warnings.map((w) => `  ${w}`));
    ctx.out.text(lines.join('\n'));
    return 0;
  },
};
