import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseStateFile, serializeState } from '../../daemon/engine/checksum.js';
import { pythonDumps } from '../../daemon/engine/pyjson.js';
import { createInitialState, initialEvents } from '../../daemon/engine/state-factory.js';
import type { WorkflowState } from '../../daemon/engine/types.js';
import { loadDefaultWorkflow } from '../../daemon/engine/workflow-loader.js';
import { NEW_LAYOUT_FIXTURE } from '../helpers/fixtures.js';

const SESSION = path.join(NEW_LAYOUT_FIXTURE, '.orchestrator/sessions/2f76b47f');
const fixtureText = readFileSync(path.join(SESSION, 'state.json'), 'utf8');
const fixture = parseStateFile(fixtureText, 'state.json').state;
const NOW = new Date('2026-11-23T22:51:13.113Z');

function startFromFixtureDef(): WorkflowState {
  const def = fixture.workflow_definition;
  if (!def) throw new Error('fixture has no definition');
  return createInitialState(def, {
    task: 'Add rate limiting to the public API',
    project: 'demo-api',
    workflowYamlPath: '/home/dev/demo-new/workflow.yaml',
    workflowYamlChecksum: '72685fa504569396',
    workflowId: 'wf_6601fe99',
    now: NOW,
  });
}

/** Key paths of an object, depth first, in insertion order: compares shapes including order. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keyPaths(v, `${prefix}${k}.`)]);
}

describe('createInitialState', () => {
  test('has the same fields, in the same order, as the state the Python tool wrote', () => {
    const state = startFromFixtureDef();
    // Everything but verification/gate results, which only exist after items are worked on.
    const shape = (s: WorkflowState): string[] =>
      keyPaths({ ...s, workflow_definition: null }).filter((k) => !/\.(verification_result|gate_result)\./.test(k));
    expect(shape(state)).toEqual(shape(fixture));
    expect(JSON.stringify(state.workflow_definition)).toBe(JSON.stringify(fixture.workflow_definition));
    expect(state.metadata).toEqual(fixture.metadata);
  });

  test('starts the first phase and leaves every other phase and item pending', () => {
    const state = startFromFixtureDef();
    expect(state.status).toBe('active');
    expect(state.current_phase_id).toBe('PLAN');
    expect(state.created_at).toMatch(/^2026-11-23T22:51:13\.113\d{3}Z$/);
    expect(state.updated_at).toBe(state.created_at);
    const phases = Object.values(state.phases);
    expect(phases.map((p) => p.status)).toEqual(['active', 'pending', 'pending', 'pending', 'pending', 'pending']);
    expect(phases[0]?.started_at).toBe(state.created_at);
    expect(phases.slice(1).every((p) => p.started_at === null)).toBe(true);
    for (const phase of phases) {
      for (const item of Object.values(phase.items)) {
        expect(item).toEqual({
          id: item.id, status: 'pending', started_at: null, completed_at: null, skipped_at: null, skip_reason: null,
          skip_context_considered: null, notes: null, verification_result: null, retry_count: 0,
          files_modified: null, evidence: null, gate_result: null,
        });
      }
    }
  });

  test('omits null metadata, defaults project and constraints, and copies constraints', () => {
    const { def } = loadDefaultWorkflow();
    const constraints = ['no new dependencies'];
    const state = createInitialState(def, {
      task: 't', constraints, workflowYamlPath: null, workflowYamlChecksum: null, workflowId: 'wf_00000000',
    });
    expect(state.metadata).toEqual({});
    expect(state.project).toBeNull();
    expect(state.constraints).toEqual(constraints);
    expect(state.constraints).not.toBe(constraints);
    expect(state.workflow_type).toBe('orch default workflow');
    expect(state.workflow_version).toBe('1.0');
  });

  test('refuses a definition without phases', () => {
    const { def } = loadDefaultWorkflow();
    expect(() =>
      createInitialState({ ...def, phases: [] }, { task: 't', workflowYamlPath: null, workflowYamlChecksum: null, workflowId: 'wf_1' }),
    ).toThrow(expect.objectContaining({ errorName: 'InvalidWorkflow' }));
  });

  test('round-trips through serializeState and parseStateFile with a valid checksum', () => {
    const state = startFromFixtureDef();
    const parsed = parseStateFile(serializeState(state), 'state.json');
    expect(parsed.integrity).toBe('ok');
    expect(parsed.state).toEqual(state);
  });
});

describe('initialEvents', () => {
  test('match the first two lines of the Python log apart from the timestamps', () => {
    const lines = readFileSync(path.join(SESSION, 'log.jsonl'), 'utf8').split('\n').slice(0, 2);
    const events = initialEvents(startFromFixtureDef(), NOW);
    const stamp = /"timestamp": "[^"]+"/;
    expect(events.map((e) => pythonDumps(e).replace(stamp, 'T'))).toEqual(lines.map((l) => l.replace(stamp, 'T')));
    for (const e of events) expect(e.timestamp).toMatch(/^2026-11-23T22:51:13\.113\d{3}Z$/);
  });

  test('name the phase by id when the state has no definition', () => {
    const state = { ...startFromFixtureDef(), workflow_definition: null };
    expect(initialEvents(state)[1]?.message).toBe('Started phase: PLAN');
  });
});
