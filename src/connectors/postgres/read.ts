/**
 * Record reads: by key or column value, keyset scan pages, and counts. Every
 * row comes back as text and becomes a record through the one converter.
 */
import type { SourceRecord } from '../../core/types.js';
import type { TableSpec } from '../connector.js';
import { toParam } from './convert.js';
import type { PgSession } from './session.js';
import { kindOf, qi, RecordReader, type TableRef } from './sql.js';

/** SQLSTATEs of a value the column's type cannot even parse (`abc` for a bigint, 10^20 for an int). */
const UNPARSABLE = new Set(['22P02', '22003', '22007', '22008', '22023']);

/**
 * Records whose `column` holds one of `values`, compared as exact canonical
 * text. The typed `= ANY` uses the column's index; a value the column's type
 * cannot parse (an identity from the other side that is no number, say) can
 * match nothing there, but fails the whole query, which is then asked again
 * comparing text. Candidates are checked exactly in canonical form (`1.50`
 * and `1.5` are equal numerics, a citext column matches any case).
 */
export async function readWhere(
  s: PgSession,
  t: TableRef,
  spec: TableSpec,
  column: string,
  values: string[],
): Promise<SourceRecord[]> {
  if (values.length === 0) return [];
  const kind = kindOf(spec, column);
  const reader = new RecordReader(spec, true);
  const extra = spec.columns.includes(column) || column === spec.key ? '' : `, ${qi(column)}::text`;
  const params = [values.map((v) => toParam(v, kind) ?? '')];
  let rows: (string | null)[][];
  try {
    rows = await s.rows(
      `SELECT ${reader.select}${extra} FROM ${t.sql} WHERE ${qi(column)} = ANY ($1)`,
      params,
    );
  } catch (err) {
    if (!UNPARSABLE.has((err as { code?: string }).code ?? '')) throw err;
    rows = await s.rows(
      `SELECT ${reader.select}${extra} FROM ${t.sql} WHERE ${qi(column)}::text = ANY ($1::text[])`,
      params,
    );
  }
  const wanted = new Set(values);
  const out: SourceRecord[] = [];
  for (const row of rows) {
    const record = reader.read(row);
    if (!record) continue;
    const matched = column === spec.key ? record.key : extra ? row[row.length - 1] : record.values[column];
    if (matched === null || matched === undefined || !wanted.has(String(matched))) continue;
    out.push(record);
  }
  return out;
}

/** One keyset page of in-scope records ordered by key, after `afterKey` (exclusive). */
export async function scanPage(
  s: PgSession,
  t: TableRef,
  spec: TableSpec,
  afterKey: string | null,
  limit: number,
): Promise<SourceRecord[]> {
  const key = qi(spec.key);
  const conditions = [
    spec.filter ? `(${spec.filter})` : '',
    afterKey === null ? `${key} IS NOT NULL` : `${key} > $2`,
  ]
    .filter(Boolean)
    .join(' AND ');
  const reader = new RecordReader(spec, false);
  const params =
    afterKey === null ? [String(limit)] : [String(limit), toParam(afterKey, kindOf(spec, spec.key))];
  // Ordered by the column qualified: a bare name would sort by the select list's `::text` of it.
  const rows = await s.rows(
    `SELECT ${reader.select} FROM ${t.sql} WHERE ${conditions} ORDER BY ${t.sql}.${key} LIMIT $1::bigint`,
    params,
  );
  const out: SourceRecord[] = [];
  for (const row of rows) {
    const record = reader.read(row);
    if (record) out.push(record);
  }
  return out;
}

/** Number of in-scope records. */
export async function countRows(s: PgSession, t: TableRef, spec: TableSpec): Promise<number> {
  const where = spec.filter ? ` WHERE (${spec.filter})` : '';
  const rows = await s.rows(`SELECT count(*) FROM ${t.sql}${where}`);
  return Number(rows[0]?.[0] ?? 0);
}
