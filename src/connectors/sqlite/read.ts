/**
 * Record reads: by key or column value, keyset scan pages, and counts. Rows
 * come back as arrays laid out by a `RecordReader` and become records through
 * the one converter (`convert.ts`), so every read path agrees.
 */
import type { SourceRecord } from '../../core/types.js';
import type { TableSpec } from '../connector.js';
import { type Native, toCanonical, toNative } from './convert.js';
import { kindOf, qi, RecordReader, type TableRef } from './sql.js';
import type { Statements } from './statements.js';

/**
 * Records whose `column` holds one of `values`, compared as exact canonical
 * text. The SQL `IN` (one JSON array parameter, so no parameter limit) finds
 * candidates through the column's index; it may over-match (a NOCASE column,
 * `042` vs `42`), so candidates are then checked exactly in canonical form.
 */
export function readWhere(
  q: Statements,
  t: TableRef,
  spec: TableSpec,
  column: string,
  values: string[],
): SourceRecord[] {
  if (values.length === 0) return [];
  const kind = kindOf(spec, column);
  const wanted = new Set(values);
  const lhs = kind === 'bytes' ? `('\\x' || lower(hex(${qi(column)})))` : qi(column);
  const param =
    kind === 'boolean'
      ? JSON.stringify(values.map((v) => (v === 'true' ? 1 : v === 'false' ? 0 : v)))
      : JSON.stringify(values);
  const reader = new RecordReader(spec, true, column);
  const sql = `SELECT ${reader.select} FROM ${t.sql} WHERE ${lhs} IN (SELECT value FROM json_each(?))`;
  // The matched value as the record already has it, converted once.
  const from = column === spec.key ? 'key' : spec.columns.includes(column) ? 'values' : 'row';
  const out: SourceRecord[] = [];
  for (const row of q.all(sql, param)) {
    const record = reader.read(row);
    if (!record) continue;
    const matched =
      from === 'key'
        ? record.key
        : from === 'values'
          ? record.values[column]
          : toCanonical(row[reader.extraAt], kind);
    if (matched === null || matched === undefined || !wanted.has(String(matched))) continue;
    out.push(record);
  }
  return out;
}

/** One keyset page of in-scope records ordered by key, after `afterKey` (exclusive). */
export function scanPage(
  q: Statements,
  t: TableRef,
  spec: TableSpec,
  afterKey: string | null,
  limit: number,
): SourceRecord[] {
  const key = qi(spec.key);
  const conditions = [
    spec.filter ? `(${spec.filter})` : '',
    afterKey === null ? `${key} IS NOT NULL` : `${key} > ?`,
  ]
    .filter(Boolean)
    .join(' AND ');
  // Only in-scope records are read, so no scope flag.
  const reader = new RecordReader(spec, false);
  const sql = `SELECT ${reader.select} FROM ${t.sql} WHERE ${conditions} ORDER BY ${key} LIMIT ?`;
  const params: Native[] =
    afterKey === null ? [BigInt(limit)] : [toNative(afterKey, kindOf(spec, spec.key)), BigInt(limit)];
  const out: SourceRecord[] = [];
  for (const row of q.all(sql, ...params)) {
    const record = reader.read(row);
    if (record) out.push(record);
  }
  return out;
}

/** Number of in-scope records. */
export function countRows(q: Statements, t: TableRef, spec: TableSpec): number {
  const where = spec.filter ? ` WHERE (${spec.filter})` : '';
  const row = q.get(`SELECT count(*) FROM ${t.sql}${where}`);
  return Number(row?.[0] ?? 0n);
}
