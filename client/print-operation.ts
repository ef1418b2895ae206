import type { OperationResult } from '../protocol/workflow.js';
import type { CommandContext } from './command.js';
import { applyToOperation, selectorsOf } from './next-action.js';
import { renderStatus } from './render-status.js';

/** After a change: the message, then the status block (unless -q); the whole result under --json. */
export function printOperation(ctx: CommandContext, result: OperationResult): number {
  applyToOperation(result, selectorsOf(ctx));
  ctx.out.document(result);
  for (const w of result.warnings) ctx.out.warn(w);
  ctx.out.text(`✓ ${result.message}`);
  if (!ctx.out.quiet) ctx.out.text('\n' + renderStatus(result.status));
  return 0;
}
