/**
 * The one MySQL/MariaDB ⇄ canonical converter, for the snapshot path (mysql2
 * result rows) and the stream path (binlog row images) alike.
 *
 * The sessions run with `supportBigNumbers`, `bigNumberStrings`,
 * `dateStrings` and `jsonStrings`, in time_zone '+00:00': BIGINT and DECIMAL
 * arrive as exact strings, DATE/DATETIME/TIMESTAMP/TIME as the server's text
 * (TIMESTAMP rendered in UTC), JSON as text. The binlog hands over other JS
 * shapes for the same values (numbers, bigints, Dates, ENUM indexes, SET
 * bitmasks, float32 widened to double), so every shape is accepted here and
 * brought to the one canonical form; `nativeType` (information_schema's
 * COLUMN_TYPE, e.g. `int(10) unsigned`, `float`, `enum('a','b')`) settles
 * what the value alone cannot.
 *
 * DATETIME has no zone: it is read and written as UTC wall time.
 */
import {
  bytesToCanonical,
  canonicalJson,
  canonicalToBytes,
  floatText,
  normalizeDate,
  normalizeDecimal,
  normalizeTime,
  normalizeTimestamp,
} from '../../core/canonical.js';
import type { Canonical, ColumnKind } from '../../core/types.js';

// ---------------------------------------------------------------- reading

/**
 * A value as mysql2 or the binlog hands it over → canonical form for `kind`.
 * A value that does not fit its kind (a zero date, TINYINT(1) holding 7) is
 * kept as its own text rather than guessed at, so nothing is lost.
 */
export function toCanonical(value: unknown, kind: ColumnKind, nativeType?: string): Canonical {
  if (value === null || value === undefined) return null;
  const type = (nativeType ?? '').toLowerCase();
  switch (kind) {
    case 'integer':
      return integerText(value, type);
    case 'boolean':
      return booleanValue(value, type);
    case 'decimal': {
      const text = scalarText(value);
      return normalizeDecimal(text) ?? text;
    }
    case 'float':
      return floatValue(value, type);
    case 'date':
      return dateValue(value);
    case 'timestamp':
      return timestampValue(value);
    case 'time':
      return timeValue(value);
    case 'json':
      return jsonValue(value);
    case 'bytes':
      return value instanceof Uint8Array
        ? bytesToCanonical(value)
        : bytesToCanonical(Buffer.from(scalarText(value), 'utf8'));
    default:
      return textValue(value, type);
  }
}

/**
 * A key value as the canonical text reads give (`SourceRecord.key`): the same
 * string for the same row whether it came from a SELECT or a binlog row image.
 * `null` when the value is SQL NULL. A boolean key reads as `true`/`false`.
 */
export function keyText(value: unknown, kind: ColumnKind, nativeType?: string): string | null {
  const c = toCanonical(value, kind, nativeType);
  return c === null ? null : String(c);
}

/** Text of a scalar whatever shape it came in (Buffer as UTF-8). */
function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  if (typeof value === 'number') return floatText(value);
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** Bits of an integer type, from COLUMN_TYPE (`bigint(20) unsigned` → 64). */
function integerBits(type: string): number {
  if (type.startsWith('tinyint')) return 8;
  if (type.startsWith('smallint')) return 16;
  if (type.startsWith('mediumint')) return 24;
  if (type.startsWith('bigint')) return 64;
  return 32;
}

function integerText(value: unknown, type: string): string {
  let n: bigint | undefined;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === 'boolean') n = value ? 1n : 0n;
  // BIT(n) arrives as its bytes, big-endian.
  else if (value instanceof Uint8Array)
    n = value.length === 0 ? 0n : BigInt(`0x${Buffer.from(value).toString('hex')}`);
  else {
    const text = scalarText(value);
    if (!/^[+-]?\d+$/.test(text.trim())) return normalizeDecimal(text) ?? text;
    n = BigInt(text.trim());
  }
  // A binlog row image carries the bits, not the sign: an UNSIGNED value read as signed wraps.
  if (n < 0n && type.includes('unsigned')) n += 1n << BigInt(integerBits(type));
  return n.toString();
}

function booleanValue(value: unknown, type: string): Canonical {
  if (typeof value === 'boolean') return value;
  const text = integerText(value, type);
  if (text === '0') return false;
  if (text === '1') return true;
  // TINYINT(1) holding 7: not a boolean, so kept as its number (a write of it elsewhere is refused, not guessed).
  return text;
}

/** Shortest text that reads back as the same single-precision value. */
function float32Text(n: number): string {
  const target = Math.fround(n);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(n.toPrecision(digits));
    if (Math.fround(candidate) === target) return floatText(candidate);
  }
  return floatText(target);
}

function floatValue(value: unknown, type: string): string {
  const n = typeof value === 'number' ? value : Number(scalarText(value));
  if (!Number.isFinite(n)) return scalarText(value);
  // FLOAT is single precision: the binlog widens it to a double (1.1 → 1.100000023841858).
  return type.startsWith('float') ? float32Text(n) : floatText(n);
}

/** A Date (binlog without dateStrings) is taken as the UTC wall time it denotes. */
function dateValue(value: unknown): string {
  if (value instanceof Date) return normalizeDate(value) ?? String(value);
  const text = scalarText(value);
  return normalizeDate(text) ?? text;
}

function timestampValue(value: unknown): string {
  if (value instanceof Date) return normalizeTimestamp(value) ?? String(value);
  // An epoch number is TIMESTAMP's binlog form (seconds, maybe with a fraction).
  if (typeof value === 'number') return normalizeTimestamp(value * 1000) ?? String(value);
  const text = scalarText(value);
  // The server's text has no zone: DATETIME is UTC by statement, TIMESTAMP rendered in the '+00:00' session.
  return normalizeTimestamp(text, 'UTC') ?? text;
}

/** TIME is a duration too: `-838:59:59` and `100:00:00` are values, kept with their sign and hours. */
function timeValue(value: unknown): string {
  const text = scalarText(value).trim();
  const m = /^(-?)(\d{1,3}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(text);
  if (!m) return normalizeTime(text) ?? text;
  const frac = (m[5] ?? '').replace(/0+$/, '');
  return `${m[1]}${(m[2] ?? '').padStart(2, '0')}:${m[3]}:${m[4]}${frac ? `.${frac}` : ''}`;
}

function jsonValue(value: unknown): string {
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const text = scalarText(value);
    return canonicalJson(text) ?? text;
  }
  // A document the binlog already decoded.
  return canonicalJson(JSON.stringify(value)) ?? String(value);
}

function textValue(value: unknown, type: string): string {
  if (typeof value === 'number' || typeof value === 'bigint') {
    // ENUM as its 1-based index and SET as its bitmask, as a binlog row image carries them.
    const members = enumMembers(type);
    if (members)
      return type.startsWith('set') ? setText(BigInt(value), members) : (members[Number(value) - 1] ?? '');
  }
  return scalarText(value);
}

/** The members of `enum('a','b')` / `set('a','b')`, in order; undefined for other types. */
export function enumMembers(type: string): string[] | undefined {
  const m = /^(?:enum|set)\((.*)\)$/is.exec(type.trim());
  if (!m) return undefined;
  const out: string[] = [];
  const re = /'((?:[^']|'')*)'/g;
  for (let hit = re.exec(m[1] ?? ''); hit; hit = re.exec(m[1] ?? ''))
    out.push((hit[1] ?? '').replace(/''/g, "'"));
  return out;
}

function setText(mask: bigint, members: string[]): string {
  return members.filter((_, i) => (mask >> BigInt(i)) & 1n).join(',');
}

// ---------------------------------------------------------------- writing

/**
 * What a value is sent as: mysql2 quotes strings, writes a Buffer as a hex
 * literal, and puts a `toSqlString` object's text in as it is.
 */
export type Param = null | string | number | Buffer | SqlLiteral;

/** A numeric literal put into the statement unquoted (checked to be only digits, sign and point). */
export interface SqlLiteral {
  toSqlString(): string;
}

const NUMERIC_LITERAL = /^-?\d{1,65}(?:\.\d{1,38})?$/;

/**
 * Canonical value → parameter for a column of `kind`. Values travel as text
 * the server parses with the column's own rules (in STRICT mode): a value the
 * column cannot hold is refused with the server's message, never changed.
 */
export function toParam(value: Canonical, kind: ColumnKind): Param {
  if (value === null) return null;
  if (typeof value === 'boolean') {
    if (kind === 'text' || kind === 'json') return value ? 'true' : 'false';
    return value ? 1 : 0;
  }
  switch (kind) {
    case 'boolean': {
      const t = value.trim().toLowerCase();
      if (t === 'true' || t === 't') return 1;
      if (t === 'false' || t === 'f') return 0;
      return value;
    }
    case 'integer':
    case 'decimal':
      // Unquoted, so the server compares exactly: a quoted number against a BIGINT or DECIMAL
      // column is compared as a double (9007199254740993 would equal …992).
      return NUMERIC_LITERAL.test(value) ? { toSqlString: () => value } : value;
    case 'timestamp':
      return timestampParam(value);
    case 'bytes':
      return canonicalToBytes(value);
    default:
      return value;
  }
}

/**
 * `2024-01-02T03:04:05.25Z` → `2024-01-02 03:04:05.25` in UTC: MariaDB reads
 * no zone suffix, and the session's time_zone is '+00:00'.
 */
function timestampParam(value: string): string {
  const utc = normalizeTimestamp(value, 'UTC');
  if (utc === undefined) return value;
  return utc.slice(0, -1).replace('T', ' ');
}
