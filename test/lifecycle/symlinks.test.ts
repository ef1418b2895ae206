/**
 * A repository can carry symbolic links (a hostile clone, `git add -f`). No link planted at any
 * level of `.orchestrator/` may make orch write (or truncate, or read) outside the repository:
 * the command is refused with the link's path and the fix, exit 1, and the outside target is
 * byte-identical afterwards.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { orch, orchJson, useTempRepos } from '../helpers/lifecycle.js';

const repo = useTempRepos();
const outsideDirs: string[] = [];
afterEach(() => {
  for (const d of outsideDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Every entry below `dir` with the hash of its bytes: equal snapshots mean nothing was touched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out[r] = 'dir';
        walk(p, r);
      } else out[r] = `${st.size}:${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk(dir, '');
  return out;
}

interface Planted {
  /** The link, inside the repo. */
  link: string;
  /** The folder outside the repo that must stay byte-identical. */
  outside: string;
}

/**
 * A repo with a started session and no daemon running, then `plant` replaces something in it by a
 * link to a copy (or an empty folder) outside the repository.
 */
async function setUp(plant: (orchDir: string, sessionDir: string, outside: string) => string): Promise<Planted & { root: string; sessionDir: string }> {
  const r = repo();
  expect((await orch(['start', 'Symlink test'], r.root)).code).toBe(0);
  await orch(['checkpoint', '-m', 'before'], r.root);
  await orch(['feedback', 'add', 'before'], r.root);
  expect((await orch(['daemon', 'stop'], r.root)).code).toBe(0);
  const orchDir = join(r.root, '.orchestrator');
  const id = readFileSync(join(orchDir, 'current'), 'utf8').trim();
  const sessionDir = join(orchDir, 'sessions', id);
  const outside = mkdtempSync('/tmp/orch-outside-');
  outsideDirs.push(outside);
  const link = plant(orchDir, sessionDir, outside);
  expect(lstatSync(link).isSymbolicLink()).toBe(true);
  return { root: r.root, sessionDir, link, outside };
}

/** Moves `path` (file or folder) outside and leaves a link to it in its place. */
function replaceByLink(path: string, outside: string): string {
  const target = join(outside, 'target');
  cpSync(path, target, { recursive: true });
  rmSync(path, { recursive: true, force: true });
  symlinkSync(target, path);
  return path;
}

/** A file outside holding `bytes`, linked from `path`. */
function linkToFile(path: string, outside: string, bytes: Buffer): string {
  const target = join(outside, 'victim');
  writeFileSync(target, bytes);
  rmSync(path, { force: true });
  symlinkSync(target, path);
  return path;
}

const CASES: [string, (orchDir: string, sessionDir: string, outside: string) => string, string[]][] = [
  ['.orchestrator itself', (o, _s, out) => replaceByLink(o, out), ['complete', 'clarify_requirements']],
  ['the session folder', (_o, s, out) => replaceByLink(s, out), ['complete', 'clarify_requirements']],
  ['the checkpoints folder', (_o, s, out) => replaceByLink(join(s, 'checkpoints'), out), ['checkpoint', '-m', 'after']],
  ['the feedback folder', (_o, s, out) => replaceByLink(join(s, 'feedback'), out), ['feedback', 'add', 'after']],
  ['state.json', (_o, s, out) => replaceByLink(join(s, 'state.json'), out), ['complete', 'clarify_requirements']],
  ['log.jsonl', (_o, s, out) => replaceByLink(join(s, 'log.jsonl'), out), ['complete', 'clarify_requirements']],
  ['the session meta.json', (_o, s, out) => replaceByLink(join(s, 'meta.json'), out), ['complete', 'clarify_requirements']],
  ['current', (o, _s, out) => replaceByLink(join(o, 'current'), out), ['complete', 'clarify_requirements']],
  // Over its 1 MB cap, daemon.out used to be reopened with 'w': truncated through the link.
  ['daemon.out', (o, _s, out) => linkToFile(join(o, 'daemon.out'), out, Buffer.alloc(2 * 1024 * 1024, 'x')), ['status']],
  ['daemon.log', (o, _s, out) => linkToFile(join(o, 'daemon.log'), out, Buffer.from('precious\n')), ['status']],
];

describe('no write follows a symbolic link out of .orchestrator/', () => {
  for (const [what, plant, args] of CASES) {
    test(`a link in place of ${what} is refused with its path, exit 1, and its target is left byte-identical`, async () => {
      const { root, link, outside } = await setUp(plant);
      const before = snapshot(outside);
      const res = await orch(args, root);
      expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 1, stderr: expect.stringContaining(link) });
      expect(res.stderr).toMatch(/symbolic link.*remove the link/);
      expect(snapshot(outside)).toEqual(before);
    });
  }

  test('daemon.log as a link is refused by the daemon itself, also when run without one (ORCH_DAEMON=0)', async () => {
    const { root, link, outside } = await setUp((o, _s, out) => linkToFile(join(o, 'daemon.log'), out, Buffer.from('precious\n')));
    const before = snapshot(outside);
    const res = await orch(['complete', 'clarify_requirements'], root, { ORCH_DAEMON: '0' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(link);
    expect(snapshot(outside)).toEqual(before);
  });

  test('a refused log.jsonl leaves state.json unchanged too: nothing is written before every check passed', async () => {
    const { root, sessionDir } = await setUp((_o, s, out) => replaceByLink(join(s, 'log.jsonl'), out));
    const state = readFileSync(join(sessionDir, 'state.json'));
    const res = await orchJson(['complete', 'clarify_requirements'], root);
    expect(res.code).toBe(1);
    expect(res.json.error).toMatchObject({ name: 'UnsafePath', code: 1204 });
    expect(readFileSync(join(sessionDir, 'state.json'))).toEqual(state);
  });

  test('a state.json that is a link is not read either: status names it instead of showing the outside file', async () => {
    const { root, link } = await setUp((_o, s, out) => replaceByLink(join(s, 'state.json'), out));
    const res = await orch(['status'], root);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(link);
    expect(res.stdout).not.toContain('Symlink test');
  });

  test('with the link removed and the folder restored, the same command works again', async () => {
    const { root, link, outside } = await setUp((_o, s, out) => replaceByLink(join(s, 'checkpoints'), out));
    expect((await orch(['checkpoint', '-m', 'after'], root)).code).toBe(1);
    rmSync(link);
    renameSync(join(outside, 'target'), link);
    expect((await orch(['checkpoint', '-m', 'after'], root)).code).toBe(0);
    expect(existsSync(link) && readdirSync(link).length).toBe(2);
    mkdirSync(join(outside, 'target'));
  });
});
