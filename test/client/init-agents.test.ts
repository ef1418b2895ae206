/**
 * `orch init --agents`: the AGENTS.md section agents read, added once, beside the workflow file.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOrch, runOrchJson } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';

const { repo } = useRepoRegistry();

describe('orch init --agents', () => {
  test('creates AGENTS.md with the orch section and writes workflow.yaml; a second run changes nothing', async () => {
    const r = repo();
    const first = await runOrchJson(['init', '--agents'], { cwd: r.root });
    expect(first.code).toBe(0);
    expect(first.json.agentsMd).toEqual({ file: join(r.root, 'AGENTS.md'), added: true, created: true });
    expect(first.json.workflow.file).toBe(join(r.root, 'workflow.yaml'));
    const text = readFileSync(join(r.root, 'AGENTS.md'), 'utf8');
    expect(text).toMatch(/^# Agents\n\n<!-- orch: agents section -->\n## Working with orch\n/);
    for (const rule of ['`orch status`', '`NEXT_ACTION:`', 'Never pass `--force`', '`orch wait`']) expect(text).toContain(rule);

    // workflow.yaml exists now: kept, not refused; the section is not added twice.
    const again = await runOrch(['init', '--agents'], { cwd: r.root });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Kept the existing workflow.yaml');
    expect(again.stdout).toContain('already has the orch section');
    expect(readFileSync(join(r.root, 'AGENTS.md'), 'utf8')).toBe(text);
    // Without --agents an existing workflow.yaml is still refused.
    expect((await runOrch(['init'], { cwd: r.root })).code).toBe(1);
  });

  test('appends to an existing AGENTS.md, through a link to a file inside the repository, keeping what is there', async () => {
    const r = repo();
    writeFileSync(join(r.root, 'CLAUDE.md'), '# Project rules\n\nUse tabs.');
    symlinkSync('CLAUDE.md', join(r.root, 'AGENTS.md'));
    expect((await runOrch(['init', '--agents'], { cwd: r.root })).code).toBe(0);
    const text = readFileSync(join(r.root, 'CLAUDE.md'), 'utf8');
    expect(text.startsWith('# Project rules\n\nUse tabs.\n\n<!-- orch: agents section -->\n## Working with orch\n')).toBe(true);
    expect(readFileSync(join(r.root, 'AGENTS.md'), 'utf8')).toBe(text);
  });
});
