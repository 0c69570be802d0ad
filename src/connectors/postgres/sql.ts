/**
 * SQL text shared by the PostgreSQL connector's parts: identifier quoting,
 * table names, the objects tandem owns, and the select list every read uses
 * with its row → record conversion.
 */
import type { ColumnKind, SourceRecord } from '../../core/types.js';
import type { TableSpec } from '../connector.js';
import { toCanonical } from './convert.js';

/** tandem's own schema in a database it writes to: receipts live there. */
export const TANDEM_SCHEMA = '_tandem';
export const RECEIPTS = `${TANDEM_SCHEMA}.receipts`;

/** Quotes an identifier for PostgreSQL. */
export const qi = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export interface TableRef {
  /** null: the connection's current schema (the first of its search_path that exists). */
  schema: string | null;
  name: string;
  /** Ready for SQL: `"schema"."name"` or `"name"`. */
  sql: string;
}

/**
 * `table` or `schema.table`, each exactly as the catalog spells it (no case
 * folding: `Customers` is the table created as "Customers"). A name with a dot
 * but no such schema is looked up as it stands by introspection.
 */
export function tableRef(table: string): TableRef {
  const dot = table.indexOf('.');
  if (dot > 0) {
    const schema = table.slice(0, dot);
    const name = table.slice(dot + 1);
    return { schema, name, sql: `${qi(schema)}.${qi(name)}` };
  }
  return { schema: null, name: table, sql: qi(table) };
}

export function kindOf(spec: TableSpec, column: string): ColumnKind {
  return spec.kinds[column] ?? 'text';
}

/**
 * The select list of a read and the row → record conversion that goes with it.
 * Every column is selected as text (`::text`), so what comes back is
 * PostgreSQL's own text of each value, whatever the type. Rows are arrays:
 * the columns, then the scope flag when the spec has a filter and the read
 * wants it, then the key when it is not one of the columns.
 */
export class RecordReader {
  readonly select: string;
  private readonly kinds: ColumnKind[];
  private readonly keyAt: number;
  private readonly scopeAt: number;

  constructor(
    private readonly spec: TableSpec,
    withScope: boolean,
  ) {
    const parts = spec.columns.map((c) => `${qi(c)}::text`);
    this.kinds = spec.columns.map((c) => kindOf(spec, c));
    this.scopeAt = withScope && spec.filter ? parts.push(`coalesce((${spec.filter}), false)`) - 1 : -1;
    const keyCol = spec.columns.indexOf(spec.key);
    this.keyAt = keyCol >= 0 ? keyCol : parts.push(`${qi(spec.key)}::text`) - 1;
    this.select = parts.join(', ');
  }

  /** The record of a row; null when the row has no key. */
  read(row: unknown[]): SourceRecord | null {
    const keyText = row[this.keyAt] as string | null;
    if (keyText === null) return null;
    const values: Record<string, ReturnType<typeof toCanonical>> = {};
    const { columns } = this.spec;
    for (let i = 0; i < columns.length; i++)
      values[columns[i]!] = toCanonical(row[i] as string | null, this.kinds[i]!);
    const key = String(toCanonical(keyText, kindOf(this.spec, this.spec.key)));
    return {
      key,
      values,
      inScope: this.scopeAt < 0 ? true : row[this.scopeAt] === 't' || row[this.scopeAt] === true,
    };
  }
}
