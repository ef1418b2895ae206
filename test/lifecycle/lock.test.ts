import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquire, isHolderAlive, tryAcquire, type LockHolder } from '../../daemon/runtime/lock-file.js';
import { deadPid, procStart } from '../helpers/daemons.js';
import { makeTempDir } from '../helpers/temp-repo.js';
import { waitFor } from '../helpers/wait-for.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function lockPath(): string {
  const dir = makeTempDir('orch-lock-');
  dirs.push(dir);
  return join(dir, 'daemon.lock');
}

function holder(pid: number, over: Partial<LockHolder> = {}): LockHolder {
  return { pid, nonce: `n${pid}`, procStart: procStart(pid), kind: 'daemon', since: new Date().toISOString(), ...over };
}

/** A live process that is not us, as another daemon would be. */
async function liveProcess(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  await waitFor(() => child.pid !== undefined && procStart(child.pid) !== null, 'the helper process to start');
  return child.pid!;
}

describe('the single-writer lock', () => {
  test('takes over a lock whose holder has exited', async () => {
    const path = lockPath();
    const dead = deadPid();
    writeFileSync(path, JSON.stringify(holder(dead, { procStart: '12345' })));
    const result = await tryAcquire(path, 'daemon');
    expect(result.ok).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
  });

  test('does not take a lock away from a live holder, and names it when giving up', async () => {
    const path = lockPath();
    const pid = await liveProcess();
    writeFileSync(path, JSON.stringify(holder(pid)));
    const result = await tryAcquire(path, 'daemon');
    expect(result).toEqual({ ok: false, holder: expect.objectContaining({ pid }) });
    const cpuBefore = process.cpuUsage();
    await expect(acquire(path, 'cli', 500)).rejects.toMatchObject({ errorName: 'LockTimeout', message: expect.stringContaining(`pid ${pid}`) });
    // Waiting is backoff, not a busy loop (Nx's start-lock test makes the same check).
    const cpu = process.cpuUsage(cpuBefore);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(400);
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(pid);
  });

  test('takes over a lock whose pid now belongs to another process (pid reuse)', async () => {
    const path = lockPath();
    const pid = await liveProcess();
    // Same pid, but the process running under it started at another time than the holder did.
    writeFileSync(path, JSON.stringify(holder(pid, { procStart: String(Number(procStart(pid)) + 1) })));
    expect(isHolderAlive(JSON.parse(readFileSync(path, 'utf8')))).toBe(false);
    const result = await tryAcquire(path, 'daemon');
    expect(result.ok).toBe(true);
  });

  test('counts a killed holder that is not yet reaped (a zombie) as dead', async () => {
    const path = lockPath();
    // The holder's parent execs `sleep`, which never reaps it: once killed it stays a zombie,
    // which still answers kill(pid, 0).
    const parent = spawn('sh', ['-c', `"${process.execPath}" -e "setInterval(() => {}, 1000)" & echo $!; exec sleep 30`], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(parent);
    let out = '';
    parent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const pid = Number(await waitFor(() => /^\d+\n/.exec(out)?.[0], 'the holder pid'));
    await waitFor(() => procStart(pid) !== null, 'the holder to start');
    const h = holder(pid);
    expect(isHolderAlive(h)).toBe(true);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '), 'the holder to become a zombie');
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect(isHolderAlive(h)).toBe(false);
    writeFileSync(path, JSON.stringify(h));
    expect((await tryAcquire(path, 'daemon')).ok).toBe(true);
  });

  test('leaves a young unreadable lock alone (it may be being written) but takes over an old one', async () => {
    const path = lockPath();
    writeFileSync(path, '');
    expect((await tryAcquire(path, 'daemon')).ok).toBe(false);
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    expect((await tryAcquire(path, 'daemon')).ok).toBe(true);
  });

  test('releases only a lock this process still holds', async () => {
    const path = lockPath();
    const first = await tryAcquire(path, 'daemon');
    if (!first.ok) throw new Error('expected the lock');
    // Someone judged us dead and took over: our release must not remove their lock.
    const pid = await liveProcess();
    writeFileSync(path, JSON.stringify(holder(pid)));
    await first.handle.release();
    expect(existsSync(path)).toBe(true);
    rmSync(path);
    const second = await tryAcquire(path, 'cli');
    if (!second.ok) throw new Error('expected the lock');
    second.handle.releaseSync();
    expect(existsSync(path)).toBe(false);
  });

  test('of 8 processes racing for a dead holder’s lock, exactly one wins', async () => {
    const path = lockPath();
    writeFileSync(path, JSON.stringify(holder(deadPid(), { procStart: null })));
    const lockModule = new URL('../../daemon/runtime/lock-file.js', import.meta.url).href;
    // Each contender stays alive (holding what it won) until the test has every answer.
    const script = `const { tryAcquire } = await import(${JSON.stringify(lockModule)});
      const r = await tryAcquire(${JSON.stringify(path)}, 'daemon');
      process.stdout.write(r.ok ? 'won\\n' : 'lost\\n');
      process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
    const outputs = Array.from({ length: 8 }, () => ({ text: '' }));
    const racers = outputs.map((o) => {
      const c = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(c);
      c.stdout!.on('data', (d: Buffer) => (o.text += d.toString()));
      return c;
    });
    await waitFor(() => outputs.every((o) => o.text.endsWith('\n')), 'every contender to answer', 30_000);
    expect(outputs.map((o) => o.text.trim()).filter((t) => t === 'won')).toHaveLength(1);
    for (const c of racers) c.stdin!.end();
  });
});
