/**
 * The one SQLite ⇄ canonical converter. Every path that reads (readByKeys,
 * scan, change keys) or binds (writes, key lookups, keyset cursors) goes
 * through these two functions, so snapshot and stream can never disagree.
 *
 * The connection runs with `defaultSafeIntegers(true)`: INTEGER values arrive
 * as `bigint` and never pass through a JS number.
 *
 * SQLite lets any column hold any value. A stored value that does not fit its
 * column's kind (text `abc` in an INTEGER column, an epoch number in a
 * DATETIME column) is read as its own text rather than guessed at, so nothing
 * is lost and writing that canonical value back stores the same thing.
 */
import {
  bytesToCanonical,
  canonicalJson,
  canonicalToBytes,
  coerce,
  floatText,
  normalizeDate,
  normalizeDecimal,
  normalizeTime,
  normalizeTimestamp,
} from '../../core/canonical.js';
import type { Canonical, ColumnKind } from '../../core/types.js';

/** What better-sqlite3 hands back and accepts as a parameter. */
export type Native = null | bigint | number | string | Buffer;

/**
 * A canonical value this column cannot hold without changing it. The write
 * of that row fails with this message (and is quarantined by the engine);
 * storing a different value would make the two sides disagree forever.
 */
export class UnstorableValue extends Error {
  override name = 'UnstorableValue';
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER_TEXT = /^-?\d+$/;
const HEX_BYTES = /^\\x(?:[0-9a-fA-F]{2})*$/;

// ---------------------------------------------------------------- reading

/** A value as better-sqlite3 returned it → canonical form for `kind`. */
export function toCanonical(value: unknown, kind: ColumnKind): Canonical {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return fromInteger(value, kind);
  if (typeof value === 'number') return fromReal(value, kind);
  if (typeof value === 'string') return fromText(value, kind);
  if (value instanceof Uint8Array) return bytesToCanonical(value);
  return String(value);
}

/** A key as canonical text: keys are always strings (`null` when the row has none). */
export function toKeyText(value: unknown, kind: ColumnKind): string | null {
  const c = toCanonical(value, kind);
  return c === null ? null : String(c);
}

function fromInteger(v: bigint, kind: ColumnKind): Canonical {
  switch (kind) {
    case 'boolean':
      // Only 0/1 are booleans; any other number is kept so nothing is lost.
      return v === 0n ? false : v === 1n ? true : v.toString();
    case 'float':
      return floatText(Number(v));
    case 'bytes':
      return textAsBytes(v.toString());
    default:
      // date/time/timestamp: an epoch number's unit is a guess, so keep it as is.
      return v.toString();
  }
}

function fromReal(n: number, kind: ColumnKind): Canonical {
  if (kind === 'boolean' && (n === 0 || n === 1)) return n === 1;
  const text = realText(n);
  return kind === 'bytes' ? textAsBytes(text) : text;
}

function fromText(s: string, kind: ColumnKind): Canonical {
  switch (kind) {
    case 'text':
      return s;
    case 'integer': {
      const d = normalizeDecimal(s);
      return d !== undefined && INTEGER_TEXT.test(d) ? d : s;
    }
    case 'decimal':
      return normalizeDecimal(s) ?? s;
    case 'float': {
      const f = coerce(s, 'float');
      return typeof f === 'string' ? f : s;
    }
    case 'boolean': {
      const b = coerce(s, 'boolean');
      return typeof b === 'boolean' ? b : s;
    }
    case 'date': {
      // Only a bare date: `2024-01-02 10:00` in a DATE column is not a date and is kept whole.
      const d = normalizeDate(s);
      return d !== undefined && s.trim().length === 10 ? d : s;
    }
    case 'timestamp':
      // Text with no zone is read as UTC (the connection's stated zone).
      return normalizeTimestamp(s, 'UTC') ?? s;
    case 'time':
      return normalizeTime(s) ?? s;
    case 'json':
      return canonicalJson(s) ?? s;
    case 'bytes':
      return textAsBytes(s);
  }
}

/**
 * `floatText(n)`, without its second pass where it cannot change anything:
 * JavaScript's own text of a finite double without an exponent is already
 * canonical (no leading or trailing zeros, no `+`, `-0` prints as `0`).
 */
function realText(n: number): string {
  const s = String(n);
  return Number.isFinite(n) && !s.includes('e') ? s : floatText(n);
}

/** Non-blob content of a BLOB column: its UTF-8 bytes, matching `coerce(…, 'bytes')` and SQL `hex()`. */
function textAsBytes(s: string): string {
  return bytesToCanonical(Buffer.from(s, 'utf8'));
}

// ---------------------------------------------------------------- binding

/**
 * Canonical value → parameter for a column of `kind`. Throws `UnstorableValue`
 * when SQLite would silently change the value (see the class comment).
 *
 * Text that is not in the kind's form (kept text, see `toCanonical`) is bound
 * as text so it round-trips.
 */
export function toNative(value: Canonical, kind: ColumnKind): Native {
  if (value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  switch (kind) {
    case 'integer':
      return INTEGER_TEXT.test(value) ? int64(value) : value;
    case 'decimal':
      return decimalNative(value);
    case 'float':
      return floatNative(value);
    case 'boolean': {
      const b = coerce(value, 'boolean');
      return typeof b === 'boolean' ? (b ? 1 : 0) : value;
    }
    case 'bytes':
      if (value.startsWith('\\x') && !HEX_BYTES.test(value)) {
        throw new UnstorableValue(`${clip(value)} is not valid \\x-prefixed hex`);
      }
      return canonicalToBytes(value);
    default:
      // text, date, time, timestamp and json are stored as their canonical text.
      return value;
  }
}

function int64(text: string): bigint | number {
  // Up to 15 digits a double holds exactly, and the column's INTEGER affinity (a kind
  // `integer` column has it: types.ts) stores it as the integer it is: cheaper than a BigInt.
  if (text.length <= (text.charCodeAt(0) === 45 ? 16 : 15)) return Number(text);
  const n = BigInt(text);
  if (n < INT64_MIN || n > INT64_MAX) {
    throw new UnstorableValue(`integer ${clip(text)} is outside SQLite's 64-bit integer range`);
  }
  return n;
}

/**
 * DECIMAL/NUMERIC columns have NUMERIC affinity: SQLite turns numeric text into
 * INTEGER or REAL whatever we bind, keeping ~15 significant digits. So a decimal
 * is stored as an integer when it is one, as a REAL when that REAL reads back as
 * the same canonical text, and refused otherwise.
 */
function decimalNative(value: string): Native {
  // The usual case first: canonical text of a fraction a REAL holds exactly as written.
  if (exactFraction(value)) return Number(value);
  const d = normalizeDecimal(value);
  if (d === undefined) return value;
  if (INTEGER_TEXT.test(d)) {
    const n = BigInt(d);
    if (n >= INT64_MIN && n <= INT64_MAX) return n;
  }
  const real = Number(d);
  if (realText(real) === d) return real;
  throw new UnstorableValue(
    `decimal ${clip(value)} has more significant digits than a SQLite NUMERIC column keeps ` +
      '(about 15); declare the column TEXT to store exact decimals',
  );
}

/** Canonical text of a decimal with a fraction: no leading or trailing zeros, no `+`. */
const CANONICAL_FRACTION = /^-?(?:0|[1-9]\d*)\.\d*[1-9]$/;

/**
 * Whether `value` is a fraction that a REAL holds and writes back exactly as
 * it is: canonical, at most 15 significant digits (a double keeps 15, so no
 * other decimal that short reads as the same double, and JavaScript writes
 * the shortest), and at least 1e-6, below which JavaScript writes an
 * exponent. As `String(Number(value)) === value` for such fractions, without
 * writing a double out for every value of a decimal column.
 */
export function exactFraction(value: string): boolean {
  if (!CANONICAL_FRACTION.test(value)) return false;
  const start = value.charCodeAt(0) === 45 ? 1 : 0; // '-'
  // Digits, the point left out.
  const digits = value.length - start - 1;
  if (value.charCodeAt(start) !== 48) return digits <= 15; // not '0.…'
  let zeros = 0;
  while (value.charCodeAt(start + 2 + zeros) === 48) zeros++;
  return zeros <= 5 && digits - 1 - zeros <= 15;
}

function floatNative(value: string): Native {
  if (value === 'NaN') throw new UnstorableValue('SQLite stores NaN as NULL');
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  const d = normalizeDecimal(value);
  return d === undefined ? value : Number(d);
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
