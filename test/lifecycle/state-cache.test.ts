import { afterEach, describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { repoPaths } from '../../protocol/node/paths.js';
import { createInitialState } from '../../daemon/engine/state-factory.js';
import { loadDefaultWorkflow } from '../../daemon/engine/workflow-loader.js';
import { SessionStore } from '../../daemon/store/session-store.js';
import { StateFiles } from '../../daemon/store/state-file.js';
import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

let repo: TempRepo | null = null;
afterEach(() => {
  repo?.remove();
  repo = null;
});

async function freshSession(): Promise<{ store: SessionStore; states: StateFiles; id: string }> {
  repo = makeTempRepo({ git: false, prefix: 'orch-cache-' });
  const store = new SessionStore(repoPaths(repo.root));
  const states = new StateFiles(store, repo.root);
  const id = await store.create();
  const state = createInitialState(loadDefaultWorkflow().def, {
    task: 'cache', project: null, constraints: [], workflowYamlPath: null, workflowYamlChecksum: null, workflowId: 'wf_cache',
  });
  await states.save(id, state, []);
  return { store, states, id };
}

describe('state cache', () => {
  test('a load after a save is served from memory and equals a fresh parse of the file', async () => {
    const { store, states, id } = await freshSession();
    const a = await states.load(id);
    const b = await states.load(id);
    expect(a?.state).toBe(b?.state);
    states.clearCache();
    const parsed = await states.load(id);
    expect(JSON.stringify(parsed?.state)).toBe(JSON.stringify(a?.state));
    expect(parsed?.warnings).toEqual([]);
  });

  test('an outside edit is re-read, and its checksum warning is reported on every load', async () => {
    const { store, states, id } = await freshSession();
    await states.load(id);
    const file = store.pathsFor(id).state;
    writeFileSync(file, readFileSync(file, 'utf8').replace('"task_description": "cache"', '"task_description": "edited"'));
    for (let i = 0; i < 2; i++) {
      const loaded = await states.load(id);
      expect(loaded?.state.task_description).toBe('edited');
      expect(loaded?.warnings).toHaveLength(1);
      expect(loaded?.warnings[0]).toMatch(/does not match its checksum/);
    }
    // A save writes a fresh checksum: the warning goes away.
    const loaded = await states.load(id);
    await states.save(id, loaded!.state, []);
    expect((await states.load(id))?.warnings).toEqual([]);
  });

  test('a removed state.json loads as null', async () => {
    const { store, states, id } = await freshSession();
    await states.load(id);
    const { rmSync } = await import('node:fs');
    rmSync(store.pathsFor(id).state);
    expect(await states.load(id)).toBeNull();
  });
});
