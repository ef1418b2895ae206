import { describe, expect, test } from '@jest/globals';
import { ExitCode, OrchErrorCode, errorNameFor, exitCodeFor, isOrchErrorData } from '../../protocol/errors.js';
import type { OrchErrorName } from '../../protocol/errors.js';

describe('error table', () => {
  test('codes are unique and outside the JSON-RPC reserved band', () => {
    const codes = Object.values(OrchErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code > 0 && (code < -32768 || code > -32000)).toBe(true);
  });

  test('every name maps to a documented exit code and back from its number', () => {
    const allowed = new Set<number>(Object.values(ExitCode));
    for (const [name, code] of Object.entries(OrchErrorCode) as [OrchErrorName, number][]) {
      expect(allowed.has(exitCodeFor(name))).toBe(true);
      expect(errorNameFor(code)).toBe(name);
    }
    expect(exitCodeFor('SessionNotFound')).toBe(1);
    expect(exitCodeFor('InvalidSessionId')).toBe(2);
    expect(exitCodeFor('DaemonUnavailable')).toBe(3);
  });

  test('recognises error data by name', () => {
    expect(isOrchErrorData({ name: 'SessionNotFound' })).toBe(true);
    expect(isOrchErrorData({ name: 'Nope' })).toBe(false);
    expect(isOrchErrorData(null)).toBe(false);
  });
});
