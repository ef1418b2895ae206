/**
 * The checks of a workflow that verification would refuse to run, found before any session starts:
 * `orch validate` applies the same rules as `orch complete` (verification.ts, templates.ts), so a
 * file it calls valid never holds a command that needs a shell, a setting with shell characters, or
 * a file_exists path that leaves the repository.
 */
import { resolve } from 'node:path';
import { isInside } from '../../protocol/node/paths.js';
import { OrchError } from '../errors.js';
import { substitute, substituteForCommand } from './templates.js';
import type { WorkflowDef } from './types.js';
import { parseCommand } from './verification.js';

/** One line per check that can never run, as `file: phases[i].items[j].verification.<key>: why`. */
export function unrunnableChecks(def: WorkflowDef, repoRoot: string, fileLabel: string): string[] {
  const problems: string[] = [];
  def.phases.forEach((phase, i) =>
    phase.items.forEach((item, j) => {
      const v = item.verification;
      const at = `${fileLabel}: phases[${i}].items[${j}].verification`;
      if (v.type === 'command' && typeof v.command === 'string' && v.command.trim() !== '') {
        try {
          parseCommand(substituteForCommand(v.command, def.settings));
        } catch (err) {
          if (!(err instanceof OrchError)) throw err;
          problems.push(`${at}.command: ${err.message.replace(/\.$/, '')} (item ${item.id} could never pass)`);
        }
      }
      if (v.type === 'file_exists' && typeof v.path === 'string') {
        const path = substitute(v.path, def.settings);
        if (path.includes('\0') || !isInside(repoRoot, resolve(repoRoot, path))) {
          problems.push(`${at}.path: ${JSON.stringify(path)} is outside the repository, so item ${item.id} could never pass; use a path inside the repository`);
        }
      }
    }),
  );
  return problems;
}
