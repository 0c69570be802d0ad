/**
 * Record keys and identities as the SQLite state store keeps them in `links`:
 * integer text as an INTEGER, anything else as TEXT (the columns have no
 * declared type, so SQLite keeps each value as it is bound). Keys mostly
 * count up as records are made; as integers they also sort that way, so the
 * link indexes grow at their end rather than all over ("10" sorts before "9"
 * as text): a quarter less CPU per link inserted, measured at 1,000,000 links.
 *
 * Every value bound against those columns goes through `storedKey`, so a key
 * is always compared in the form it was stored in. Migration 2
 * (sqlite-migrations.ts) turned keys saved as text before into this form,
 * with the same rule written in SQL.
 */

import { isExactIntegerText } from '../core/canonical.js';

/**
 * The value bound for a key. A bigint, because better-sqlite3 binds every JS
 * number as a REAL: 8 bytes a key where an INTEGER takes 1 to 6, and not the
 * form migration 2 gives. (Read back, an INTEGER arrives as a JS number, which
 * `keyText` turns into the same text; ≤ 15 digits keeps that exact.)
 */
export function storedKey(key: string): string | bigint {
  return isExactIntegerText(key) ? BigInt(key) : key;
}

export function storedKeyOrNull(key: string | null): string | bigint | null {
  return key === null ? null : storedKey(key);
}

/** Keys as the JSON array `json_each` unnests, each in its stored form (a JSON integer is an INTEGER there). */
export function storedKeysJson(keys: readonly string[]): string {
  return JSON.stringify(keys.map((k) => (isExactIntegerText(k) ? Number(k) : k)));
}

/** A stored key back as the key's text. */
export function keyText(value: string | number): string {
  return typeof value === 'string' ? value : String(value);
}

/** The same rule as `storedKey`, in SQL, for keys a migration finds stored as text. */
export function storedKeySql(column: string): string {
  const digitsAfter = (n: number) => `substr(${column}, ${n}) NOT GLOB '*[^0-9]*'`;
  return (
    `CASE WHEN typeof(${column}) = 'text' AND (${column} = '0'` +
    ` OR (${column} GLOB '[1-9]*' AND length(${column}) <= 15 AND ${digitsAfter(2)})` +
    ` OR (${column} GLOB '-[1-9]*' AND length(${column}) <= 16 AND ${digitsAfter(3)}))` +
    ` THEN CAST(${column} AS INTEGER) ELSE ${column} END`
  );
}
