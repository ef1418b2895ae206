import { afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { daemonPidsFor, readRegistration } from '../helpers/daemons.js';
import { orch, orchJson, useTempRepos } from '../helpers/lifecycle.js';
import { RawPeer } from '../helpers/wire.js';

const repo = useTempRepos();
const tempDirs: string[] = [];
afterEach(() => {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under /tmp (mode 0700, as mkdtemp makes it). */
function tempDir(): string {
  const d = mkdtempSync('/tmp/orch-sec-');
  tempDirs.push(d);
  return d;
}

const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const NOBODY = 65534;
const otherUserSkip = !isRoot ? 'the tests do not run as root, so they cannot act as another user' : !hasSetpriv ? 'setpriv is not installed' : null;
if (otherUserSkip) process.stdout.write(`security.test: skipping the other-user tests: ${otherUserSkip}\n`);
const asRoot = otherUserSkip ? test.skip : test;

/** Tries to connect to `socketPath` as uid/gid 65534 (nobody); returns 'CONNECTED' or the errno code. */
function connectAsNobody(socketPath: string): string {
  const script = `require('net').connect(${JSON.stringify(socketPath)}).on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
  return execFileSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8', cwd: '/' }).trim();
}

async function expectRefused(root: string, socketDir: string, why: RegExp): Promise<void> {
  const res = await orch(['status'], root, { ORCH_SOCKET_DIR: socketDir });
  expect(res.code).toBe(3);
  expect(res.stderr).toMatch(why);
  expect(res.stderr).toContain('ORCH_SOCKET_DIR');
  expect(daemonPidsFor(root)).toEqual([]);
  expect(existsSync(join(root, '.orchestrator', 'daemon.lock'))).toBe(false);
}

describe('security', () => {
  test('the socket directory is created 0700 and the socket is 0600', async () => {
    const r = repo();
    const socketDir = join(tempDir(), 'sockets');
    await orch(['status'], r.root, { ORCH_SOCKET_DIR: socketDir });
    const reg = readRegistration(r.root)!;
    expect(reg.socketPath.startsWith(socketDir + '/')).toBe(true);
    expect(lstatSync(socketDir).mode & 0o777).toBe(0o700);
    expect(lstatSync(reg.socketPath).isSocket()).toBe(true);
    expect(lstatSync(reg.socketPath).mode & 0o777).toBe(0o600);
  });

  test('a socket directory writable by others is refused', async () => {
    const r = repo();
    const socketDir = tempDir();
    chmodSync(socketDir, 0o777);
    await expectRefused(r.root, socketDir, /is writable by other users \(mode 777\)/);
  });

  test('a socket directory that is a symbolic link is refused', async () => {
    const r = repo();
    const real = tempDir();
    const link = `${real}-link`;
    symlinkSync(real, link);
    tempDirs.push(link);
    await expectRefused(r.root, link, /is a symbolic link/);
  });

  asRoot('a socket directory owned by another user is refused', async () => {
    const r = repo();
    const socketDir = tempDir();
    chownSync(socketDir, NOBODY, NOBODY);
    await expectRefused(r.root, socketDir, new RegExp(`belongs to uid ${NOBODY}, not to you`));
  });

  asRoot('another user cannot connect, even when the directory is opened up afterwards', async () => {
    const r = repo();
    const base = tempDir();
    chmodSync(base, 0o755);
    const socketDir = join(base, 'sockets');
    await orch(['status'], r.root, { ORCH_SOCKET_DIR: socketDir });
    const socketPath = readRegistration(r.root)!.socketPath;
    expect(connectAsNobody(socketPath)).toBe('EACCES');
    // Only the socket's own 0600 stands in the way now.
    chmodSync(socketDir, 0o755);
    expect(connectAsNobody(socketPath)).toBe('EACCES');
    expect((await orchJson(['status'], r.root)).code).toBe(0);
  });

  test('nothing a client sends makes the daemon read or write outside the repository', async () => {
    const r = repo();
    const outside = tempDir();
    writeFileSync(join(outside, 'wf.yaml'), 'name: x\nversion: "1"\nphases: [{id: A, name: A, items: [{id: a, name: a}]}]\n');
    mkdirSync(join(r.root, 'linked'));
    symlinkSync(join(outside, 'wf.yaml'), join(r.root, 'linked', 'wf.yaml'));
    await orch(['status'], r.root);
    const peer = await RawPeer.connect(readRegistration(r.root)!.socketPath);
    await peer.call(1, 'daemon/hello', { protocolVersion: 1, clientVersion: 'test' });
    const cases: [string, unknown, number][] = [
      ['session/status', { sessionId: '../../../etc' }, 1003],
      ['session/show', { sessionId: '/etc/passwd' }, 1003],
      ['item/complete', { sessionId: '..', itemId: 'x' }, 1003],
      ['session/switch', { sessionId: 'abcdef12/../../x' }, 1003],
      ['session/start', { task: 't', workflow: join(outside, 'wf.yaml') }, 1005],
      ['session/start', { task: 't', workflow: join(r.root, 'linked', 'wf.yaml') }, 1005],
      ['session/start', { task: 't', workflow: join(r.root, '..', '..', 'etc', 'passwd') }, 1005],
      ['workflow/validate', { file: '/etc/passwd' }, 1005],
      ['checkpoint/list', { sessionId: '../..' }, 1003],
      ['checkpoint/create', { sessionId: '/etc', message: 'x' }, 1003],
      ['log/read', { sessionId: '..' }, 1003],
    ];
    let id = 2;
    for (const [method, params, code] of cases) {
      const reply = await peer.call(id++, method, params);
      expect({ method, params, code: reply.error?.code }).toEqual({ method, params, code });
    }
    peer.destroy();
    expect(existsSync(join(r.root, '.orchestrator', 'current'))).toBe(false);
  });
});
