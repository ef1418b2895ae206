import { renameSync, statSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Moves `dest` to `dest.1` (replacing an older `.1`) when it is larger than `maxBytes`. */
export function rotateLogIfLarge(dest: string, maxBytes: number): boolean {
  try {
    if (maxBytes <= 0 || statSync(dest).size <= maxBytes) return false;
    renameSync(dest, `${dest}.1`);
    return true;
  } catch {
    return false;
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
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
  const boom = pino.destination({ dest, mkdir: true, sync: true, mode: 0o600 });
  let size = sizeOf(dest);
  const stream: DestinationStream & { flush(cb?: (err?: Error) => void): void } = {
    write(line: string) {
      boom.write(line);
      size += Buffer.byteLength(line);
      if (maxBytes > 0 && size > maxBytes && rotateLogIfLarge(dest, maxBytes)) {
        boom.reopen();
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
