import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { daemonPidsFor, readRegistration } from '../helpers/daemons.js';
import { orch, orchJson, useTempRepos } from '../helpers/lifecycle.js';
import { makeTempDir } from '../helpers/temp-repo.js';
import { waitFor } from '../helpers/wait-for.js';
import { RawPeer } from '../helpers/wire.js';

const repo = useTempRepos();
const STUB = fileURLToPath(new URL('../fixtures/stub-daemon.js', import.meta.url));

interface Stub {
  child: ChildProcess;
  pid: number;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function startStub(root: string, mode: 'mismatch' | 'old', ignoreShutdown = false): Promise<Stub> {
  const dir = makeTempDir('orch-stub-');
  const args = [STUB, '--root', root, '--socket', join(dir, 'stub.sock'), '--mode', mode, ...(ignoreShutdown ? ['--ignore-shutdown'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('ready'), 'the stub daemon to listen', 30_000);
  return { child, pid: child.pid!, exit };
}

describe('version handshake', () => {
  test('a client meeting a daemon that refuses its protocol stops it, starts its own, and says why', async () => {
    const r = repo();
    const stub = await startStub(r.root, 'mismatch');
    const res = await orchJson(['status'], r.root);
    expect(res.code).toBe(0);
    expect(res.json.active).toBe(false);
    expect(res.stderr).toContain('speaks protocol 99');
    expect(res.stderr).toContain(`stopping that daemon (pid ${stub.pid}) and starting a compatible one`);
    expect(await stub.exit).toEqual({ code: 0, signal: null });
    const status = await orchJson(['daemon', 'status'], r.root);
    expect(status.json.pid).not.toBe(stub.pid);
    expect(status.json.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(status.json.startReason).toContain(`replaced pid ${stub.pid} (orch 9.9.9-stub)`);
    expect(daemonPidsFor(r.root)).toEqual([status.json.pid]);
  });

  test('an old daemon that answers hello with an older protocol and ignores shutdown is killed and replaced', async () => {
    const r = repo();
    const stub = await startStub(r.root, 'old', true);
    const res = await orch(['start', 'After the upgrade', '-q'], r.root);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('speaks protocol 0');
    expect(res.stderr).toContain(`did not stop within 3 s; killing it`);
    expect(await stub.exit).toEqual({ code: null, signal: 'SIGKILL' });
    const reg = readRegistration(r.root)!;
    expect(reg.pid).not.toBe(stub.pid);
    expect((await orchJson(['status'], r.root)).json.task).toBe('After the upgrade');
  });

  test('daemon status reports an incompatible daemon without touching it; daemon stop stops it', async () => {
    const r = repo();
    const stub = await startStub(r.root, 'mismatch');
    const res = await orchJson(['daemon', 'status'], r.root);
    expect(res).toMatchObject({ code: 0, json: { running: true, compatible: false, pid: stub.pid, version: '9.9.9-stub' } });
    expect(readRegistration(r.root)?.pid).toBe(stub.pid);
    const stop = await orchJson(['daemon', 'stop'], r.root);
    expect(stop).toMatchObject({ code: 0, json: { stopped: true, pid: stub.pid } });
    expect(await stub.exit).toEqual({ code: 0, signal: null });
    expect(daemonPidsFor(r.root)).toEqual([]);
  });

  test('an old client gets a clear ProtocolMismatch from a new daemon', async () => {
    const r = repo();
    await orch(['status'], r.root);
    const peer = await RawPeer.connect(readRegistration(r.root)!.socketPath);
    const reply = await peer.call(1, 'daemon/hello', { protocolVersion: 0, clientVersion: '0.0.1' });
    expect(reply.error).toMatchObject({ code: 1300, data: { name: 'ProtocolMismatch' } });
    expect(reply.error.message).toContain(`speaks protocol ${PROTOCOL_VERSION}`);
    peer.destroy();
  });
});
