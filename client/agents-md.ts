/**
 * `orch init --agents`: a short orch section in the repository's AGENTS.md (the file coding agents
 * read for project instructions), created if absent. Appended once: a file that already has the
 * section is left as it is. A link named AGENTS.md (often to CLAUDE.md, or the other way round) is
 * followed when its target is inside the repository, so the link stays a link.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { isInside } from '../protocol/node/paths.js';
import { CliError } from './errors.js';
import { writeTextAtomic } from './settings-file.js';

/** Marks orch's section, so it is added once. */
export const AGENTS_MARKER = '<!-- orch: agents section -->';

export const AGENTS_SECTION = `${AGENTS_MARKER}
## Working with orch

This repository keeps its work on an orch workflow (\`workflow.yaml\`); orch records where it stands.

- Run \`orch status\` before you start, and whenever you are unsure where things stand.
- Do exactly what its last line, \`NEXT_ACTION:\`, says: it is one command.
- Record each step: \`orch complete <item> --notes "<what you did>"\`; \`orch checkpoint\` before long pauses.
- Never pass \`--force\`, and never approve a gate yourself: approvals belong to people.
- When a person must approve, wait with \`orch wait\`; it returns once they have.
`;

/** Adds the section; returns the file written and whether it was added (false: it was there already). */
export function addAgentsSection(root: string): { file: string; added: boolean; created: boolean } {
  let file = join(root, 'AGENTS.md');
  if (existsSync(file)) {
    const real = realpathSync(file);
    if (!isInside(root, real)) {
      throw new CliError(`AGENTS.md is a link to ${real}, outside the repository; orch writes nothing there. Add the section by hand (orch init --help shows it).`, 'PathOutsideRepo', { file });
    }
    file = real;
  }
  const created = !existsSync(file);
  const before = created ? '' : readFileSync(file, 'utf8');
  if (before.includes(AGENTS_MARKER)) return { file, added: false, created: false };
  const sep = before === '' ? '' : before.endsWith('\n\n') ? '' : before.endsWith('\n') ? '\n' : '\n\n';
  writeTextAtomic(file, before === '' ? `# Agents\n\n${AGENTS_SECTION}` : `${before}${sep}${AGENTS_SECTION}`);
  return { file, added: true, created };
}
