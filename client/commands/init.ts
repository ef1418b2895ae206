import { WorkflowInitRequest } from '../../protocol/workflow.js';
import type { CommandSpec } from '../command.js';
import { usageError } from '../errors.js';

export const command: CommandSpec = {
  name: 'init',
  summary: 'write orch’s default workflow to workflow.yaml (the one command that writes outside .orchestrator/)',
  help: `Usage: orch init [--force] [--portable]

Writes orch's bundled default workflow to workflow.yaml in the repository root, for you to edit.
This is the only orch command that writes outside .orchestrator/, and it writes only
workflow.yaml (and its backup). If workflow.yaml exists, nothing is changed unless you pass
--force; then the current file is first kept as workflow.yaml.bak, or the next free
workflow.yaml.bak.1, .bak.2, … (a backup is never overwritten).

Options:
  -f, --force    replace an existing workflow.yaml (the old one is kept as workflow.yaml.bak[.N])
  --portable     also switch the repo to portable mode: git may see .orchestrator/sessions/ so
                 workflow state can be committed (runtime files stay ignored)

Example:
  orch init && orch validate`,
  options: { force: { type: 'boolean', short: 'f' }, portable: { type: 'boolean' } },
  async run(ctx) {
    if (ctx.positionals.length > 0) throw usageError('orch init takes no arguments.');
    const conn = await ctx.connect();
    const result = await conn.sendRequest(WorkflowInitRequest, {
      force: ctx.values.force === true ? true : undefined,
      portable: ctx.values.portable === true ? true : undefined,
    });
    ctx.out.document(result);
    for (const w of result.warnings) ctx.out.warn(w);
    const lines = [`✓ Wrote the default workflow to ${result.file}`];
    if (result.backup) lines.push(`  The previous file is kept as ${result.backup}`);
    if (ctx.values.portable === true) lines.push('  The repository is in portable mode: git may see .orchestrator/sessions/.');
    lines.push('Edit it to fit your project, check it with orch validate, then run orch start "<task>".');
    ctx.out.text(lines.join('\n'));
    return 0;
  },
};
