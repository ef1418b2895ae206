import { afterEach, describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPaths } from '../../protocol/node/paths.js';
import { sweepSessionTempFiles } from '../../daemon/store/temp-files.js';
import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

let repo: TempRepo | null = null;
afterEach(() => {
  repo?.remove();
  repo = null;
});

describe('background temp-file sweep', () => {
  test('removes only temp files older than the start, in every session folder', async () => {
    repo = makeTempRepo({ git: false, prefix: 'orch-sweep-' });
    const paths = repoPaths(repo.root);
    const ids = Array.from({ length: 10 }, (_, i) => `0000000${i}`);
    const old = new Date(Date.now() - 60_000);
    for (const id of ids) {
      const dir = join(paths.sessionsDir, id);
      mkdirSync(join(dir, 'checkpoints'), { recursive: true });
      mkdirSync(join(dir, 'feedback'), { recursive: true });
      for (const f of [join(dir, 'state.json.123'), join(dir, 'checkpoints', 'cp_x.json.7')]) {
        writeFileSync(f, 'debris');
        utimesSync(f, old, old);
      }
      writeFileSync(join(dir, 'state.json'), '{}');
    }
    const marker = join(paths.sessionsDir, 'marker');
    writeFileSync(marker, '');
    const startedNs = statSync(marker, { bigint: true }).mtimeNs;
    // A write in progress after the start: its temp file must survive.
    const fresh = join(paths.sessionsDir, ids[3] as string, 'state.json.999');
    writeFileSync(fresh, 'in flight');
    utimesSync(fresh, new Date(Date.now() + 5_000), new Date(Date.now() + 5_000));

    const removed = await sweepSessionTempFiles(paths, ids, startedNs).done;
    expect(removed).toHaveLength(20);
    for (const id of ids) {
      expect(existsSync(join(paths.sessionsDir, id, 'state.json.123'))).toBe(false);
      expect(existsSync(join(paths.sessionsDir, id, 'state.json'))).toBe(true);
    }
    expect(existsSync(fresh)).toBe(true);
  });
});
