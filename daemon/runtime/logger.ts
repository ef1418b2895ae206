import { constants, fstatSync, lstatSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type DestinationStream, type Logger } from 'pino';
import { mkdirNoFollow, openNoFollowSync } from '../../protocol/node/safe-fs.js';

export type { Logger };

/** Moves `dest` to `dest.1` (replacing an older `.1`) when it is larger than `maxBytes`. */
export function rotateLogIfLarge(dest: string, maxBytes: number): boolean {
  try {
    const st = lstatSync(dest);
    if (maxBytes <= 0 || st.isSymbolicLink() || st.size <= maxBytes) return false;
    renameSync(dest, `${dest}.1`);
    return true;
  } catch {
    return false;
  }
}

/**
 * The log file opened for appending without following links (protocol/safe-fs.ts): a daemon.log
 * planted as a link to another file is refused, never appended to. pino's own destination opens by
 * name, so it is handed the descriptor instead.
 */
function openLog(dest: string): number {
  mkdirNoFollow(dirname(dest));
  return openNoFollowSync(dest, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
}

/**
 * NDJSON log at `dest`. `sync: true` because volume is low and a crash must never eat the last
 * lines (the hazard pino's own exit tests guard against). The file is capped: rotated to
 * `dest.1` when over `maxBytes` at start and whenever a write takes it over while running, so a
 * long-lived daemon never grows its log without bound (Gradle #2688, Nx's unrotated daemon.log).
 * Only the holder of the single-writer lock creates this logger, so one process rotates at a time.
 */
export function createLogger(dest: string, level: string, maxBytes = 0): Logger {
  rotateLogIfLarge(dest, maxBytes);
  // 0600: the log names tasks and items, which other local users have no business reading.
  let fd = openLog(dest);
  let boom = pino.destination({ fd, sync: true });
  let size = fstatSync(fd).size;
  const stream: DestinationStream & { flush(cb?: (err?: Error) => void): void } = {
    write(line: string) {
      boom.write(line);
      size += Buffer.byteLength(line);
      if (maxBytes > 0 && size > maxBytes && rotateLogIfLarge(dest, maxBytes)) {
        try {
          const next = openLog(dest);
          boom.flushSync();
          boom.end();
          fd = next;
          boom = pino.destination({ fd, sync: true });
        } catch {
          // a link planted meanwhile: keep writing to the rotated file rather than follow it
        }
        size = 0;
      }
    },
    flush(cb?: (err?: Error) => void) {
      try {
        boom.flushSync();
      } catch {
        // nothing buffered (sync mode) or the file is gone
      }
      cb?.();
    },
  };
  return pino({ level, base: { pid: process.pid } }, stream);
}
