/**
 * Declared SQLite column type → Tandem column kind.
 *
 * SQLite stores whatever it is given, so the declared type is only a promise
 * about what the application meant. We read that promise the way people write
 * it (`DATETIME`, `BOOLEAN`, `DECIMAL(10,2)`), not by SQLite's five affinities,
 * because the kind decides how a value is compared with the other side.
 * `convert.ts` copes with values that break the promise.
 */
import type { ColumnKind } from '../../core/types.js';

/** Ordered: the first rule that matches wins (`DATETIME` before `DATE`, `BIGINT` via `INT`). */
const RULES: ReadonlyArray<readonly [RegExp, ColumnKind]> = [
  [/^(BOOLEAN|BOOL)$/, 'boolean'],
  [/^(DATETIME|TIMESTAMP|TIMESTAMPTZ|TIMESTAMP WITH(OUT)? TIME ZONE)$/, 'timestamp'],
  [/^DATE$/, 'date'],
  [/^(TIME|TIMETZ|TIME WITH(OUT)? TIME ZONE)$/, 'time'],
  [/^(JSON|JSONB)$/, 'json'],
  [/^(BLOB|BYTEA|BINARY|VARBINARY|LONGBLOB|MEDIUMBLOB|TINYBLOB)$/, 'bytes'],
  // SQLite's own rule 1: any type containing INT has INTEGER affinity.
  [/INT/, 'integer'],
  // Rule 2 (CHAR/CLOB/TEXT → TEXT affinity) comes before the numeric names so
  // that e.g. `DECIMAL_TEXT` stays text, as SQLite itself would store it.
  [/CHAR|CLOB|TEXT/, 'text'],
  [/REAL|FLOA|DOUB/, 'float'],
  [/^(NUMERIC|DECIMAL|NUMBER|MONEY)\b/, 'decimal'],
];

/** The kind of a column declared with `declared` (empty when the column has no type). */
export function sqliteKind(declared: string): ColumnKind {
  // Drop size/precision arguments and normalise spacing: `decimal( 10, 2 )` → `DECIMAL`.
  const base = declared
    .replace(/\(.*\)/s, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .toUpperCase();
  if (base === '') return 'text';
  for (const [pattern, kind] of RULES) if (pattern.test(base)) return kind;
  return 'text';
}
