/**
 * The working tree's fingerprint, called directly on real temp git repos: it equals HEAD^{tree}
 * when clean, sees untracked files, never writes the repo's index or objects, and removes its
 * temporary folder whether git succeeds or fails.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fingerprintTree } from '../../daemon/engine/fingerprint.js';
import { git, makeTempDir, makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

function committedRepo(): TempRepo {
  const r = makeTempRepo({ prefix: 'orch-fp-test-' });
  made.push(r.root);
  writeFileSync(join(r.root, 'app.txt'), 'one\n');
  git(r.root, 'add', '-A');
  git(r.root, 'commit', '-q', '-m', 'init');
  return r;
}

/** Runs `fn` with os.tmpdir() pointing at a private folder, and returns what was left in it. */
async function leftoversOf(fn: () => Promise<unknown>): Promise<string[]> {
  const tmp = makeTempDir('orch-fp-tmp-');
  made.push(tmp);
  const before = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    await fn();
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
  return readdirSync(tmp);
}

describe('working tree fingerprint', () => {
  test('a clean tree fingerprints as HEAD^{tree}; an untracked file changes it; the index and objects stay as they were', async () => {
    const r = committedRepo();
    const index = readFileSync(join(r.root, '.git', 'index'));
    const objects = git(r.root, 'count-objects', '-v');
    const clean = await fingerprintTree(r.root);
    expect(clean.evidence).toMatchObject({ method: 'git-tree', tree: git(r.root, 'rev-parse', 'HEAD^{tree}').trim(), head: git(r.root, 'rev-parse', 'HEAD').trim() });
    writeFileSync(join(r.root, 'new.txt'), 'untracked\n');
    const dirty = await fingerprintTree(r.root, { compare: [{ base: clean.evidence.tree as string }] });
    expect(dirty.evidence.tree).not.toBe(clean.evidence.tree);
    expect(dirty.changes).toEqual([{ count: 1, files: ['new.txt'] }]);
    expect(readFileSync(join(r.root, '.git', 'index')).equals(index)).toBe(true);
    expect(git(r.root, 'count-objects', '-v')).toBe(objects);
    expect(git(r.root, 'status', '--porcelain')).toBe('?? new.txt\n');
  });

  test('a same-size edit whose stat data matches the index is still seen, as git status sees it (racy entries)', async () => {
    // The entry and the index share one mtime, so git must compare the content (a "racily clean"
    // entry); ctime is left out of the stat check so only that rule can tell the edit apart.
    const r = committedRepo();
    git(r.root, 'config', 'core.trustctime', 'false');
    const file = join(r.root, 'app.txt');
    const then = new Date('2026-01-01T00:00:00Z');
    utimesSync(file, then, then);
    git(r.root, 'add', 'app.txt');
    writeFileSync(file, 'two\n');
    utimesSync(file, then, then);
    utimesSync(join(r.root, '.git', 'index'), then, then);
    const fp = await fingerprintTree(r.root);
    expect(fp.evidence.tree).not.toBe(git(r.root, 'rev-parse', 'HEAD^{tree}').trim());
    // (git status comes last: it would rewrite the index and mark the entry for a content check.)
    expect(git(r.root, 'status', '--porcelain')).toBe(' M app.txt\n');
  });

  test('with a private index kept between runs, each fingerprint equals one taken from scratch, and committed .orchestrator files never count', async () => {
    const r = committedRepo();
    const cacheDir = makeTempDir('orch-fp-cache-');
    made.push(cacheDir);
    const storeDir = join(cacheDir, 'objects');
    mkdirSync(storeDir);
    const index = () => readFileSync(join(r.root, '.git', 'index'));
    const both = async (): Promise<string> => {
      const kept = await fingerprintTree(r.root, { cacheDir, storeDir, ignore: ['notes/**'] });
      const fresh = await fingerprintTree(r.root, { ignore: ['notes/**'] });
      expect(kept.evidence.method).toBe('git-tree');
      expect(kept.evidence.tree).toBe(fresh.evidence.tree);
      return kept.evidence.tree as string;
    };
    const head = git(r.root, 'rev-parse', 'HEAD^{tree}').trim();
    expect(await both()).toBe(head);
    expect(await both()).toBe(head); // from the private index, no write
    writeFileSync(join(r.root, 'app.txt'), 'one, edited\n');
    const edited = await both();
    expect(edited).not.toBe(head);
    expect(await both()).toBe(edited);
    writeFileSync(join(r.root, 'added.txt'), 'untracked\n');
    mkdirSync(join(r.root, 'notes'));
    writeFileSync(join(r.root, 'notes', 'n.md'), 'ignored by the globs\n');
    const added = await both();
    expect(added).not.toBe(edited);
    rmSync(join(r.root, 'added.txt'));
    expect(await both()).toBe(edited);
    // Committing what was fingerprinted changes the repo's index, not the tree; so do .orchestrator files.
    mkdirSync(join(r.root, '.orchestrator'));
    writeFileSync(join(r.root, '.orchestrator', 'shared.json'), '{}\n');
    git(r.root, 'add', '-A', '--', 'app.txt', '.orchestrator');
    git(r.root, 'commit', '-q', '-m', 'edit and share');
    const before = index();
    expect(await both()).toBe(edited);
    writeFileSync(join(r.root, '.orchestrator', 'shared.json'), '{"changed": true}\n');
    expect(await both()).toBe(edited);
    rmSync(join(r.root, 'app.txt'));
    expect(await both()).not.toBe(edited);
    expect(index().equals(before)).toBe(true);
    expect(readdirSync(cacheDir).filter((n) => n.startsWith('index-'))).toHaveLength(1);
    expect(readdirSync(cacheDir).filter((n) => !n.startsWith('index-'))).toEqual(['objects']);
    // orch's store holds the trees it needs to name changed files, never a file's content.
    const kept = readdirSync(storeDir).flatMap((d) => readdirSync(join(storeDir, d)).map((f) => d + f));
    expect(kept.length).toBeGreaterThan(0);
    const env = { ...process.env, GIT_OBJECT_DIRECTORY: storeDir, GIT_ALTERNATE_OBJECT_DIRECTORIES: join(r.root, '.git', 'objects') };
    const types = kept.map((id) => execFileSync('git', ['cat-file', '-t', id], { cwd: r.root, env, encoding: 'utf8' }).trim());
    expect(new Set(types)).toEqual(new Set(['tree']));
  });

  test('the temporary folder is removed after success and after git fails', async () => {
    const r = committedRepo();
    writeFileSync(join(r.root, 'new.txt'), 'untracked\n');
    expect(await leftoversOf(() => fingerprintTree(r.root))).toEqual([]);
    // A damaged index makes git fail on its copy: the evidence is unbound, the folder still goes.
    writeFileSync(join(r.root, '.git', 'index'), 'not an index');
    let failed: Awaited<ReturnType<typeof fingerprintTree>> | null = null;
    const left = await leftoversOf(async () => {
      failed = await fingerprintTree(r.root);
    });
    expect(left).toEqual([]);
    expect(failed!.evidence).toMatchObject({ method: 'unbound', tree: null });
    expect(failed!.evidence.reason).toMatch(/^git [a-z-]+( --cached)? failed: .*index/);
  });

  test('outside git the evidence is unbound, with the reason', async () => {
    const dir = makeTempDir('orch-fp-nogit-');
    made.push(dir);
    const fp = await fingerprintTree(dir);
    expect(fp.evidence).toMatchObject({ method: 'unbound', tree: null, head: null });
    expect(fp.evidence.reason).toMatch(/not a git repository/);
  });
});
