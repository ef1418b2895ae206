/**
 * `orch daemon logs [-f] [-n N]`: the daemon's NDJSON log, one readable line per entry. The log is
 * only read here (the daemon is its only writer). `-f` keeps printing what is appended, across a
 * rotation to `daemon.log.1`, until interrupted.
 */
import { closeSync, constants, lstatSync, readSync } from 'node:fs';
import { openNoFollowSync, readFileNoFollowSync } from '../../protocol/node/safe-fs.js';
import type { CommandContext } from '../command.js';
import { echo, usageError } from '../errors.js';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (v !== null && typeof v === 'object' && 'message' in v) {
    const e = v as { type?: string; message: string };
    return JSON.stringify(`${e.type ?? 'Error'}: ${e.message}`);
  }
  return JSON.stringify(v);
}

/** One NDJSON entry as `time LEVEL [pid] message key=value …`; a line that is not JSON is kept as it is. */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (entry === null || typeof entry !== 'object') return line;
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString() : '-';
  const level = LEVELS[entry.level as number] ?? String(entry.level ?? '-');
  const fields = Object.entries(entry)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${formatValue(v)}`);
  return [time, level.padEnd(5), `[${String(entry.pid ?? '-')}]`, String(entry.msg ?? ''), ...fields].join(' ').trimEnd();
}

function readFrom(path: string, offset: number): { text: string; size: number; ino: number } | null {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return null;
  }
  const start = st.size < offset ? 0 : offset;
  const length = st.size - start;
  if (length <= 0) return { text: '', size: st.size, ino: st.ino };
  const fd = openNoFollowSync(path, constants.O_RDONLY);
  try {
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, start);
    return { text: buf.subarray(0, n).toString('utf8'), size: start + n, ino: st.ino };
  } finally {
    closeSync(fd);
  }
}

/** Prints complete lines from `text`; returns the unfinished tail to keep for next time. */
function printLines(ctx: CommandContext, text: string): string {
  const lines = text.split('\n');
  const rest = lines.pop() ?? '';
  for (const l of lines) if (l.trim() !== '') ctx.out.text(formatLogLine(l));
  return rest;
}

function follow(ctx: CommandContext, path: string, startAt: number, ino: number): Promise<number> {
  let offset = startAt;
  let currentIno = ino;
  let partial = '';
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const chunk = readFrom(path, offset);
      if (!chunk) return;
      if (chunk.ino !== currentIno) {
        // Rotated: the old file is daemon.log.1 now. Print what was added to it since the last
        // look, then follow the new file from its beginning.
        const old = readFrom(`${path}.1`, offset);
        if (old && old.ino === currentIno) partial = printLines(ctx, partial + old.text);
        if (partial.trim() !== '') ctx.out.text(formatLogLine(partial));
        currentIno = chunk.ino;
        offset = 0;
        partial = '';
        return;
      }
      offset = chunk.size;
      partial = printLines(ctx, partial + chunk.text);
    }, 200);
    const stop = () => {
      clearInterval(timer);
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export async function logs(ctx: CommandContext): Promise<number> {
  const path = ctx.paths().daemonLog;
  const isFollow = ctx.values.follow === true;
  const rawLines = ctx.values.lines as string | undefined;
  const count = rawLines === undefined ? 200 : Number(rawLines);
  if (!Number.isInteger(count) || count < 0) throw usageError(`-n takes a whole number of lines, not ${echo(String(rawLines))}.`);
  if (isFollow && ctx.values.json === true) throw usageError('orch daemon logs -f prints a stream; it cannot be combined with --json.');
  let text = '';
  try {
    text = readFileNoFollowSync(path);
  } catch {
    if (!isFollow) {
      ctx.out.document({ path, entries: [] });
      ctx.out.text(`No daemon log yet (${path}).`);
      return 0;
    }
  }
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  const lines = complete.split('\n').filter((l) => l.trim() !== '');
  const shown = count === 0 ? [] : lines.slice(-count);
  ctx.out.document({
    path,
    entries: shown.map((l) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        return { raw: l };
      }
    }),
  });
  for (const l of shown) ctx.out.text(formatLogLine(l));
  if (!isFollow) return 0;
  let ino = -1;
  try {
    ino = lstatSync(path).ino;
  } catch {
    // not created yet: the first file that appears is followed from its start
  }
  return follow(ctx, path, Buffer.byteLength(complete), ino);
}
