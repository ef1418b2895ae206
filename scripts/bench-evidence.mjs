/**
 * Section 11 of scripts/bench.mjs: the cost of evidence bound to the tree (issue 14). The working
 * tree's fingerprint (daemon/engine/fingerprint.ts, with a private index as the daemon keeps one) on generated
 * repos, clean and with 100 dirty files, next to `git status --porcelain` on the same repo in the
 * same run; and what the fingerprint adds to `orch complete` on a command item.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { nowMs, summarize, timeRun } from './bench-lib.mjs';

const FILES_PER_DIR = 100;
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' };
const git = (cwd, ...args) => execFileSync('git', args, { cwd, env: gitEnv, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 }).toString();

/**
 * A committed repo of `files` small files in folders of 100; returns its root and how long it took
 * to make. The files are written directly and their commit is made by one `git fast-import` (one
 * pack, instead of 100,000 loose objects from `git add`); `git reset` then builds the index and
 * `git write-tree` its cached trees, as `git commit` leaves them.
 */
export function generateRepo(space, files) {
  const start = nowMs();
  const root = space.repo(`evidence-${files}`);
  const ref = git(root, 'symbolic-ref', 'HEAD').trim();
  const parts = [`commit ${ref}\ncommitter bench <bench@example.invalid> 0 +0000\ndata 9\ngenerated\n`];
  for (let d = 0; d * FILES_PER_DIR < files; d++) {
    const rel = `src/d${String(d).padStart(4, '0')}`;
    mkdirSync(join(root, rel), { recursive: true });
    for (let f = 0; f < FILES_PER_DIR && d * FILES_PER_DIR + f < files; f++) {
      const text = `file ${d}/${f}\n`;
      writeFileSync(join(root, rel, `f${f}.txt`), text);
      parts.push(`M 100644 inline ${rel}/f${f}.txt\ndata ${Buffer.byteLength(text)}\n${text}\n`);
    }
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: root, env: gitEnv, input: parts.join(''), stdio: ['pipe', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  git(root, 'reset', '-q');
  git(root, 'write-tree'); // the index's cached trees, as a commit leaves them
  return { root, generateMs: nowMs() - start };
}

/** Makes 100 files dirty: 50 tracked files modified, 50 new untracked ones. */
function dirty(root) {
  for (let i = 0; i < 50; i++) writeFileSync(join(root, 'src', `d${String(i).padStart(4, '0')}`, 'f0.txt'), `changed ${i}\n`);
  mkdirSync(join(root, 'new'), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(root, 'new', `n${i}.txt`), `new ${i}\n`);
}

/** Removes the private index, as when the repo's index has just changed (a commit, an add). */
function forgetPrivateIndex(cacheDir) {
  for (const name of readdirSync(cacheDir)) if (name.startsWith('index-')) rmSync(join(cacheDir, name), { force: true });
}

/**
 * `git status --porcelain`, then the fingerprint as the daemon takes it twice: first with no private
 * index (the first fingerprint after the repo's index changed), then again with the private index the
 * first one left (every later fingerprint while the repo's index stays as it is).
 */
async function compare(fingerprintTree, root, cacheDir, storeDir, runs) {
  // Warm-up: the page cache, and the index's stat data refreshed by a first status.
  timeRun(['git', 'status', '--porcelain'], { cwd: root });
  await fingerprintTree(root, { cacheDir, storeDir });
  const first = [];
  const repeat = [];
  const status = [];
  const trees = new Set();
  for (let i = 0; i < runs; i++) {
    status.push(timeRun(['git', 'status', '--porcelain'], { cwd: root }).ms);
    forgetPrivateIndex(cacheDir);
    let t0 = nowMs();
    trees.add((await fingerprintTree(root, { cacheDir, storeDir })).evidence.tree);
    first.push(nowMs() - t0);
    t0 = nowMs();
    trees.add((await fingerprintTree(root, { cacheDir, storeDir })).evidence.tree);
    repeat.push(nowMs() - t0);
  }
  return { first: summarize(first), repeat: summarize(repeat), status: summarize(status), tree: trees.size === 1 ? [...trees][0] : null };
}

/**
 * `orch complete` on a command item (`true`) in a small committed repo, with the tree
 * fingerprinted before the command runs: the whole CLI time, and the fingerprint's own share as
 * the daemon recorded it in the evidence (`ms`).
 */
async function completeLatency(space, cli, runs) {
  const root = space.repo('evidence-complete');
  const items = Array.from({ length: runs }, (_, i) => `      - id: check_${i}\n        name: "Check ${i}"\n        verification: {type: command, command: "true"}\n`).join('');
  writeFileSync(join(root, 'workflow.yaml'), `name: "Evidence"\nversion: "1.0"\nphases:\n  - id: WORK\n    name: "Work"\n    items:\n${items}`);
  writeFileSync(join(root, 'app.txt'), 'app\n');
  git(root, 'add', '-A');
  git(root, '-c', 'gc.auto=0', 'commit', '-q', '-m', 'init');
  const env = space.env();
  const started = timeRun([process.execPath, cli, 'start', 'Evidence latency', '--json'], { cwd: root, env });
  const sessionId = JSON.parse(started.stdout).sessionId;
  space.track(root);
  const total = [];
  for (let i = 0; i < runs; i++) total.push(timeRun([process.execPath, cli, 'complete', `check_${i}`, '-q'], { cwd: root, env }).ms);
  const state = JSON.parse(readFileSync(join(root, '.orchestrator', 'sessions', sessionId, 'state.json'), 'utf8'));
  const fpMs = Object.values(state.phases.WORK.items).map((it) => it.verification_result?.evidence?.ms).filter((x) => typeof x === 'number');
  await space.stopDaemon(root);
  space.removeRepo(root);
  return { complete: summarize(total), fingerprint: summarize(fpMs) };
}

export async function evidenceCost(space, cli, { sizes, runs, completeRuns }) {
  const { fingerprintTree } = await import(pathToFileURL(join(space.projectRoot, 'dist', 'daemon', 'engine', 'fingerprint.js')).href);
  const cacheDir = join(space.base, 'evidence-cache');
  const storeDir = join(cacheDir, 'objects');
  mkdirSync(storeDir, { recursive: true });
  const repos = [];
  for (const files of sizes) {
    process.stderr.write(`bench: (11) generating a repo of ${files.toLocaleString('en-US')} files\n`);
    const { root, generateMs } = generateRepo(space, files);
    const head = git(root, 'rev-parse', 'HEAD^{tree}').trim();
    const clean = await compare(fingerprintTree, root, cacheDir, storeDir, runs);
    dirty(root);
    const dirtyRun = await compare(fingerprintTree, root, cacheDir, storeDir, runs);
    repos.push({ files, generateMs, clean, dirty: dirtyRun, cleanEqualsHead: clean.tree === head });
    space.removeRepo(root);
  }
  const complete = await completeLatency(space, cli, completeRuns);
  return { repos, complete };
}
