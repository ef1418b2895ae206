import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessRunning } from '../../protocol/node/process.js';

/** Pids of running orch daemon processes serving `root` (from /proc command lines). */
export function daemonPidsFor(root: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!isProcessRunning(Number(entry))) continue;
      const i = argv.indexOf('--root');
      if (argv.some((a) => a.endsWith('daemon/main.js')) && i >= 0 && argv[i + 1] === root) pids.push(Number(entry));
    } catch {
      // process exited while we looked
    }
  }
  return pids;
}

/** The repo's daemon registration (`.orchestrator/daemon.json`), or null. */
export function readRegistration(root: string): { pid: number; socketPath: string; instanceId: string; [k: string]: unknown } | null {
  try {
    return JSON.parse(readFileSync(join(root, '.orchestrator', 'daemon.json'), 'utf8'));
  } catch {
    return null;
  }
}

/** A pid that certainly belongs to no process: a node that has already exited and been reaped. */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid as number;
}

/** Start time of `pid` as the daemon's lock records it (clock ticks since boot), or null. */
export function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** The lines of the repo's daemon.log, parsed. */
export function daemonLog(root: string): { msg?: string; time?: number; pid?: number; [k: string]: unknown }[] {
  try {
    return readFileSync(join(root, '.orchestrator', 'daemon.log'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

/** Kills every daemon of `root` hard (afterEach safety net for tests that leave one in a bad state). */
export function killDaemonsOf(root: string): void {
  for (const pid of daemonPidsFor(root)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
