/**
 * SQL text and row shapes shared by the SQLite connector's parts: identifier
 * quoting, the names of the objects tandem owns, the select list every read
 * uses and the row → record conversion that goes with it, and error sorting.
 */
import type { Canonical, ColumnKind, SourceRecord } from '../../core/types.js';
import type { TableSpec } from '../connector.js';
import { toCanonical, toKeyText } from './convert.js';

/** Objects tandem owns in a database; the `_tandem_` prefix marks them all. */
export const CHANGES = '_tandem_changes';
export const WRITER = '_tandem_writer';
export const CREATED = '_tandem_created';
export const CLAIMS = '_tandem_claims';

/** Quotes an identifier for SQLite. */
export const qi = (name: string): string => `"${name.replace(/"/g, '""')}"`;
/** Quotes a string literal (for DDL, where parameters are not allowed). */
export const ql = (text: string): string => `'${text.replace(/'/g, "''")}'`;

export interface TableRef {
  schema: string;
  name: string;
  /** `"schema"."name"`, ready for SQL. */
  sql: string;
}

export function kindOf(spec: TableSpec, column: string): ColumnKind {
  return spec.kinds[column] ?? 'text';
}

/**
 * The select list of a read and the row → record conversion that goes with it.
 * Rows are arrays laid out as: the key (only when it is not one of the
 * columns), the columns, the scope flag (only when the spec has a filter and
 * the read wants it), then `extra` (only when it is neither key nor column).
 * Nothing is selected twice, and kinds are looked up once per read.
 */
export class RecordReader {
  /** The expressions to SELECT, in row order. */
  readonly select: string;
  /** Where `extra` is in a row (the key's or a column's place when it is one of them). */
  readonly extraAt: number;
  private readonly keyKind: ColumnKind;
  /** The key's index among the columns; -1 when it is selected on its own, first. */
  private readonly keyColumn: number;
  private readonly columns: string[];
  private readonly kinds: ColumnKind[];
  /** Where the columns start in a row. */
  private readonly first: number;
  private readonly scopeAt: number;

  /** `scoped`: read the scope flag (without it, or without a filter, every record is in scope). */
  constructor(spec: TableSpec, scoped: boolean, extra?: string) {
    const { key, columns, filter } = spec;
    this.keyKind = kindOf(spec, key);
    this.columns = columns;
    this.kinds = columns.map((column) => kindOf(spec, column));
    this.keyColumn = columns.indexOf(key);
    const exprs = this.keyColumn < 0 ? [qi(key)] : [];
    this.first = exprs.length;
    exprs.push(...columns.map(qi));
    this.scopeAt = scoped && filter ? exprs.push(`CASE WHEN (${filter}) THEN 1 ELSE 0 END`) - 1 : -1;
    const extraColumn = extra === undefined ? -1 : columns.indexOf(extra);
    if (extra === undefined) this.extraAt = -1;
    else if (extraColumn >= 0) this.extraAt = this.first + extraColumn;
    else if (extra === key) this.extraAt = 0;
    else this.extraAt = exprs.push(qi(extra)) - 1;
    this.select = exprs.join(', ');
  }

  /** The record of `row`; `null` when the key is NULL. */
  read(row: unknown[]): SourceRecord | null {
    const { columns, kinds, first } = this;
    const values: SourceRecord['values'] = {};
    for (let i = 0; i < columns.length; i++) values[columns[i]!] = toCanonical(row[first + i], kinds[i]!);
    // The key read as a column is already in canonical form: convert it once.
    const key =
      this.keyColumn < 0 ? toKeyText(row[0], this.keyKind) : keyText(values[columns[this.keyColumn]!]);
    if (key === null) return null;
    return { key, values, inScope: this.scopeAt < 0 || row[this.scopeAt] === 1n };
  }
}

function keyText(value: Canonical | undefined): string | null {
  return value === null || value === undefined ? null : String(value);
}

/**
 * Errors that are about the database or the machine, not about one row: the
 * whole write fails (and is retried by the engine) instead of quarantining rows.
 */
const ENVIRONMENT_ERRORS =
  /^SQLITE_(BUSY|LOCKED|IOERR|FULL|NOMEM|CORRUPT|CANTOPEN|READONLY|NOTADB|INTERRUPT|PROTOCOL|PERM|NOLFS|AUTH)/;

export function isEnvironmentError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && ENVIRONMENT_ERRORS.test(code);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
