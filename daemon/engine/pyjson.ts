/**
 * Python's `json.dumps`, byte for byte, for the files the Python tool checksums and writes
 * (reference §2.5). The defaults that matter are `ensure_ascii=True`, separators `', '`/`': '`
 * without indent and `','`/`': '` with it, and Python's own float repr.
 *
 * Numbers: a JS number that is integral is a Python int; anything else is a Python float. A
 * `LosslessNumber` (from a file read with {@link parseLossless}) keeps what Python would print:
 * integer text stays an int, other text is printed as Python's repr of that float, which for any
 * file Python wrote is exactly the text on disk (so `1.0` stays `1.0`).
 */
import { isLosslessNumber, parse, type LosslessNumber } from 'lossless-json';

export interface DumpOptions {
  /** `sort_keys=True`: keys in code point order (Python's `str` ordering). */
  sortKeys?: boolean;
  /** `indent=N`: pretty-print with N spaces; absent means one line. */
  indent?: number;
  /**
   * Text already rendered for one object, with these same options and (when indented) at this
   * nesting `level` (the top value is at 0): used in place of rendering `value` again. The caller
   * vouches that `value` has not changed since (state.json's workflow definition; checksum.ts).
   */
  reuse?: { value: object; text: string; level?: number };
}

// Python's ESCAPE_ASCII short forms; every other char outside ' '..'~' becomes \uXXXX.
const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** Serialises `value` exactly as Python's `json.dumps(value, sort_keys=…, indent=…)` would. */
export function pythonDumps(value: unknown, opts: DumpOptions = {}): string {
  return dumpValue(value, opts, 0);
}

/** {@link pythonDumps} of a value that sits `level` containers deep (its text when indented depends on it). */
export function pythonDumpsAt(value: unknown, opts: DumpOptions, level: number): string {
  return dumpValue(value, opts, level);
}

/**
 * Parses JSON text keeping every number as a `LosslessNumber`, so a Python-written file can be
 * checksummed and re-rendered without float/int drift. Throws lossless-json's SyntaxError.
 */
export function parseLossless(text: string): unknown {
  return parse(text);
}

/** A deep copy of `value` with every `LosslessNumber` turned into a JS number. */
export function toPlain(value: unknown): unknown {
  if (isLosslessNumber(value)) return Number(value.value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // defineProperty, because a "__proto__" key in a file must stay data, not become a prototype.
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

/** Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // toExponential() with no argument gives the shortest digits that round-trip, as Python does.
  const [mantissa, expText] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  const decpt = exp + 1; // value = 0.DIGITS × 10^decpt, CPython's convention
  let body: string;
  if (decpt > 16 || decpt < -3) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  } else if (decpt <= 0) {
    body = `0.${'0'.repeat(-decpt)}${digits}`;
  } else if (decpt >= digits.length) {
    body = `${digits}${'0'.repeat(decpt - digits.length)}.0`;
  } else {
    body = `${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  return x < 0 ? `-${body}` : body;
}

/** Printable ASCII other than `"` and `\\`: the characters Python's `ensure_ascii` leaves as they are. */
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A JSON string literal with Python's `ensure_ascii` escaping (lowercase hex, UTF-16 units). */
export function pythonString(s: string): string {
  // Most strings (ids, names, timestamps) need no escape at all.
  if (PLAIN_STRING.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    const code = s.charCodeAt(i);
    if (code >= 0x20 && code <= 0x7e) {
      out += ch === '"' || ch === '\\' ? SHORT_ESCAPES[ch] : ch;
    } else {
      // Astral characters are already two UTF-16 units here, which is exactly Python's
      // surrogate-pair output; lone surrogates are escaped the same way Python escapes them.
      out += SHORT_ESCAPES[ch] ?? `\\u${code.toString(16).padStart(4, '0')}`;
    }
  }
  return `${out}"`;
}

function dumpNumber(n: number): string {
  // A safe integer's decimal text is exact; beyond 2^53, String() would round the digits.
  if (Number.isSafeInteger(n)) return String(n);
  if (Number.isInteger(n)) return BigInt(n).toString();
  return pythonFloatRepr(n);
}

function dumpLossless(n: LosslessNumber): string {
  const text = n.value;
  // Python ints are arbitrary precision, so integer text is printed as the integer it denotes.
  if (/^-?\d+$/.test(text)) return BigInt(text).toString();
  return pythonFloatRepr(Number(text));
}

// Python sorts str keys by code point; JS's default sort compares UTF-16 units, which differs
// for astral characters versus U+E000..U+FFFF. Unit order equals code point order except where a
// surrogate is involved at the first difference, so only that (rare) case pays for code points.
function isSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdfff;
}

export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ua = a.charCodeAt(i);
    const ub = b.charCodeAt(i);
    if (ua === ub) continue;
    if (isSurrogate(ua) || isSurrogate(ub)) return compareCodePointsSlow(a, b);
    return ua - ub;
  }
  // One is a prefix of the other (in units); a high surrogate at the cut could pair differently.
  if (n > 0 && a.length !== b.length && isSurrogate(a.charCodeAt(n - 1))) return compareCodePointsSlow(a, b);
  return a.length - b.length;
}

function compareCodePointsSlow(a: string, b: string): number {
  const ca = Array.from(a, (c) => c.codePointAt(0) as number);
  const cb = Array.from(b, (c) => c.codePointAt(0) as number);
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    if (ca[i] !== cb[i]) return (ca[i] as number) - (cb[i] as number);
  }
  return ca.length - cb.length;
}

function dumpValue(value: unknown, opts: DumpOptions, level: number): string {
  if (value === null || value === undefined) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return pythonString(value);
  if (typeof value === 'number') return dumpNumber(value);
  if (typeof value === 'bigint') return value.toString();
  if (isLosslessNumber(value)) return dumpLossless(value);
  const reuse = opts.reuse;
  if (reuse !== undefined && value === reuse.value && (opts.indent === undefined || level === reuse.level)) return reuse.text;
  // Built by appending to one string (no array of parts per container): this runs for every
  // 68 KB state a change writes, twice (the checksum's dump and the file's).
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const inner = opts.indent === undefined ? ', ' : ',' + newline(opts.indent, level + 1);
    let out = opts.indent === undefined ? '[' : '[' + newline(opts.indent, level + 1);
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += inner;
      out += dumpValue(value[i], opts, level + 1);
    }
    return opts.indent === undefined ? out + ']' : out + newline(opts.indent, level) + ']';
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (opts.sortKeys) keys.sort(compareCodePoints);
    const inner = opts.indent === undefined ? ', ' : ',' + newline(opts.indent, level + 1);
    let out = '';
    for (const k of keys) {
      const v = record[k];
      if (v === undefined) continue;
      if (out !== '') out += inner;
      out += `${pythonString(k)}: ${dumpValue(v, opts, level + 1)}`;
    }
    if (out === '') return '{}';
    return opts.indent === undefined ? `{${out}}` : `{${newline(opts.indent, level + 1)}${out}${newline(opts.indent, level)}}`;
  }
  throw new TypeError(`Object of type ${describe(value)} is not JSON serializable`);
}

/** `'\\n'` and `indent * level` spaces, made once per (indent, level). */
const newlines = new Map<number, string[]>();
function newline(indent: number, level: number): string {
  let byLevel = newlines.get(indent);
  if (byLevel === undefined) newlines.set(indent, (byLevel = []));
  return (byLevel[level] ??= '\n' + ' '.repeat(indent * level));
}

/** A plain object, also one made in another realm (a vm context, jest's module sandbox). */
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === Object.prototype || proto === null) return true;
  return Object.getPrototypeOf(proto) === null && Object.prototype.toString.call(value) === '[object Object]';
}

function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value;
  return (value as object).constructor?.name ?? 'object';
}
