import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MAX_SOCKET_PATH_BYTES,
  findRepoRoot,
  isInside,
  isSessionId,
  repoPaths,
  sessionPaths,
  socketDirFor,
  socketPathFor,
} from '../../protocol/node/paths.js';
import { git, makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

const repos: TempRepo[] = [];
afterEach(() => repos.splice(0).forEach((r) => r.remove()));
function repo(opts?: { git?: boolean }): TempRepo {
  const r = makeTempRepo(opts);
  repos.push(r);
  return r;
}

describe('repo root resolution', () => {
  test('walks up from a directory three levels below the .git directory', () => {
    const r = repo();
    const deep = join(r.root, 'a', 'b', 'c');
    mkdirSync(deep, { recursive: true });
    expect(findRepoRoot(deep)).toBe(r.root);
  });

  test('stops at a git worktree, whose .git is a file', () => {
    const r = repo();
    writeFileSync(join(r.root, 'README.md'), 'x\n');
    git(r.root, 'add', 'README.md');
    git(r.root, 'commit', '-qm', 'init');
    const wt = join(r.root, 'wt');
    git(r.root, 'worktree', 'add', '-q', wt);
    mkdirSync(join(wt, 'src', 'deep'), { recursive: true });
    expect(findRepoRoot(join(wt, 'src', 'deep'))).toBe(wt);
  });

  test('a workflow.yaml marks a root too, the nearest marker wins', () => {
    const r = repo();
    mkdirSync(join(r.root, 'pkg', 'src'), { recursive: true });
    writeFileSync(join(r.root, 'pkg', 'workflow.yaml'), 'name: x\n');
    expect(findRepoRoot(join(r.root, 'pkg', 'src'))).toBe(join(r.root, 'pkg'));
  });

  test('falls back to the working directory when no marker exists', () => {
    const r = repo({ git: false });
    mkdirSync(join(r.root, 'x'));
    // /tmp has neither .git nor workflow.yaml above it on this machine.
    expect(findRepoRoot(join(r.root, 'x'))).toBe(join(r.root, 'x'));
  });

  test('an explicit root wins, and two spellings of one repo resolve to the same path', () => {
    const r = repo();
    const link = `${r.root}-link`;
    symlinkSync(r.root, link);
    try {
      expect(findRepoRoot('/', link)).toBe(r.root);
      expect(findRepoRoot(link)).toBe(r.root);
    } finally {
      repos.push({ root: link, remove: () => rmSync(link, { force: true }) });
    }
  });

  test('an explicit root that is not a directory is refused', () => {
    expect(() => findRepoRoot('/', '/definitely/not/here')).toThrow(/not a directory/);
  });
});

describe('session paths', () => {
  test('accept only 8 lowercase hex characters', () => {
    expect(isSessionId('2f76b47f')).toBe(true);
    for (const bad of ['', '..', '../..', '/etc', '2F76B47F', '2f76b47', '2f76b47f0', 'a/b', '2f76b47f\n', ' 2f76b47f', 1234]) {
      expect(isSessionId(bad)).toBe(false);
    }
  });

  test('cannot be built from a hostile id', () => {
    const p = repoPaths('/repo');
    expect(() => sessionPaths(p, '../..')).toThrow(/Invalid session id/);
    expect(sessionPaths(p, '2f76b47f').state).toBe('/repo/.orchestrator/sessions/2f76b47f/state.json');
  });

  test('every file of the layout is under .orchestrator, legacy files in the root', () => {
    const p = repoPaths('/repo');
    for (const key of ['sessionsDir', 'current', 'meta', 'gitignore', 'daemonJson', 'daemonLock', 'daemonLog', 'migrationLock', 'migrationMarker'] as const) {
      expect(isInside('/repo/.orchestrator', p[key])).toBe(true);
    }
    expect(p.legacy.state).toBe('/repo/.workflow_state.json');
    expect(p.legacy.checkpoints).toBe('/repo/.workflow_checkpoints');
    expect(p.legacy.processFeedback).toBe('/repo/.workflow_process_feedback.jsonl');
  });

  test('isInside is lexical and refuses siblings with a common prefix', () => {
    expect(isInside('/repo', '/repo/a/b')).toBe(true);
    expect(isInside('/repo', '/repo')).toBe(true);
    expect(isInside('/repo', '/repo-other/x')).toBe(false);
    expect(isInside('/repo', '/etc/passwd')).toBe(false);
  });
});

describe('socket path', () => {
  test('stays short whatever the depth of the repo', () => {
    const deepRoot = '/tmp/' + 'very-long-directory-name/'.repeat(12);
    const dir = socketDirFor({}, 1000);
    const socket = socketPathFor(dir, deepRoot);
    expect(Buffer.byteLength(socket)).toBeLessThanOrEqual(MAX_SOCKET_PATH_BYTES);
    expect(socketPathFor(dir, '/a')).not.toBe(socketPathFor(dir, '/b'));
  });

  test('honours ORCH_SOCKET_DIR, then XDG_RUNTIME_DIR', () => {
    expect(socketDirFor({ ORCH_SOCKET_DIR: '/s', XDG_RUNTIME_DIR: '/x' }, 1)).toBe('/s');
    expect(socketDirFor({ XDG_RUNTIME_DIR: '/x' }, 1)).toBe('/x/orch');
  });
});
