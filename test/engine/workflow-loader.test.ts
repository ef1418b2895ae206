import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseStateFile } from '../../daemon/engine/checksum.js';
import { DEFAULT_WORKFLOW_YAML } from '../../daemon/engine/default-workflow.js';
import {
  loadDefaultWorkflow,
  loadWorkflowFile,
  parseWorkflowText,
  workflowFileChecksum,
} from '../../daemon/engine/workflow-loader.js';
import { OrchError } from '../../daemon/errors.js';
import { FIXTURES_DIR as FIXTURES } from '../helpers/fixtures.js';

function fixtureDef(stateFile: string): string {
  const { state } = parseStateFile(readFileSync(path.join(FIXTURES, stateFile), 'utf8'), stateFile);
  return JSON.stringify(state.workflow_definition);
}

/** The errors of an InvalidWorkflow thrown while parsing `yaml`. */
function errorsOf(yaml: string): string[] {
  try {
    parseWorkflowText(yaml, 'wf.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(OrchError);
    const e = err as OrchError;
    expect(e.errorName).toBe('InvalidWorkflow');
    expect(e.details?.file).toBe('wf.yaml');
    const errors = e.details?.errors as string[];
    for (const line of errors) expect(e.message).toContain(line);
    return errors;
  }
  throw new Error('expected InvalidWorkflow');
}

const HEAD = 'name: "W"\nversion: "1.0"\nphases:\n';

describe('loading the Python tool\'s workflows', () => {
  test('the 3.0 fixture workflow.yaml gives exactly the definition frozen in its state', async () => {
    const loaded = await loadWorkflowFile(path.join(FIXTURES, 'new-layout/workflow.yaml'));
    expect(loaded.warnings).toEqual([]);
    expect(JSON.stringify(loaded.def)).toBe(fixtureDef('new-layout/.orchestrator/sessions/2f76b47f/state.json'));
    expect(loaded.checksum).toBe('72685fa504569396');
  });

  test('the 2.0 fixture workflow.yaml matches its legacy state once defaults are filled', () => {
    const text = readFileSync(path.join(FIXTURES, 'legacy-basic/workflow.yaml'), 'utf8');
    const { def, warnings } = parseWorkflowText(text, 'workflow.yaml');
    expect(warnings).toEqual([]);
    expect(JSON.stringify(def)).toBe(fixtureDef('legacy-basic/.workflow_state.json'));
  });

  test('workflowFileChecksum is sha256 of the bytes, first 16 hex', () => {
    const bytes = readFileSync(path.join(FIXTURES, 'legacy-basic/workflow.yaml'));
    expect(workflowFileChecksum(bytes)).toBe('a7af4def05d1bc49');
  });

  test('a missing file is WorkflowNotFound', async () => {
    await expect(loadWorkflowFile(path.join(FIXTURES, 'nope/workflow.yaml'))).rejects.toMatchObject({
      errorName: 'WorkflowNotFound',
    });
  });
});

describe('validation errors name file, line and column', () => {
  test('unquoted version says to quote it', () => {
    const errors = errorsOf('name: W\nversion: 1.0\nphases:\n  - id: P\n    name: P\n');
    expect(errors).toEqual([expect.stringMatching(/^wf\.yaml:2:10: version: must be a string; quote it, e.g. version: "1\.0"/)]);
  });

  test('collects every problem in one error', () => {
    const yaml = HEAD + [
      '  - id: Plan',               // 4
      '    name: Planning',
      '    phase_type: loose',       // 6
      '    exit_gate: sometimes',    // 7
      '    notes: just one',         // 8
      '    items:',
      '      - id: bad-id',          // 10
      '        name: A',
      '        step_type: mandatory', // 12
      '        required: maybe',     // 13
      '      - id: ok_item',
      '        verification: {type: file_exists}', // 15
      '      - id: ok_item',         // 16
      '        name: dup',
      '        verification:',
      '          type: command',
      '          command: ""',        // 20
      '          expect_exit_code: 1.5', // 21
    ].join('\n') + '\n';
    const errors = errorsOf(yaml);
    const expected = [
      /^wf\.yaml:4:9: phases\[0\]\.id: must be upper-case/,
      /^wf\.yaml:6:17: phases\[0\]\.phase_type: must be one of strict, guided, autonomous; got "loose"/,
      /^wf\.yaml:7:16: phases\[0\]\.exit_gate: must be one of null, human_approval; got "sometimes"/,
      /^wf\.yaml:8:12: phases\[0\]\.notes: must be a list of strings/,
      /^wf\.yaml:10:13: phases\[0\]\.items\[0\]\.id: must contain only letters, digits and underscores/,
      /^wf\.yaml:12:20: phases\[0\]\.items\[0\]\.step_type: must be one of gate, required, documented, flexible/,
      /^wf\.yaml:13:19: phases\[0\]\.items\[0\]\.required: must be true or false/,
      /^wf\.yaml:14:9: phases\[0\]\.items\[1\]: name is required/,
      /^wf\.yaml:15:23: phases\[0\]\.items\[1\]\.verification: type file_exists needs a non-empty path/,
      /^wf\.yaml:16:13: phases\[0\]\.items\[2\]\.id: duplicates item id "ok_item" \(first used at phases\[0\]\.items\[1\]\.id\)/,
      /^wf\.yaml:20:20: phases\[0\]\.items\[2\]\.verification\.command: type command needs a non-empty command/,
      /^wf\.yaml:21:29: phases\[0\]\.items\[2\]\.verification\.expect_exit_code: must be an integer/,
    ];
    expect(errors).toHaveLength(expected.length);
    expected.forEach((re, i) => expect(errors[i]).toMatch(re));
  });

  test('structural problems at the top level', () => {
    expect(errorsOf('version: "1"\nphases: []\n')).toEqual([
      expect.stringMatching(/^wf\.yaml:1:1: top level: name is required/),
      expect.stringMatching(/^wf\.yaml:2:9: phases: must be a non-empty list/),
    ]);
    expect(errorsOf('name: W\nsettings: [1]\nphases:\n  - id: P\n    name: P\n')).toEqual([
      expect.stringMatching(/^wf\.yaml:2:11: settings: must be a mapping/),
    ]);
    expect(errorsOf('')).toEqual([expect.stringMatching(/^wf\.yaml:1:1: top level: must be a mapping/)]);
  });

  test('YAML syntax errors carry their position', () => {
    const errors = errorsOf('name: W\nphases:\n  - id: P\n    name: [unclosed\n');
    expect(errors[0]).toMatch(/^wf\.yaml:\d+:\d+: YAML syntax error: /);
    expect(errorsOf('name: W\nname: X\nphases: []\n')[0]).toMatch(/^wf\.yaml:2:1: YAML syntax error: Map keys must be unique/);
  });

  test('phase ids follow Python str.isupper()', () => {
    const ok = parseWorkflowText(HEAD + '  - {id: PLAN_2, name: A}\n  - {id: P-1, name: B}\n  - {id: É, name: C}\n', 'wf.yaml');
    expect(ok.def.phases.map((p) => p.id)).toEqual(['PLAN_2', 'P-1', 'É']);
    expect(errorsOf(HEAD + '  - {id: "123", name: A}\n')[0]).toMatch(/^wf\.yaml:4:10: phases\[0\]\.id: must be upper-case/);
  });
});

describe('warnings and normalisation', () => {
  test('unknown keys and undefined template variables are warnings with positions', () => {
    const yaml = HEAD + [
      '  - id: P',
      '    name: P',
      '    colour: red',                     // 6
      '    items:',
      '      - id: a',
      '        name: A',
      '        verification:',
      '          type: command',
      '          command: "make {{target}}"', // 12
      '          retries: 2',                // 13
    ].join('\n') + '\nextra: 1\n';            // 14
    const { warnings } = parseWorkflowText(yaml, 'wf.yaml');
    expect(warnings).toEqual([
      expect.stringMatching(/^wf\.yaml:6:5: phases\[0\]\.colour: unknown key "colour" is ignored/),
      expect.stringMatching(/^wf\.yaml:12:20: phases\[0\]\.items\[0\]\.verification\.command: \{\{target\}\} is not defined in settings/),
      expect.stringMatching(/^wf\.yaml:13:11: phases\[0\]\.items\[0\]\.verification\.retries: unknown key "retries"/),
      expect.stringMatching(/^wf\.yaml:14:1: extra: unknown key "extra" is ignored \(known keys: name, version/),
    ]);
  });

  test('applies the Pydantic validators and fills every default', () => {
    const yaml = HEAD + [
      '  - id: P',
      '    name: P',
      '    items:',
      '      - {id: g, name: G, step_type: gate, required: no, skippable: yes}',
      '      - {id: r, name: R, step_type: required, required: false}',
      '      - {id: m, name: M, verification: {type: manual_gate}}',
      '      - {id: m2, name: M2, skip_conditions: [later], verification: {type: manual_gate}}',
    ].join('\n') + '\n';
    const { def } = parseWorkflowText(yaml, 'wf.yaml');
    const flags = def.phases[0]?.items.map((i) => [i.id, i.required, i.skippable]);
    expect(flags).toEqual([['g', true, false], ['r', true, false], ['m', true, false], ['m2', true, true]]);
    expect(def.description).toBeNull();
    expect(def.settings).toEqual({});
    expect(def.phases[0]?.items[0]?.verification).toEqual({
      type: 'none', path: null, command: null, expect_exit_code: 0, description: null,
    });
  });
});

describe('the bundled default workflow', () => {
  test('validates with no warnings and has the five phases', () => {
    const { def, warnings } = loadDefaultWorkflow();
    expect(warnings).toEqual([]);
    expect(def.name).toBe('orch default workflow');
    expect(def.version).toBe('1.0');
    expect(def.phases.map((p) => p.id)).toEqual(['PLAN', 'EXECUTE', 'REVIEW', 'VERIFY', 'LEARN']);
    expect(def.settings).toEqual({
      test_command: 'npm test', docs_dir: 'docs', tests_dir: 'tests', command_timeout_seconds: 300, approvals: { allow_agent: false },
    });
    const gates = def.phases.flatMap((p) => p.items).filter((i) => i.step_type === 'gate').map((i) => i.id);
    expect(gates).toEqual(['plan_approval', 'run_tests', 'full_test_suite']);
  });

  test('returns a fresh object each time and is commented YAML', () => {
    expect(loadDefaultWorkflow().def).not.toBe(loadDefaultWorkflow().def);
    expect(DEFAULT_WORKFLOW_YAML).toMatch(/^# orch workflow/);
    expect(DEFAULT_WORKFLOW_YAML).toContain('version: "1.0"');
  });
});

describe('settings.approvals', () => {
  const PHASES = 'phases:\n  - id: P\n    name: P\n';
  test('allow_agent must be true or false, and the error names workflow.yaml, line and column', () => {
    const yaml = 'name: "W"\nversion: "1.0"\nsettings:\n  approvals:\n    allow_agent: "sure"\n' + PHASES;
    expect(errorsOf(yaml)).toEqual([expect.stringMatching(/^wf\.yaml:5:18: settings\.approvals\.allow_agent: must be true or false .*got "sure"/)]);
    expect(errorsOf('name: "W"\nversion: "1.0"\nsettings:\n  approvals: yes\n' + PHASES)).toEqual([
      expect.stringMatching(/^wf\.yaml:4:\d+: settings\.approvals: must be a mapping/),
    ]);
  });

  test('allow_agent: true is kept in the definition; an unknown key there is a warning', () => {
    const { def, warnings } = parseWorkflowText('name: "W"\nversion: "1.0"\nsettings:\n  approvals: {allow_agent: true, who: x}\n' + PHASES, 'wf.yaml');
    expect(def.settings['approvals']).toEqual({ allow_agent: true, who: 'x' });
    expect(warnings).toEqual([expect.stringMatching(/settings\.approvals\.who: unknown key "who" is ignored/)]);
  });
});
