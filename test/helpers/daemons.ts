import { readdirSync, readFileSync } from 'node:fs';

/** Pids of running orch daemon processes serving `root` (from /proc command lines). */
export function daemonPidsFor(root: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const i = argv.indexOf('--root');
      if (argv.some((a) => a.endsWith('daemon/main.js')) && i >= 0 && argv[i + 1] === root) pids.push(Number(entry));
    } catch {
      // process exited while we looked
    }
  }
  return pids;
}
