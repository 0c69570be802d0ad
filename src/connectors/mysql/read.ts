/**
 * Record reads: by key or column value, keyset scan pages, and counts. Every
 * row becomes a record through the one converter (convert.ts).
 */
import type { Canonical, SourceRecord } from '../../core/types.js';
import type { TableSpec } from '../connector.js';
import { toCanonical, toParam } from './convert.js';
import { type ColumnFacts, columnsOf } from './introspect.js';
import type { MysqlSession, Param } from './session.js';
import { flavour, inExactly, kindOf, qi, type TableRef, twiceFor } from './sql.js';

/** Values per IN list: bounds a statement's size, not the batch. */
const CHUNK = 1_000;

/**
 * The select list of a read and the row → record conversion that goes with
 * it. Rows are arrays: the columns, then the scope flag when the spec has a
 * filter and the read wants it, then the key when it is not one of the
 * columns, then any extra expressions.
 */
export class RecordReader {
  readonly select: string;
  private readonly keyAt: number;
  private readonly scopeAt: number;
  private readonly types: (string | undefined)[];

  constructor(
    private readonly spec: TableSpec,
    withScope: boolean,
    facts: Map<string, ColumnFacts>,
    extra: string[] = [],
  ) {
    const parts = spec.columns.map((c) => selectColumn(c, facts.get(c)));
    this.types = spec.columns.map((c) => facts.get(c)?.columnType);
    this.scopeAt = withScope && spec.filter ? parts.push(`((${spec.filter}) IS TRUE)`) - 1 : -1;
    const keyCol = spec.columns.indexOf(spec.key);
    this.keyAt = keyCol >= 0 ? keyCol : parts.push(selectColumn(spec.key, facts.get(spec.key))) - 1;
    this.keyType = facts.get(spec.key)?.columnType;
    this.extraAt = parts.length;
    parts.push(...extra);
    this.select = parts.join(', ');
  }

  private readonly keyType: string | undefined;
  /** Where the extra expressions start in a row. */
  readonly extraAt: number;

  /** The record of a row; null when the row has no key. */
  read(row: unknown[]): SourceRecord | null {
    const keyValue = row[this.keyAt];
    if (keyValue === null || keyValue === undefined) return null;
    const values: Record<string, Canonical> = {};
    const { columns } = this.spec;
    for (let i = 0; i < columns.length; i++)
      values[columns[i]!] = toCanonical(row[i], kindOf(this.spec, columns[i]!), this.types[i]);
    const key = String(toCanonical(keyValue, kindOf(this.spec, this.spec.key), this.keyType));
    return { key, values, inScope: this.scopeAt < 0 ? true : Number(row[this.scopeAt]) === 1 };
  }
}

/**
 * FLOAT is read widened to DOUBLE: the server's text of a FLOAT has six
 * significant digits (0.1234567 prints as 0.123457), the double is exact.
 */
function selectColumn(column: string, facts: ColumnFacts | undefined): string {
  const col = qi(column);
  if (facts && /^float/i.test(facts.columnType)) return `CAST(${col} AS DOUBLE)`;
  return col;
}

/**
 * Records whose `column` holds one of `values`, compared as exact canonical
 * text: the IN list finds candidates with the column's index (a *_ci column
 * or a numeric comparison may find more), and each candidate's canonical value
 * is then checked against what was asked for.
 */
export async function readWhere(
  s: MysqlSession,
  t: TableRef,
  spec: TableSpec,
  column: string,
  values: string[],
): Promise<SourceRecord[]> {
  if (values.length === 0) return [];
  const facts = await columnsOf(s, t);
  const f = await flavour(s);
  const kind = kindOf(spec, column);
  const inColumns = spec.columns.includes(column) || column === spec.key;
  const reader = new RecordReader(
    spec,
    true,
    facts,
    inColumns ? [] : [selectColumn(column, facts.get(column))],
  );
  const wanted = new Set(values);
  const out: SourceRecord[] = [];
  for (let i = 0; i < values.length; i += CHUNK) {
    const chunk = values.slice(i, i + CHUNK);
    const params: Param[] = chunk.map((v) => toParam(v, kind));
    const rows = await s.rows(
      `SELECT ${reader.select} FROM ${t.sql} WHERE ${inExactly(column, kind, chunk.length, f)}`,
      twiceFor(kind) ? [...params, ...params] : params,
    );
    for (const row of rows) {
      const record = reader.read(row);
      if (!record) continue;
      const matched =
        column === spec.key
          ? record.key
          : inColumns
            ? record.values[column]
            : toCanonical(row[reader.extraAt], kind, facts.get(column)?.columnType);
      if (matched === null || matched === undefined || !wanted.has(String(matched))) continue;
      out.push(record);
    }
  }
  return out;
}

/** One keyset page of in-scope records ordered by key, after `afterKey` (exclusive). */
export async function scanPage(
  s: MysqlSession,
  t: TableRef,
  spec: TableSpec,
  afterKey: string | null,
  limit: number,
): Promise<SourceRecord[]> {
  const facts = await columnsOf(s, t);
  const key = `${t.sql}.${qi(spec.key)}`;
  const conditions = [
    spec.filter ? `(${spec.filter})` : '',
    afterKey === null ? `${key} IS NOT NULL` : `${key} > ?`,
  ]
    .filter(Boolean)
    .join(' AND ');
  const reader = new RecordReader(spec, false, facts);
  const params: Param[] = afterKey === null ? [] : [toParam(afterKey, kindOf(spec, spec.key))];
  const rows = await s.rows(
    `SELECT ${reader.select} FROM ${t.sql} WHERE ${conditions} ORDER BY ${key} LIMIT ${Math.max(0, Math.floor(limit))}`,
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
export async function countRows(s: MysqlSession, t: TableRef, spec: TableSpec): Promise<number> {
  const where = spec.filter ? ` WHERE (${spec.filter})` : '';
  const rows = await s.rows(`SELECT COUNT(*) FROM ${t.sql}${where}`);
  return Number(rows[0]?.[0] ?? 0);
}
