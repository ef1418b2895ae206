/**
 * Reads the last events of a session's `log.jsonl`. A log only grows, so it is read backwards in
 * fixed-size chunks until enough events are found: `orch log` costs the same on a log of ten lines
 * or ten million. Lines that are not a JSON object with an `event_type` are skipped and counted,
 * as the Python tool's readers skip them; blank lines are ignored.
 */
import { open } from 'node:fs/promises';
import type { LogEventView } from '../../protocol/workflow.js';
import { constants } from 'node:fs';
import { openNoFollow } from '../../protocol/node/safe-fs.js';

const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

export interface TailResult {
  /** Oldest first. */
  events: LogEventView[];
  skippedLines: number;
}

/** One line as an event, or null when it is not one. */
function parseEvent(line: string): LogEventView | null {
  try {
    const value: unknown = JSON.parse(line);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    return typeof (value as { event_type?: unknown }).event_type === 'string' ? (value as LogEventView) : null;
  } catch {
    return null;
  }
}

/** Collects events from whole lines, newest first, until `limit` are found. */
class Collector {
  readonly newestFirst: LogEventView[] = [];
  skipped = 0;

  constructor(private readonly limit: number) {}

  get full(): boolean {
    return this.newestFirst.length >= this.limit;
  }

  /** Takes the lines of `buf` from the last to the first. */
  takeLines(buf: Buffer): void {
    let end = buf.length;
    while (end > 0 && !this.full) {
      const start = buf.lastIndexOf(NEWLINE, end - 1) + 1;
      this.takeLine(buf.subarray(start, end));
      end = start - 1;
    }
  }

  private takeLine(bytes: Buffer): void {
    const text = bytes.toString('utf8').trim();
    if (text === '') return;
    const event = parseEvent(text);
    if (event === null) this.skipped += 1;
    else this.newestFirst.push(event);
  }
}

/** The last `limit` events of the log at `path` (none when the file does not exist). */
export async function tailEvents(path: string, limit: number): Promise<TailResult> {
  const collector = new Collector(limit);
  let handle;
  try {
    handle = await openNoFollow(path, constants.O_RDONLY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], skippedLines: 0 };
    throw err;
  }
  try {
    let pos = (await handle.stat()).size;
    // The start of the earliest line seen so far: it may continue in the chunk before.
    let carry = Buffer.alloc(0);
    while (pos > 0 && !collector.full) {
      const size = Math.min(CHUNK_BYTES, pos);
      pos -= size;
      const chunk = Buffer.alloc(size);
      await handle.read(chunk, 0, size, pos);
      const buf = Buffer.concat([chunk, carry]);
      if (pos === 0) {
        collector.takeLines(buf);
        break;
      }
      const firstNewline = buf.indexOf(NEWLINE);
      carry = firstNewline === -1 ? buf : buf.subarray(0, firstNewline);
      if (firstNewline !== -1) collector.takeLines(buf.subarray(firstNewline + 1));
    }
  } finally {
    await handle.close();
  }
  return { events: collector.newestFirst.reverse(), skippedLines: collector.skipped };
}
