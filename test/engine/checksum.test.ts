import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { computeChecksum, parseStateFile, serializeState } from '../../daemon/engine/checksum.js';
import { parseLossless } from '../../daemon/engine/pyjson.js';
import { OrchError } from '../../daemon/errors.js';
import { LEGACY_FIXTURE, NEW_LAYOUT_FIXTURE } from '../helpers/fixtures.js';

const NEW_STATE = path.join(NEW_LAYOUT_FIXTURE, '.orchestrator/sessions/2f76b47f/state.json');
const LEGACY_STATE = path.join(LEGACY_FIXTURE, '.workflow_state.json');

function readFixture(file: string): string {
  return readFileSync(file, 'utf8');
}

function corruptError(fn: () => unknown): OrchError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OrchError);
    expect((err as OrchError).errorName).toBe('StateCorrupt');
    return err as OrchError;
  }
  throw new Error('expected StateCorrupt');
}

describe('state checksum', () => {
  test('recomputes the checksum the Python tool stored in the 3.0 fixture', () => {
    const parsed = parseStateFile(readFixture(NEW_STATE), 'state.json');
    expect(parsed.integrity).toBe('ok');
    expect(parsed.expected).toBe('909e21afcee9f0e2fe5dcd148f9e8e93');
    expect(parsed.actual).toBe('909e21afcee9f0e2fe5dcd148f9e8e93');
    expect(computeChecksum(parsed.state)).toBe('909e21afcee9f0e2fe5dcd148f9e8e93');
  });

  test('matches python3 json.dumps(sort_keys=True) + sha256 for non-ASCII text', () => {
    // python3 -c 'import json,hashlib; print(hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:32])'
    expect(computeChecksum({ task_description: 'Café été', n: 1 })).toBe('2cabff101f91a781edcff565cfa217d0');
    expect(computeChecksum({ 'kéy': 'v', ctl: 'tab\there\nnl "q" \\ \x7f \x01' })).toBe('d2e50b031c84b3c32b9c8765934cf890');
    const withFloat = parseLossless('{"emoji": "ship it \\ud83d\\ude80", "z": [1, 2.0, null, true], "a": {"b": "→"}}');
    expect(computeChecksum(withFloat as object)).toBe('5a6518f070d57a572e2cba1190b5c342');
  });

  test('leaves the trailer keys out of the checksum', () => {
    const body = { a: 'x' };
    expect(computeChecksum({ ...body, _version: '3.0', _checksum: 'f'.repeat(32), _updated_at: 'now' })).toBe(
      computeChecksum(body),
    );
  });
});

describe('serializeState', () => {
  test('reproduces the Python-written fixture byte for byte', () => {
    const text = readFixture(NEW_STATE);
    const parsed = parseStateFile(text, 'state.json');
    expect(parsed.trailer._updated_at).toBe('2026-11-23T22:51:40.079327+00:00');
    expect(serializeState(parsed.state, parsed.trailer._updated_at)).toBe(text);
  });

  test('appends the trailer last, formats _updated_at with +00:00 and writes no trailing newline', () => {
    const { state } = parseStateFile(readFixture(NEW_STATE), 'state.json');
    const text = serializeState(state, new Date('2026-01-02T03:04:05.678Z'));
    const keys = Object.keys(JSON.parse(text) as object);
    expect(keys.slice(-3)).toEqual(['_version', '_checksum', '_updated_at']);
    expect(text).toMatch(/"_updated_at": "2026-01-02T03:04:05\.678\d{3}\+00:00"\n}$/);
  });

  test('writes a file that verifies after an edit', () => {
    const { state } = parseStateFile(readFixture(NEW_STATE), 'state.json');
    state.task_description = 'Tâche révisée 🚀';
    const reread = parseStateFile(serializeState(state), 'state.json');
    expect(reread.integrity).toBe('ok');
    expect(reread.state).toEqual(state);
    expect(serializeState(state)).toContain('"T\\u00e2che r\\u00e9vis\\u00e9e \\ud83d\\ude80"');
  });
});

describe('serializing a state whose workflow definition was rendered before', () => {
  test('writes the same bytes for a second state sharing the definition, after a change', () => {
    const text = readFixture(NEW_STATE);
    const first = parseStateFile(text, 'state.json').state;
    expect(serializeState(first, '2026-11-23T22:51:40.079327+00:00')).toBe(text);
    // A change, as an operation makes it: a new state object, the same definition object.
    const second = { ...first, task_description: 'Another task', updated_at: '2026-11-24T00:00:00.000000Z' };
    const fresh = parseStateFile(text, 'state.json').state;
    const expected = serializeState({ ...fresh, task_description: 'Another task', updated_at: '2026-11-24T00:00:00.000000Z' }, '2026-11-24T00:00:00.000000+00:00');
    expect(serializeState(second, '2026-11-24T00:00:00.000000+00:00')).toBe(expected);
    expect(parseStateFile(expected, 'state.json').integrity).toBe('ok');
  });

  test('refuses to modify a definition once a state holding it was written', () => {
    const { state } = parseStateFile(readFixture(NEW_STATE), 'state.json');
    serializeState(state);
    const def = state.workflow_definition!;
    expect(() => {
      (def as { name: string }).name = 'changed';
    }).toThrow(TypeError);
    expect(() => def.phases[0]!.items.push(def.phases[0]!.items[0]!)).toThrow(TypeError);
  });
});

describe('parseStateFile', () => {
  test('reports a mismatch for a state changed outside the tool, and still returns it', () => {
    const tampered = readFixture(NEW_STATE).replace('"status": "active",', '"status": "abandoned",');
    const parsed = parseStateFile(tampered, 'state.json');
    expect(parsed.integrity).toBe('mismatch');
    expect(parsed.expected).toBe('909e21afcee9f0e2fe5dcd148f9e8e93');
    expect(parsed.actual).not.toBe(parsed.expected);
    expect(parsed.state.status).toBe('abandoned');
  });

  test('reads a 2.0 legacy file without trailer, filling the fields it lacks', () => {
    const parsed = parseStateFile(readFixture(LEGACY_STATE), '.workflow_state.json');
    expect(parsed.integrity).toBe('missing');
    expect(parsed.trailer).toEqual({});
    const phase = parsed.state.workflow_definition?.phases[0];
    expect(phase?.required_reviews).toEqual([]);
    expect(phase?.phase_type).toBe('guided');
    expect(phase?.intended_tools).toEqual([]);
    expect(parsed.state.current_phase_id).toBe('EXECUTE');
  });

  test('fills defaults for missing constraints and item fields', () => {
    const text = JSON.stringify({
      workflow_id: 'wf_1',
      workflow_type: 'T',
      task_description: 'x',
      current_phase_id: 'P',
      phases: { P: { id: 'P', status: 'active', items: { a: { id: 'a', status: 'pending' } } } },
    });
    const { state, integrity } = parseStateFile(text, 'state.json');
    expect(integrity).toBe('missing');
    expect(state.constraints).toEqual([]);
    expect(state.metadata).toEqual({});
    expect(state.workflow_definition).toBeNull();
    expect(state.phases.P?.items.a).toEqual({
      id: 'a', status: 'pending', started_at: null, completed_at: null, skipped_at: null, skip_reason: null,
      skip_context_considered: null, notes: null, verification_result: null, retry_count: 0, files_modified: null,
      evidence: null, gate_result: null,
    });
  });

  test('names the file, line and column of a JSON syntax error', () => {
    const err = corruptError(() => parseStateFile('{\n  "a": 1,\n  "b": \n}', 'sessions/ab12cd34/state.json'));
    expect(err.message).toContain('sessions/ab12cd34/state.json');
    expect(err.message).toMatch(/line 4, column 1/);
  });

  test('refuses JSON that is not a workflow state', () => {
    expect(corruptError(() => parseStateFile('[1, 2]', 'state.json')).message).toContain('state.json');
    const prd = corruptError(() => parseStateFile('{"tasks": [], "dependencies": {}}', 'state.json'));
    expect(prd.message).toMatch(/workflow_id/);
    const badStatus = JSON.stringify({ workflow_id: 'w', workflow_type: 't', task_description: 'x', current_phase_id: 'P', phases: {}, status: 'weird' });
    expect(corruptError(() => parseStateFile(badStatus, 'state.json')).message).toMatch(/status/);
    const badItem = JSON.stringify({ workflow_id: 'w', workflow_type: 't', task_description: 'x', current_phase_id: 'P', phases: { P: { items: { a: { status: 'done' } } } } });
    expect(corruptError(() => parseStateFile(badItem, 'state.json')).message).toMatch(/phases\.P\.items\.a/);
  });
});
