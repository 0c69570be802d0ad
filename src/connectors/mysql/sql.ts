/**
 * SQL text shared by the MySQL connector's parts: identifier quoting, table
 * references, the server's flavour, tandem's own receipts table, and the
 * exact (binary, no-pad) comparison of text keys.
 */
import type { ColumnKind } from '../../core/types.js';
import type { TableSpec } from '../connector.js';
import type { MysqlSession } from './session.js';

/** tandem's receipts table, made in the database of the table it writes to. */
export const RECEIPTS_TABLE = '_tandem_receipts';

/** Quotes an identifier with backticks (valid whatever the sql_mode). */
export const qi = (name: string): string => `\`${name.replace(/`/g, '``')}\``;

export interface TableRef {
  /** The database the table is in (the URL's when the config named none). */
  database: string;
  name: string;
  /** Ready for SQL: `` `db`.`name` ``. */
  sql: string;
}

export function tableRef(database: string, name: string): TableRef {
  return { database, name, sql: `${qi(database)}.${qi(name)}` };
}

export const receiptsOf = (t: TableRef): string => `${qi(t.database)}.${qi(RECEIPTS_TABLE)}`;

export function kindOf(spec: TableSpec, column: string): ColumnKind {
  return spec.kinds[column] ?? 'text';
}

export interface Flavour {
  mariadb: boolean;
  /** `VERSION()` as the server says it. */
  version: string;
  /** INSERT … RETURNING (MariaDB 10.5+). */
  returning: boolean;
  /** A binary collation that also counts trailing spaces, for exact text comparison. */
  exactCollation: string;
}

export function flavour(s: MysqlSession): Promise<Flavour> {
  return s.fact('flavour', async () => {
    const rows = await s.rows('SELECT VERSION()');
    const version = String(rows[0]?.[0] ?? '');
    const mariadb = /mariadb/i.test(version);
    const [major = 0, minor = 0] = version.split(/[.-]/).map((p) => Number.parseInt(p, 10));
    const returning = mariadb && (major > 10 || (major === 10 && minor >= 5));
    // MariaDB has NO PAD binary collations from 10.2; MySQL 8's utf8mb4_0900_bin is NO PAD.
    const exactCollation = mariadb ? 'utf8mb4_nopad_bin' : major >= 8 ? 'utf8mb4_0900_bin' : 'utf8mb4_bin';
    return { mariadb, version, returning, exactCollation };
  });
}

/**
 * A condition matching `column` to each of `count` placeholders exactly, as
 * canonical text compares: `SKU-a` is not `SKU-A` even in a *_ci column. The
 * plain IN uses the column's index; the binary one then decides.
 */
export function inExactly(column: string, kind: ColumnKind, count: number, f: Flavour): string {
  const list = Array.from({ length: count }, () => '?').join(', ');
  const col = qi(column);
  if (kind !== 'text') return `${col} IN (${list})`;
  return `${col} IN (${list}) AND CONVERT(${col} USING utf8mb4) COLLATE ${f.exactCollation} IN (${list})`;
}

/** Whether `inExactly` needs its parameters twice. */
export const twiceFor = (kind: ColumnKind): boolean => kind === 'text';
