import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * NDJSON log at `dest`. `sync: true` because volume is low and a crash must never eat the last
 * lines (the hazard pino's own exit tests guard against).
 */
export function createLogger(dest: string, level: string): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest, mkdir: true, sync: true }));
}

/** A logger that drops everything (no-daemon mode without a log file). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
