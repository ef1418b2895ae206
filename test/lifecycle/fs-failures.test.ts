/**
 * A full disk, a read-only file system and a crash between the two writes of a change are the
 * user's situation, not bugs: each is named (file and cause), exits 1, and leaves nothing half
 * written; read commands still work where nothing can be written.
 *
 * The full disk is a 1 MB tmpfs and the read-only folder a read-only bind mount, each mounted in a
 * private mount namespace (`unshare -m`), so nothing outside the test sees them and they vanish
 * with the namespace. The tests run as root, where `chmod a-w` would not stop a write; where
 * mounting is not possible they are skipped with the reason.
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { orch, orchJson, useTempRepos } from '../helpers/lifecycle.js';
import { ORCH_CLI, orchEnv } from '../helpers/run-orch.js';

const repo = useTempRepos();

function canMount(): string | null {
  const dir = mkdtempSync('/tmp/orch-mount-probe-');
  try {
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs "${dir}"`], { encoding: 'utf8' });
    return r.status === 0 ? null : `cannot mount in a private namespace (${(r.stderr || r.error?.message || '').trim()})`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const mountSkip = canMount();
if (mountSkip) process.stdout.write(`fs-failures.test: skipping the disk-full and read-only tests: ${mountSkip}\n`);
const withMounts = mountSkip ? test.skip : test;

/**
 * Runs `script` (sh) in `root` inside a private mount namespace; `$ORCH` runs the built CLI with a
 * daemon. Returns what it printed: sections `== name` followed by their lines.
 */
function inNamespace(root: string, script: string): Record<string, string> {
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `cd "$R" || exit 99\n${script}`], {
    encoding: 'utf8',
    env: { ...orchEnv({ ORCH_DAEMON: '1' }), R: root, ORCH: `"${process.execPath}" "${ORCH_CLI}"` },
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`namespace script failed (${r.status}): ${r.stdout}\n${r.stderr}`);
  const sections: Record<string, string> = {};
  let name = '';
  for (const line of r.stdout.split('\n')) {
    const m = /^== (.+)$/.exec(line);
    if (m) sections[(name = m[1] as string)] = '';
    else if (name) sections[name] += line + '\n';
  }
  return sections;
}

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const otherUserSkip = !isRoot ? 'the tests do not run as root' : !hasSetpriv ? 'setpriv is not installed' : null;
const asOtherUser = otherUserSkip ? test.skip : test;

/** Runs the built CLI as uid/gid 65534 (nobody) in `cwd`. */
function orchAsNobody(args: string[], cwd: string, cacheDir: string) {
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, ORCH_CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...orchEnv({ ORCH_DAEMON: '1' }), ORCH_CACHE_DIR: cacheDir, HOME: cacheDir },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file below `dir` with its bytes' hash. */
function hashes(dir: string): string {
  return spawnSync('sh', ['-c', 'find . -type f | sort | xargs sha256sum'], { cwd: dir, encoding: 'utf8' }).stdout;
}

const HASH_SESSION = 'for f in .orchestrator/sessions/*/*; do [ -f "$f" ] && sha256sum "$f"; done; ls .orchestrator/sessions';

describe('file-system failures', () => {
  withMounts('on a full disk, complete and start name the file and the cause, exit 1, and change nothing', () => {
    const r = repo();
    mkdirSync(join(r.root, '.orchestrator'));
    const out = inNamespace(
      r.root,
      `mount -t tmpfs -o size=1m tmpfs "$R/.orchestrator" || exit 98
eval $ORCH start '"Disk test"' >/dev/null || exit 97
echo "== before"; ${HASH_SESSION}
dd if=/dev/zero of=.orchestrator/filler bs=4k 2>/dev/null
echo "== complete"; eval $ORCH complete clarify_requirements 2>&1; echo "rc=$?"
echo "== start"; eval $ORCH start second 2>&1; echo "rc=$?"
echo "== after"; ${HASH_SESSION}
rm .orchestrator/filler
echo "== retry"; eval $ORCH complete clarify_requirements >/dev/null 2>&1; echo "rc=$?"
eval $ORCH daemon stop >/dev/null 2>&1
exit 0`,
    );
    expect(out.complete).toMatch(/Could not \w+ \/\S+\.orchestrator\/\S+: the disk is full.*\(ENOSPC\)/);
    expect(out.complete).toContain('rc=1');
    expect(out.complete).not.toContain('internal');
    expect(out.start).toMatch(/the disk is full/);
    expect(out.start).toContain('rc=1');
    // Nothing half-written, and no empty folder from the failed start (`orch sessions` would list it as unknown).
    expect(out.after?.trim()).toBe(out.before?.trim());
    expect(out.retry).toContain('rc=0');
  });

  withMounts('with .orchestrator/ read-only, status, sessions, log and checkpoints work without writing and say so; a change is refused with the cause', async () => {
    const r = repo();
    expect((await orch(['start', 'Read-only test'], r.root)).code).toBe(0);
    expect((await orch(['checkpoint', '-m', 'cp'], r.root)).code).toBe(0);
    expect((await orch(['daemon', 'stop'], r.root)).code).toBe(0);
    const out = inNamespace(
      r.root,
      `mount --bind "$R/.orchestrator" "$R/.orchestrator" && mount -o remount,bind,ro "$R/.orchestrator" || exit 98
echo "== before"; find .orchestrator -type f | sort | xargs sha256sum
for c in status sessions log checkpoints; do echo "== $c"; eval $ORCH $c 2>&1; echo "rc=$?"; done
echo "== json"; eval $ORCH status --json 2>/dev/null
echo "== complete"; eval $ORCH complete clarify_requirements 2>&1; echo "rc=$?"
echo "== inprocess"; eval "ORCH_DAEMON=0 $ORCH complete clarify_requirements" 2>&1; echo "rc=$?"
echo "== after"; find .orchestrator -type f | sort | xargs sha256sum
exit 0`,
    );
    for (const c of ['status', 'sessions', 'log', 'checkpoints']) {
      expect({ c, out: out[c] }).toEqual({ c, out: expect.stringContaining('rc=0') });
      expect(out[c]).toMatch(/read-only file system, so no daemon can start there: orch read the files directly and wrote nothing/);
    }
    expect(out.status).toContain('Read-only test');
    expect(out.checkpoints).toContain('cp');
    const json = JSON.parse(out.json as string);
    expect(json.active).toBe(true);
    expect(json.warnings[0]).toMatch(/read-only file system/);
    expect(out.complete).toMatch(/the file system is read-only.*\(EROFS\)/);
    expect(out.complete).toContain('rc=1');
    expect(out.inprocess).toMatch(/read-only.*\(EROFS\)/);
    expect(out.inprocess).toContain('rc=1');
    expect(out.after?.trim()).toBe(out.before?.trim());
  });

  asOtherUser('with .orchestrator/ not writable for the user (chmod -R a-w), read commands work and say so; a change names the permission problem', async () => {
    const r = repo();
    expect((await orch(['start', 'Permission test'], r.root)).code).toBe(0);
    expect((await orch(['daemon', 'stop'], r.root)).code).toBe(0);
    const orchDir = join(r.root, '.orchestrator');
    chmodSync(r.root, 0o755);
    spawnSync('chmod', ['-R', 'a-w', orchDir]);
    const cache = mkdtempSync('/tmp/orch-nobody-');
    chownSync(cache, NOBODY, NOBODY);
    try {
      const before = hashes(orchDir);
      for (const c of ['status', 'sessions', 'log', 'checkpoints']) {
        const res = orchAsNobody([c], r.root, cache);
        expect({ c, code: res.code }).toEqual({ c, code: 0 });
        expect(res.stderr).toMatch(/is not writable for you \(EACCES\), so no daemon can start there: orch read the files directly and wrote nothing/);
      }
      expect(orchAsNobody(['status'], r.root, cache).stdout).toContain('Permission test');
      const change = orchAsNobody(['complete', 'clarify_requirements'], r.root, cache);
      expect(change.code).toBe(1);
      expect(change.stderr).toMatch(/Could not \w+ \S+\.orchestrator\/\S+: permission denied.*\(EACCES\)/);
      expect(hashes(orchDir)).toBe(before);
    } finally {
      spawnSync('chmod', ['-R', 'u+w', orchDir]);
      rmSync(cache, { recursive: true, force: true });
    }
  });

  test('--workflow naming a folder says it is a folder (exit 2), not an internal error', async () => {
    const r = repo();
    mkdirSync(join(r.root, 'flows'));
    const res = await orch(['start', 'x', '--workflow', 'flows'], r.root);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/flows is a folder, not a workflow file/);
    expect(existsSync(join(r.root, '.orchestrator', 'sessions')) ? readdirSync(join(r.root, '.orchestrator', 'sessions')) : []).toEqual([]);
  });

  test('a daemon killed between the log append and the state write: the orphan event is moved aside on the next load, and the retried change is logged once', async () => {
    const r = repo();
    const { json: started } = await orchJson(['start', 'Crash test'], r.root);
    const dir = join(r.root, '.orchestrator', 'sessions', started.sessionId as string);
    expect((await orch(['daemon', 'stop'], r.root)).code).toBe(0);
    const state = readFileSync(join(dir, 'state.json'));
    const log = readFileSync(join(dir, 'log.jsonl'));
    // Test-only hook: the daemon this command starts SIGKILLs itself after appending the events.
    const crashed = await orch(['complete', 'clarify_requirements'], r.root, { ORCH_TEST_CRASH_AFTER: 'log' });
    expect(crashed.code).toBe(3);
    expect(readFileSync(join(dir, 'state.json'))).toEqual(state);
    expect(readFileSync(join(dir, 'log.jsonl')).length).toBeGreaterThan(log.length);

    const status = await orchJson(['status'], r.root);
    expect(status.code).toBe(0);
    expect(status.json.warnings.join('\n')).toMatch(/log\.jsonl ends with 1 event\(s\) \(item_completed\) of a change that never reached state\.json.*moved to .*log\.jsonl\.unapplied-/);
    expect(readFileSync(join(dir, 'log.jsonl'))).toEqual(log);
    const aside = readdirSync(dir).filter((n) => n.startsWith('log.jsonl.unapplied-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0] as string), 'utf8')).toContain('"item_completed"');

    expect((await orch(['complete', 'clarify_requirements'], r.root)).code).toBe(0);
    const events = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; item_id?: string });
    expect(events.filter((e) => e.event_type === 'item_completed' && e.item_id === 'clarify_requirements')).toHaveLength(1);
    const again = await orchJson(['status'], r.root);
    expect(again.json.warnings.join('\n')).not.toMatch(/never reached state\.json/);
  });

  test('after such a kill, orch log does not show the unapplied event and says where it went', async () => {
    const r = repo();
    const { json: started } = await orchJson(['start', 'Crash log test'], r.root);
    expect((await orch(['daemon', 'stop'], r.root)).code).toBe(0);
    expect((await orch(['complete', 'clarify_requirements'], r.root, { ORCH_TEST_CRASH_AFTER: 'log' })).code).toBe(3);
    const log = await orchJson(['log'], r.root);
    expect(log.code).toBe(0);
    expect(log.json.sessionId).toBe(started.sessionId);
    expect(log.json.events.map((e: { event_type: string }) => e.event_type)).not.toContain('item_completed');
    expect(log.json.warnings.join('\n')).toMatch(/never reached state\.json.*moved to/);
  });

  test('each file-system errno is one sentence naming the file and the cause, from the one error table', async () => {
    const { describeFsError, exitCodeFor, OrchErrorCode } = await import('../../protocol/errors.js');
    const cases: [string, RegExp][] = [
      ['ENOSPC', /disk is full/],
      ['EROFS', /read-only/],
      ['EACCES', /permission denied/],
      ['EPERM', /immutable/],
      ['EISDIR', /is a folder/],
    ];
    for (const [code, cause] of cases) {
      const err = Object.assign(new Error(code), { code, path: '/r/.orchestrator/x.json', syscall: 'open' });
      const d = describeFsError(err);
      expect(d?.message).toMatch(new RegExp(`^Could not open /r/\\.orchestrator/x\\.json: .*\\(${code}\\)\\.$`));
      expect(d?.message).toMatch(cause);
      expect(exitCodeFor(d!.name)).toBe(1);
    }
    expect(OrchErrorCode.FileSystem).toBe(1205);
    expect(describeFsError(new Error('plain bug'))).toBeNull();
  });
});
