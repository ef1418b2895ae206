/**
 * Timestamps in the Python tool's formats (reference §2.6): state and log datetimes end in `Z`,
 * metadata/checkpoint times in `+00:00`, both with microseconds. JavaScript clocks give
 * milliseconds; the sub-millisecond digits come from the monotonic clock so that successive
 * timestamps within one millisecond still sort in order.
 */
import { performance } from 'node:perf_hooks';

function isoMicros(date: Date): string {
  const micros = Math.floor((performance.now() * 1000) % 1000);
  return date.toISOString().slice(0, 23) + String(micros).padStart(3, '0');
}

/** `2026-11-23T22:51:13.113833Z`: state fields and log events. */
export function utcZ(date: Date = new Date()): string {
  return isoMicros(date) + 'Z';
}

/** `2026-11-23T22:51:13.113833+00:00`: `_updated_at`, metadata `*_at`, checkpoints. */
export function utcOffset(date: Date = new Date()): string {
  return isoMicros(date) + '+00:00';
}

/** Parses either format (or a naive local time) to epoch milliseconds; NaN when unparseable. */
export function parseTime(value: unknown): number {
  if (typeof value !== 'string') return Number.NaN;
  return Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
}
