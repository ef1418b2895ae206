/**
 * Process liveness, shared by the daemon (its lock), the client (waiting for a daemon to stop)
 * and the tests. A zombie, a process that has exited but whose parent has not reaped it yet,
 * answers signal 0 like a live one; on machines whose init reaps lazily it would look alive for
 * seconds, so it counts as exited.
 */
import { readFileSync } from 'node:fs';

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces and parens); the state first. Null where there is no /proc. */
export function procStatFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** True while `pid` runs: it answers signal 0 (EPERM counts: another user's process) and is not a zombie. */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return procStatFields(pid)?.[0] !== 'Z';
}
