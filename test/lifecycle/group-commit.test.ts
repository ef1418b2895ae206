import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { repoPaths } from '../../protocol/node/paths.js';
import { createDaemonContext, type DaemonContext } from '../../daemon/context.js';
import { makeEvent, type OpResult } from '../../daemon/engine/ops-common.js';
import type { WorkflowState } from '../../daemon/engine/types.js';
import { createInitialState } from '../../daemon/engine/state-factory.js';
import { loadDefaultWorkflow } from '../../daemon/engine/workflow-loader.js';
import { OrchError } from '../../daemon/errors.js';
import { resolveConfig } from '../../daemon/runtime/config.js';
import type { Logger } from '../../daemon/runtime/logger.js';
import { mutateSession } from '../../daemon/services/commit.js';
import type { LoadedState } from '../../daemon/store/state-file.js';
import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

let repo: TempRepo | null = null;
afterEach(() => {
  repo?.remove();
  repo = null;
});

const quietLog = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

async function setup(): Promise<{ ctx: DaemonContext; id: string; changes: number[] }> {
  repo = makeTempRepo({ git: false, prefix: 'orch-group-' });
  const paths = repoPaths(repo.root);
  const ctx = createDaemonContext({
    config: resolveConfig(repo.root, {}), paths, log: quietLog as unknown as Logger, mode: 'in-process', socketPath: 'in-process', lastExitReason: null,
    runtime: { connections: () => 0, requestShutdown: () => undefined },
  });
  const id = await ctx.store.create();
  const def = loadDefaultWorkflow().def;
  const state = createInitialState(def, {
    task: 'group', project: null, constraints: [], workflowYamlPath: null, workflowYamlChecksum: null, workflowId: 'wf_group',
  });
  await ctx.states.save(id, state, []);
  const changes: number[] = [];
  ctx.events.on('sessionChanged', () => changes.push(Date.now()));
  return { ctx, id, changes };
}

/** A change that appends `n` to `metadata.seen` (plain objects only: jest's realm rejects structuredClone copies). */
function append(n: number, error?: OrchError): (l: LoadedState) => OpResult {
  return (l) => {
    const seen = [...((l.state.metadata.seen as number[] | undefined) ?? []), n];
    const state: WorkflowState = { ...l.state, metadata: { ...l.state.metadata, seen } };
    return { state, events: [makeEvent(state, new Date(), 'noted', `seen ${seen.join(',')}`)], message: `seen ${seen.join(',')}`, error };
  };
}

function onDisk(ctx: DaemonContext, id: string): { seen: number[]; log: string[] } {
  const state = JSON.parse(readFileSync(ctx.store.pathsFor(id).state, 'utf8'));
  const log = readFileSync(ctx.store.pathsFor(id).log, 'utf8').trim().split('\n').map((l) => JSON.parse(l).message as string);
  return { seen: state.metadata.seen, log };
}

describe('group commit of queued changes', () => {
  test('changes queued on one session are applied in order, saved with one write, and each caller answered', async () => {
    const { ctx, id, changes } = await setup();
    // Hold the session so that the changes below queue up into one batch.
    let release: (() => void) | null = null;
    const held = ctx.locks.runExclusive(id, () => new Promise<void>((r) => (release = r)));
    while (release === null) await new Promise((r) => setImmediate(r));
    const boom = new OrchError('InvalidArgument', 'boom');
    const writes = jest.spyOn(ctx.store, 'writeStateText');
    const calls = [
      mutateSession(ctx, id, append(1)),
      mutateSession(ctx, id, () => {
        throw boom;
      }),
      mutateSession(ctx, id, append(2, new OrchError('VerificationFailed', 'recorded refusal'))),
      mutateSession(ctx, id, append(3)),
      mutateSession(ctx, id, (l) => ({ state: l.state, events: [], message: 'nothing to do' })),
    ];
    (release as () => void)();
    await held;
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toBe(boom);
    expect(((settled[2] as PromiseRejectedResult).reason as Error).message).toBe('recorded refusal');
    const answers = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.message] : []));
    expect(answers).toEqual(['seen 1', 'seen 1,2,3', 'nothing to do']);
    expect(writes).toHaveBeenCalledTimes(1);
    expect(changes).toHaveLength(1);
    // The recorded refusal is saved with the rest, every event in order.
    expect(onDisk(ctx, id)).toEqual({ seen: [1, 2, 3], log: ['seen 1', 'seen 1,2', 'seen 1,2,3'] });
  });

  test('a change arriving while a batch is being written goes into the next batch, after it', async () => {
    const { ctx, id } = await setup();
    const first = mutateSession(ctx, id, append(1));
    await new Promise((r) => setImmediate(r));
    const second = mutateSession(ctx, id, append(2));
    const [a, b] = await Promise.all([first, second]);
    expect([a.message, b.message]).toEqual(['seen 1', 'seen 1,2']);
    expect(onDisk(ctx, id)).toEqual({ seen: [1, 2], log: ['seen 1', 'seen 1,2'] });
  });
});
