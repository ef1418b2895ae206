import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoPaths } from '../../protocol/node/paths.js';
import { makeTempRepo, type TempRepo } from './temp-repo.js';

import { LEGACY_FIXTURE } from './fixtures.js';

/** Files the Python tool 2.0.0 wrote (read-only; tests work on copies). */
export { LEGACY_FIXTURE };

/** A temp git repo holding a writable copy of the legacy fixture, dot-files included. */
export function makeLegacyRepo(): TempRepo {
  const r = makeTempRepo({ prefix: 'orch-legacy-' });
  try {
    execFileSync('cp', ['-R', `${LEGACY_FIXTURE}/.`, r.root]);
    execFileSync('chmod', ['-R', 'u+w', r.root]);
  } catch (err) {
    // Not yet handed to the caller's registry: remove it here (a missing fixture once left 31 behind).
    r.remove();
    throw err;
  }
  return r;
}

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 of every legacy file, checkpoint files included, keyed by path relative to the root. */
export function hashLegacy(root: string): Record<string, string> {
  const { state, log, checkpoints, toolFeedback, processFeedback } = repoPaths(root).legacy;
  const out: Record<string, string> = {};
  for (const f of [state, log, toolFeedback, processFeedback]) {
    if (existsSync(f)) out[relative(root, f)] = sha256(readFileSync(f));
  }
  if (existsSync(checkpoints)) {
    for (const name of readdirSync(checkpoints)) out[relative(root, join(checkpoints, name))] = sha256(readFileSync(join(checkpoints, name)));
  }
  return out;
}

/** Every path under `.orchestrator/` except the daemon's runtime files, with a hash for files. */
export function orchTree(root: string): Record<string, string> {
  const orchDir = repoPaths(root).orchDir;
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const rel = relative(orchDir, p);
      if (/^daemon\./.test(rel)) continue;
      if (statSync(p).isDirectory()) {
        out[rel + '/'] = 'dir';
        walk(p);
      } else out[rel] = sha256(readFileSync(p));
    }
  };
  if (existsSync(orchDir)) walk(orchDir);
  return out;
}

/** Session folder names under `.orchestrator/sessions/`. */
export function sessionDirs(root: string): string[] {
  const dir = repoPaths(root).sessionsDir;
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** The fixture's state file, parsed. */
export function fixtureState(): any {
  return JSON.parse(readFileSync(join(LEGACY_FIXTURE, '.workflow_state.json'), 'utf8'));
}
