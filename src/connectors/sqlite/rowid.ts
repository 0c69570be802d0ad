/**
 * Rowids for multi-row inserts (row-writer.ts insertGroup): which rowid SQLite
 * would give the next row, and how many rows one statement may carry.
 */
import { qi, type TableRef } from './sql.js';
import type { Statements } from './statements.js';

/** Rows per multi-row INSERT: past a few dozen, longer statements save nothing more. */
const GROUP_ROWS = 50;
/** SQLite's SQLITE_MAX_VARIABLE_NUMBER since 3.32. */
const MAX_PARAMS = 32766;

/** Rows of `paramsPerRow` parameters one INSERT may carry. */
export function groupSize(paramsPerRow: number): number {
  return Math.min(GROUP_ROWS, Math.floor(MAX_PARAMS / paramsPerRow));
}

/**
 * The rowid SQLite gives the next row inserted without one: the largest
 * rowid plus one, or past the table's sqlite_sequence entry when it is
 * AUTOINCREMENT (a rowid once used is not reused). Null once the largest is
 * the largest possible: SQLite then picks unused rowids at random.
 */
export function nextRowid(q: Statements, t: TableRef): bigint | null {
  const max = q.get(`SELECT max(rowid) FROM ${t.sql}`)?.[0];
  let last = max === null || max === undefined ? 0n : BigInt(max as bigint);
  if (q.exists(t.schema, 'table', 'sqlite_sequence')) {
    const seq = q.get(
      `SELECT seq FROM ${qi(t.schema)}.sqlite_sequence WHERE name = ? COLLATE NOCASE`,
      t.name,
    );
    if (seq && seq[0] !== null && BigInt(seq[0] as bigint) > last) last = BigInt(seq[0] as bigint);
  }
  return last >= 2n ** 63n - 1n ? null : last + 1n;
}
