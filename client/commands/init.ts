import { ResponseError } from 'vscode-jsonrpc/node.js';
import { isOrchErrorData } from '../../protocol/errors.js';
import { WorkflowInitRequest, type WorkflowInitResult } from '../../protocol/workflow.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { usageError } from '../errors.js';

export const command: CommandSpec = {
  name: 'init',
  summary: 'write orch’s default workflow to workflow.yaml (--agents: and an orch section in AGENTS.md)',
  help: `Usage: orch init [--force] [--portable] [--agents]

Writes orch's bundled default workflow to workflow.yaml in the repository root, for you to edit.
Like the agent set-up commands (orch hook install, orch mcp config --write) it writes outside
.orchestrator/, on request: only workflow.yaml (and its backup), and AGENTS.md with --agents. If workflow.yaml exists, nothing is changed unless you pass
--force; then the current file is first kept as workflow.yaml.bak, or the next free
workflow.yaml.bak.1, .bak.2, … (a backup is never overwritten).

Options:
  -f, --force    replace an existing workflow.yaml (the old one is kept as workflow.yaml.bak[.N])
  --portable     also switch the repo to portable mode: git may see .orchestrator/sessions/ so
                 workflow state can be committed (runtime files stay ignored)
  --agents       also append a short orch section to AGENTS.md (created if absent; added once):
                 run orch status, follow NEXT_ACTION, never --force, wait for people with
                 orch wait. An existing workflow.yaml is then kept rather than refused.

Example:
  orch init && orch validate
  orch init --agents`,
  options: { force: { type: 'boolean', short: 'f' }, portable: { type: 'boolean' }, agents: { type: 'boolean' } },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError('orch init takes no arguments.');
    const agents = ctx.values.agents === true;
    const result = await writeWorkflow(ctx, agents);
    const lines: string[] = [];
    if (result) {
      for (const w of result.warnings) ctx.out.warn(w);
      lines.push(`✓ Wrote the default workflow to ${result.file}`);
      if (result.backup) lines.push(`  The previous file is kept as ${result.backup}`);
      if (ctx.values.portable === true) lines.push('  The repository is in portable mode: git may see .orchestrator/sessions/.');
    } else lines.push('✓ Kept the existing workflow.yaml (--force replaces it).');
    let agentsMd: { file: string; added: boolean; created: boolean } | null = null;
    if (agents) {
      const { addAgentsSection } = await import('../agents-md.js');
      agentsMd = addAgentsSection(ctx.paths().root);
      lines.push(
        agentsMd.added ? `✓ ${agentsMd.created ? 'Created' : 'Added the orch section to'} ${agentsMd.file}` : `✓ ${agentsMd.file} already has the orch section; left as it is.`,
      );
    }
    ctx.out.document(agents ? { workflow: result, agentsMd } : result);
    lines.push('Edit workflow.yaml to fit your project, check it with orch validate, then run orch start "<task>".');
    ctx.out.text(lines.join('\n'));
    return 0;
  },
};

/** Writes workflow.yaml; with --agents an existing one is kept (null) instead of refused. */
async function writeWorkflow(ctx: CommandContext, keepExisting: boolean): Promise<WorkflowInitResult | null> {
  const conn = await ctx.connect();
  try {
    return await conn.sendRequest(WorkflowInitRequest, {
      force: ctx.values.force === true ? true : undefined,
      portable: ctx.values.portable === true ? true : undefined,
    });
  } catch (err) {
    const exists = err instanceof ResponseError && isOrchErrorData(err.data) && err.data.name === 'InvalidTransition';
    if (keepExisting && exists && ctx.values.force !== true) return null;
    throw err;
  }
}
