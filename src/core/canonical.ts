/**
 * Canonical values: each side's native value is turned into one form so a value
 * that round-trips through another type system is never seen as a change.
 */
import type { Canonical, ColumnKind } from './types.js';

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
/** Text already in canonical form (then returned as is, without the parse below: it runs for every value). */
const CANONICAL_DECIMAL_RE = /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;

/** Exact decimal text with no exponent, no leading zeros, no trailing fraction zeros ("-0" is "0"). */
export function normalizeDecimal(text: string): string | undefined {
  if (CANONICAL_DECIMAL_RE.test(text) && text !== '-0') return text;
  const m = DECIMAL_RE.exec(text.trim());
  if (!m) return undefined;
  const [, sign = '', intPartRaw = '', fracRaw = '', expRaw] = m;
  if (intPartRaw === '' && fracRaw === '') return undefined;
  let digits = intPartRaw + fracRaw;
  let point = intPartRaw.length;
  if (expRaw !== undefined) point += Number.parseInt(expRaw, 10);
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  let intPart = digits.slice(0, point).replace(/^0+/, '') || '0';
  const frac = digits.slice(point).replace(/0+$/, '');
  const isZero = intPart === '0' && frac === '';
  if (isZero) return '0';
  if (intPart === '') intPart = '0';
  return `${sign === '-' ? '-' : ''}${intPart}${frac ? `.${frac}` : ''}`;
}

/** Shortest text that reads back as the same double. */
/**
 * Integer text that a double holds exactly and that reads back as the same
 * text through Number and String: no sign on zero, no leading zeros, at most
 * 15 digits. Such keys may be stored or sent as numbers.
 */
export function isExactIntegerText(text: string): boolean {
  return EXACT_INTEGER_RE.test(text);
}

const EXACT_INTEGER_RE = /^(?:0|-?[1-9]\d{0,14})$/;

export function floatText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (Object.is(n, -0)) return '0';
  return normalizeDecimal(String(n)) ?? String(n);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Canonical instant text: returned as is once its calendar is checked (this runs for every value). */
const CANONICAL_TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):([0-5]\d):([0-5]\d)(?:\.\d{0,5}[1-9])?Z$/;
const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * ISO-8601 UTC instant with microsecond precision trimmed of trailing zeros:
 * `2024-01-02T03:04:05Z`, `2024-01-02T03:04:05.25Z`.
 * Text without a zone is read in `zone` (only 'UTC' or ±HH:MM offsets are understood).
 */
export function normalizeTimestamp(input: string | Date | number, zone = 'UTC'): string | undefined {
  if (input instanceof Date) {
    if (Number.isNaN(input.getTime())) return undefined;
    return normalizeTimestamp(input.toISOString());
  }
  if (typeof input === 'number') return normalizeTimestamp(new Date(input));
  const c = CANONICAL_TIMESTAMP_RE.exec(input);
  if (c && calendarTime(c[1]!, c[2]!, c[3]!, c[4]!)) return input;
  const m = TIMESTAMP_RE.exec(input.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', fracRaw = '', tz] = m;
  const offsetMinutes = parseOffset(tz ?? (zone === 'UTC' ? 'Z' : zone));
  if (offsetMinutes === undefined) return undefined;
  const frac = `${fracRaw}000000`.slice(0, 6).replace(/0+$/, '');
  const tail = `${frac ? `.${frac}` : ''}Z`;
  // In UTC already (what servers send with a UTC session): the wall time is the answer.
  if (offsetMinutes === 0 && Number(mi) < 60 && Number(s) < 60 && calendarTime(y!, mo!, d!, h)) {
    return `${y}-${mo}-${d}T${h}:${mi}:${s}${tail}`;
  }
  const ms = utcMillis(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s));
  if (ms === undefined) return undefined;
  const utc = new Date(ms - offsetMinutes * 60_000);
  const base = `${pad(utc.getUTCFullYear(), 4)}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())}T${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())}`;
  return `${base}${tail}`;
}

/** A real day of the (proleptic Gregorian) calendar and an hour of it, as Date counts them. */
function calendarTime(y: string, mo: string, d: string, h: string): boolean {
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || Number(h) > 23) return false;
  if (day <= 28) return true;
  const year = Number(y);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return day <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/** Milliseconds since the epoch for a UTC wall time; undefined for an impossible one (Feb 30, 25:00). */
function utcMillis(y: number, mo: number, d: number, h: number, mi: number, s: number): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return undefined;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0–99 as 1900–1999.
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d)
    return undefined;
  return date.getTime();
}

function parseOffset(tz: string): number | undefined {
  if (/^z$/i.test(tz) || tz.toUpperCase() === 'UTC') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(tz);
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? '0');
  return m[1] === '-' ? -minutes : minutes;
}

export function normalizeDate(input: string | Date): string | undefined {
  if (input instanceof Date)
    return Number.isNaN(input.getTime()) ? undefined : input.toISOString().slice(0, 10);
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(input.trim());
  if (!m || utcMillis(Number(m[1]), Number(m[2]), Number(m[3]), 0, 0, 0) === undefined) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}`;
}

export function normalizeTime(input: string): string | undefined {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/.exec(input.trim());
  if (!m) return undefined;
  const frac = (m[4] ?? '').replace(/0+$/, '');
  return `${pad(Number(m[1]))}:${m[2]}:${m[3] ?? '00'}${frac ? `.${frac}` : ''}`;
}

/** JSON text with object keys sorted, so `{"b":1,"a":2}` and `{"a":2,"b":1}` are one value. */
export function canonicalJson(input: unknown): string | undefined {
  let parsed: unknown = input;
  if (typeof input === 'string') {
    try {
      parsed = JSON.parse(input);
    } catch {
      return undefined;
    }
  }
  return JSON.stringify(sortKeys(parsed));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    // No prototype: a "__proto__" key stays an ordinary key, as JSON.parse made it.
    const out: Record<string, unknown> = Object.create(null);
    for (const k of Object.keys(v as object).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export function bytesToCanonical(bytes: Uint8Array): string {
  return `\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

export function canonicalToBytes(value: string): Buffer {
  if (value.startsWith('\\x')) return Buffer.from(value.slice(2), 'hex');
  return Buffer.from(value, 'utf8');
}

const TRUE_TEXT = new Set(['1', 't', 'true', 'y', 'yes', 'on']);
const FALSE_TEXT = new Set(['0', 'f', 'false', 'n', 'no', 'off']);

/**
 * Turns a value of any kind into `kind`'s canonical form; `undefined` when it
 * cannot be represented (the write is then quarantined as `invalid_value`).
 * This is how a value crosses from one side's type to the other side's.
 */
export function coerce(value: Canonical, kind: ColumnKind): Canonical | undefined {
  if (value === null) return null;
  if (typeof value === 'boolean') {
    switch (kind) {
      case 'boolean':
        return value;
      case 'integer':
      case 'decimal':
      case 'float':
        return value ? '1' : '0';
      case 'text':
      case 'json':
        return value ? 'true' : 'false';
      default:
        return undefined;
    }
  }
  switch (kind) {
    case 'text':
      return value;
    case 'boolean': {
      const t = value.trim().toLowerCase();
      if (TRUE_TEXT.has(t)) return true;
      if (FALSE_TEXT.has(t)) return false;
      return undefined;
    }
    case 'integer': {
      const d = normalizeDecimal(value);
      return d !== undefined && !d.includes('.') ? d : undefined;
    }
    case 'decimal':
      return normalizeDecimal(value);
    case 'float': {
      if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return value;
      const d = normalizeDecimal(value);
      return d === undefined ? undefined : floatText(Number(d));
    }
    case 'date':
      return normalizeDate(value);
    case 'timestamp':
      return normalizeTimestamp(value);
    case 'time':
      return normalizeTime(value);
    case 'json':
      return canonicalJson(value);
    case 'bytes':
      return value.startsWith('\\x') ? value.toLowerCase() : bytesToCanonical(Buffer.from(value, 'utf8'));
  }
}
