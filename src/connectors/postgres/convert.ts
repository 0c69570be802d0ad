/**
 * The one PostgreSQL ⇄ canonical converter. The connection hands every value
 * over as PostgreSQL's own text (no type parsers: int8 and numeric never
 * become a JS number, a timestamp never a JS Date), in a session set to
 * TimeZone UTC, DateStyle ISO and bytea_output hex; what pgoutput streams is
 * the same text, so snapshot and stream can share this converter.
 *
 * Values go back as text parameters that PostgreSQL parses with the column's
 * own input function: a value the column cannot hold is refused by the server
 * with its own message, never changed on the way.
 */
import {
  canonicalJson,
  floatText,
  normalizeDecimal,
  normalizeTime,
  normalizeTimestamp,
} from '../../core/canonical.js';
import type { Canonical, ColumnKind } from '../../core/types.js';

/** PostgreSQL's text of a value → canonical form for `kind`. */
export function toCanonical(text: string | null, kind: ColumnKind): Canonical {
  if (text === null) return null;
  switch (kind) {
    case 'boolean':
      // `bool::text` says true/false; the wire's own text (pgoutput) says t/f.
      return text === 't' || text === 'true' ? true : text === 'f' || text === 'false' ? false : text;
    case 'decimal':
      // NaN and ±Infinity stay as PostgreSQL writes them.
      return normalizeDecimal(text) ?? text;
    case 'float':
      return floatValue(text);
    case 'timestamp':
      // timestamptz prints with its offset (+00 in this session); timestamp has none and is UTC by statement.
      return normalizeTimestamp(text, 'UTC') ?? text;
    case 'time':
      return normalizeTime(text) ?? text;
    case 'json':
      return canonicalJson(text) ?? text;
    default:
      // integer, date (ISO already), bytes (\x + lowercase hex already), text.
      return text;
  }
}

function floatValue(text: string): string {
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return text;
  const n = Number(text);
  return Number.isFinite(n) ? floatText(n) : text;
}

/** Canonical value → text parameter for a column of `kind`. */
export function toParam(value: Canonical, kind: ColumnKind): string | null {
  if (value === null) return null;
  if (typeof value === 'boolean') return kind === 'boolean' ? String(value) : value ? 'true' : 'false';
  return value;
}
