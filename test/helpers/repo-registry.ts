/**
 * Temp-repo bookkeeping for the CLI tests: every repo made or tracked here has its daemon stopped
 * and is removed after each test of the calling file. (The lifecycle tests use `useTempRepos` in
 * lifecycle.ts, which also kills daemons that linger.)
 */
import { afterEach } from '@jest/globals';
import { stopDaemon } from './run-orch.js';
import { makeTempRepo, type TempRepo } from './temp-repo.js';

export interface RepoRegistry {
  /** A fresh temp repo (see `makeTempRepo`), torn down after the test. */
  repo(opts?: Parameters<typeof makeTempRepo>[0]): TempRepo;
  /** Registers a repo made elsewhere (e.g. `makeLegacyRepo()`) for the same teardown; returns it. */
  track<T extends TempRepo>(r: T): T;
}

/** Registers an `afterEach` that stops each registered repo's daemon, then removes the repo. */
export function useRepoRegistry(): RepoRegistry {
  const repos: TempRepo[] = [];
  afterEach(async () => {
    for (const r of repos.splice(0)) {
      await stopDaemon(r.root);
      r.remove();
    }
  });
  const track = <T extends TempRepo>(r: T): T => {
    repos.push(r);
    return r;
  };
  return { repo: (opts) => track(makeTempRepo(opts)), track };
}
