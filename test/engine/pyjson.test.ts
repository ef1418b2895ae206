import { describe, expect, test } from '@jest/globals';
import { LosslessNumber } from 'lossless-json';
import { compareCodePoints, parseLossless, pythonDumps, pythonDumpsAt, pythonFloatRepr, toPlain } from '../../daemon/engine/pyjson.js';

// Expected strings below were produced by python3's json.dumps / repr and pasted in.
describe('pythonDumps', () => {
  test('uses Python default separators on one line', () => {
    expect(pythonDumps({ a: 1, b: [1, 2, null, true, false], c: 'x' })).toBe(
      '{"a": 1, "b": [1, 2, null, true, false], "c": "x"}',
    );
  });

  test('pretty-prints like indent=2, with empty containers kept as [] and {}', () => {
    const value = { a: [], b: {}, c: [{}], d: new LosslessNumber('1.0') };
    expect(pythonDumps(value, { indent: 2 })).toBe('{\n  "a": [],\n  "b": {},\n  "c": [\n    {}\n  ],\n  "d": 1.0\n}');
  });

  test('escapes every non-ASCII character as lowercase \\uXXXX, astral ones as surrogate pairs', () => {
    expect(pythonDumps('Café → 🚀')).toBe('"Caf\\u00e9 \\u2192 \\ud83d\\ude80"');
    expect(pythonDumps('\u26a0\ufe0f')).toBe('"\\u26a0\\ufe0f"');
  });

  test('escapes control characters, quotes, backslashes and DEL as Python does', () => {
    expect(pythonDumps('tab\there\nnl "q" \\ \x7f \x01 \b\f\r')).toBe(
      '"tab\\there\\nnl \\"q\\" \\\\ \\u007f \\u0001 \\b\\f\\r"',
    );
  });

  test('sorts keys by code point, not by UTF-16 unit', () => {
    // Python: json.dumps({'\uffff': 1, '\U0001F600': 2, 'b': 3, 'B': 4}, sort_keys=True)
    expect(pythonDumps({ '\u{1F600}': 2, '\uffff': 1, b: 3, B: 4 }, { sortKeys: true })).toBe(
      '{"B": 4, "b": 3, "\\uffff": 1, "\\ud83d\\ude00": 2}',
    );
  });

  test('sorts mixed astral-plane and BMP keys exactly as Python does', () => {
    // Python: keys = ['\U0001F600', '\uffff', '\ue000', 'b', 'B', '', 'a\U0001F600', 'a\uffff', 'a\ue000', 'a', 'ab',
    //   '\U00010000', '\U0010FFFF', '\u00e9', '\u4e2d', '\U0001F600x', '\U0001F601', '\ud7ff', 'z']
    // json.dumps({k: i for i, k in enumerate(keys)}, sort_keys=True)
    const keys = ['\u{1F600}', '\uffff', '\ue000', 'b', 'B', '', 'a\u{1F600}', 'a\uffff', 'a\ue000', 'a', 'ab',
      '\u{10000}', '\u{10FFFF}', '\u00e9', '\u4e2d', '\u{1F600}x', '\u{1F601}', '\ud7ff', 'z'];
    const obj: Record<string, number> = {};
    keys.forEach((k, i) => (obj[k] = i));
    expect(pythonDumps(obj, { sortKeys: true })).toBe(
      '{"": 5, "B": 4, "a": 9, "ab": 10, "a\\ue000": 8, "a\\uffff": 7, "a\\ud83d\\ude00": 6, "b": 3, "z": 18, ' +
        '"\\u00e9": 13, "\\u4e2d": 14, "\\ud7ff": 17, "\\ue000": 2, "\\uffff": 1, "\\ud800\\udc00": 11, ' +
        '"\\ud83d\\ude00": 0, "\\ud83d\\ude00x": 15, "\\ud83d\\ude01": 16, "\\udbff\\udfff": 12}',
    );
    // Python: sorted(keys), the same order as plain code point comparison.
    const sortedPy = ['', 'B', 'a', 'ab', 'a\ue000', 'a\uffff', 'a\u{1F600}', 'b', 'z', '\u00e9', '\u4e2d', '\ud7ff',
      '\ue000', '\uffff', '\u{10000}', '\u{1F600}', '\u{1F600}x', '\u{1F601}', '\u{10FFFF}'];
    expect([...keys].sort(compareCodePoints)).toEqual(sortedPy);
    expect([...keys].reverse().sort(compareCodePoints)).toEqual(sortedPy);
  });

  test('prints integral JS numbers as ints and others with Python float repr', () => {
    expect(pythonDumps([0, -0, 42, 1e21, 0.1, 1.5, -2.25])).toBe('[0, 0, 42, 1000000000000000000000, 0.1, 1.5, -2.25]');
    expect(pythonDumps(12345678901234567890n)).toBe('12345678901234567890');
  });

  test('keeps Python-written numbers as written, through a lossless parse', () => {
    const text = '{"a": 1.0, "b": 10000000000000000000001, "c": 1e-05, "d": 1e+22, "e": -0.0, "f": 0.30000000000000004}';
    expect(pythonDumps(parseLossless(text))).toBe(text);
  });

  test('renders lossless text Python would normalise the way Python would', () => {
    expect(pythonDumps(parseLossless('[1.50, 1E5, -0, 2e400]'))).toBe('[1.5, 100000.0, 0, Infinity]');
  });

  test('leaves out undefined properties and refuses values JSON cannot hold', () => {
    expect(pythonDumps({ a: undefined, b: 1 })).toBe('{"b": 1}');
    expect(() => pythonDumps({ d: new Date(0) })).toThrow(/Date is not JSON serializable/);
    expect(() => pythonDumps(new Map())).toThrow(TypeError);
  });
});

describe('pythonDumps reusing the text of an unchanged value', () => {
  test('puts the given text in place of the value, at its own nesting level only when indented', () => {
    const inner = { b: [1, 2], a: 'x' };
    const whole = { k: inner, other: { k: inner } };
    const atLevel1 = pythonDumpsAt(inner, { indent: 2 }, 1);
    expect(pythonDumps(whole, { indent: 2, reuse: { value: inner, text: atLevel1, level: 1 } })).toBe(pythonDumps(whole, { indent: 2 }));
    const sorted = pythonDumps(inner, { sortKeys: true });
    expect(pythonDumps(whole, { sortKeys: true, reuse: { value: inner, text: sorted } })).toBe(pythonDumps(whole, { sortKeys: true }));
    expect(pythonDumps(whole, { reuse: { value: inner, text: 'TEXT' } })).toBe('{"k": TEXT, "other": {"k": TEXT}}');
  });
});

describe('pythonFloatRepr', () => {
  test.each([
    [1e16, '1e+16'],
    [1234567890123456, '1234567890123456.0'],
    [1e-5, '1e-05'],
    [0.0001, '0.0001'],
    [123, '123.0'],
    [-0, '-0.0'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [1.5e300, '1.5e+300'],
    [Number.NaN, 'NaN'],
    [-Infinity, '-Infinity'],
  ])('repr(%p) is %s', (value, expected) => {
    expect(pythonFloatRepr(value)).toBe(expected);
  });
});

describe('toPlain', () => {
  test('turns every LosslessNumber into a JS number and keeps key order', () => {
    const plain = toPlain(parseLossless('{"z": 1, "a": [2.5, {"n": 3}], "s": "t", "x": null}'));
    expect(plain).toEqual({ z: 1, a: [2.5, { n: 3 }], s: 't', x: null });
    expect(Object.keys(plain as object)).toEqual(['z', 'a', 's', 'x']);
  });
});

describe('hostile keys', () => {
  test('a "__proto__" key stays an ordinary key through parse, toPlain and dumps', () => {
    const text = '{"__proto__": {"polluted": 1}, "a": 2}';
    const plain = toPlain(parseLossless(text)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
    expect(Object.keys(plain)).toEqual(['__proto__', 'a']);
    expect(pythonDumps(plain)).toBe(text);
  });
});
