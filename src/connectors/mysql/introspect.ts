/**
 * What a MySQL/MariaDB table looks like to tandem, from information_schema:
 * columns with their kinds, the primary key, and the unique indexes (one is
 * case-insensitive when a column of it has a *_ci collation).
 *
 * MariaDB's JSON is LONGTEXT with a `json_valid(col)` CHECK: such a column is
 * reported as json, like MySQL's own JSON type.
 */
import { TandemError } from '../../core/errors.js';
import type { ColumnInfo, ColumnKind, TableInfo, UniqueIndexInfo } from '../../core/types.js';
import type { MysqlSession } from './session.js';
import type { TableRef } from './sql.js';

const BY_TYPE: Record<string, ColumnKind> = {
  tinyint: 'integer',
  smallint: 'integer',
  mediumint: 'integer',
  int: 'integer',
  integer: 'integer',
  bigint: 'integer',
  year: 'integer',
  decimal: 'decimal',
  numeric: 'decimal',
  float: 'float',
  double: 'float',
  real: 'float',
  date: 'date',
  datetime: 'timestamp',
  timestamp: 'timestamp',
  time: 'time',
  json: 'json',
  binary: 'bytes',
  varbinary: 'bytes',
  tinyblob: 'bytes',
  blob: 'bytes',
  mediumblob: 'bytes',
  longblob: 'bytes',
  bit: 'bytes',
};

/** Kind of a column from DATA_TYPE and COLUMN_TYPE; `jsonChecked` when a json_valid CHECK guards it. */
export function mysqlKind(dataType: string, columnType: string, jsonChecked = false): ColumnKind {
  const type = columnType.toLowerCase();
  // BOOLEAN is TINYINT(1) (MySQL 8 still prints the width for this one); BIT(1) is a flag too.
  if (/^tinyint\(1\)/.test(type) || /^bit\(1\)$/.test(type)) return 'boolean';
  if (jsonChecked && /text$/.test(dataType.toLowerCase())) return 'json';
  return BY_TYPE[dataType.toLowerCase()] ?? 'text';
}

export interface ColumnFacts {
  name: string;
  dataType: string;
  /** COLUMN_TYPE: `int(10) unsigned`, `enum('a','b')`, `varchar(20)` — what convert.ts calls nativeType. */
  columnType: string;
  kind: ColumnKind;
  nullable: boolean;
  collation: string | null;
}

/** Whether the table exists (exact name: table names are case-sensitive on Linux). */
export async function tableExists(s: MysqlSession, t: TableRef): Promise<boolean> {
  const rows = await s.rows(
    `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
    [t.database, t.name],
  );
  return rows.some((r) => r[0] === t.name);
}

/** The table's columns in order, with the facts reads and writes need; empty when no such table. */
export async function columnFacts(s: MysqlSession, t: TableRef): Promise<ColumnFacts[]> {
  const rows = await s.rows(
    `SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE, c.COLLATION_NAME, c.TABLE_NAME
     FROM information_schema.COLUMNS c
     WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ?
     ORDER BY c.ORDINAL_POSITION`,
    [t.database, t.name],
  );
  const checked = await jsonCheckedColumns(s, t);
  return rows
    .filter((r) => r[5] === t.name)
    .map(([name, dataType, columnType, nullable, collation]) => ({
      name: String(name),
      dataType: String(dataType),
      columnType: String(columnType),
      kind: mysqlKind(String(dataType), String(columnType), checked.has(String(name))),
      nullable: nullable === 'YES',
      collation: collation === null ? null : String(collation),
    }));
}

/** Columns guarded by a `json_valid(col)` CHECK (MariaDB's JSON alias makes exactly that). */
async function jsonCheckedColumns(s: MysqlSession, t: TableRef): Promise<Set<string>> {
  const out = new Set<string>();
  let rows: unknown[][];
  try {
    rows = await s.rows(
      `SELECT CHECK_CLAUSE, TABLE_NAME FROM information_schema.CHECK_CONSTRAINTS
       WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`,
      [t.database, t.name],
    );
  } catch {
    // MySQL before 8.0.16 has no CHECK_CONSTRAINTS (and no CHECKs): nothing to find.
    return out;
  }
  for (const [clause, table] of rows) {
    if (table !== t.name) continue;
    const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(clause).trim());
    if (m?.[1]) out.add(m[1].replace(/``/g, '`'));
  }
  return out;
}

/**
 * The table's storage engine when it has no transactions (MyISAM, Aria,
 * MEMORY, CSV, …), else null (InnoDB and other transactional engines, a view,
 * no such table). On such an engine a refused row of a multi-row statement
 * leaves the rows before it written, a rollback undoes nothing, and the
 * receipt is not atomic with the rows: tandem does not write there.
 */
export async function nonTransactionalEngine(s: MysqlSession, t: TableRef): Promise<string | null> {
  const rows = await s.rows(
    `SELECT t.ENGINE, e.TRANSACTIONS, t.TABLE_NAME
     FROM information_schema.TABLES t LEFT JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE
     WHERE t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ?`,
    [t.database, t.name],
  );
  const row = rows.find((r) => r[2] === t.name);
  if (!row || row[0] === null) return null;
  return row[1] === 'YES' ? null : String(row[0]);
}

/** The error for a table on an engine without transactions (see nonTransactionalEngine). */
export function nonTransactional(name: string, t: TableRef, engine: string): TandemError {
  return new TandemError(
    'TABLE_UNSUPPORTED',
    `Table ${name} uses the ${engine} storage engine, which has no transactions: a batch written to it could not be undone or retried without duplicating rows, so tandem does not use it`,
    `Convert it to InnoDB: ALTER TABLE ${t.sql} ENGINE=InnoDB; (or list a transactional table in the config), then run \`tandem validate\` again.`,
  );
}

/**
 * Throws when the table is on an engine without transactions. Only a yes is
 * remembered for the session: a table refused is asked about again (it may
 * have been converted), and one converted away from InnoDB later is caught by
 * introspect, which the engine runs before each pass (drift.ts).
 */
export async function assertTransactional(s: MysqlSession, t: TableRef, name: string): Promise<void> {
  const key = `engine ${t.sql}`;
  if (s.known.get(key) === null) return;
  const engine = await nonTransactionalEngine(s, t);
  if (engine !== null) {
    s.known.delete(key);
    throw nonTransactional(name, t, engine);
  }
  s.known.set(key, null);
}

/** Column facts by name, learnt once per session per table (reads and writes need the native types). */
export function columnsOf(s: MysqlSession, t: TableRef): Promise<Map<string, ColumnFacts>> {
  return s.fact(`columns ${t.sql}`, async () => new Map((await columnFacts(s, t)).map((c) => [c.name, c])));
}

/** `null` when the table does not exist; `name` is the table as the caller wrote it. */
export async function introspectTable(s: MysqlSession, t: TableRef, name: string): Promise<TableInfo | null> {
  const facts = await columnFacts(s, t);
  if (facts.length === 0) return null;
  // Asked afresh each time (unlike assertTransactional): this is how a table converted since is noticed.
  s.known.delete(`engine ${t.sql}`);
  await assertTransactional(s, t, name);
  // Fresh facts for the write and read paths too: introspection is how a changed table is noticed.
  s.known.set(`columns ${t.sql}`, new Map(facts.map((c) => [c.name, c])));
  const columns: ColumnInfo[] = facts.map((c) => ({
    name: c.name,
    kind: c.kind,
    nativeType: c.columnType,
    nullable: c.nullable,
  }));
  const rows = await s.rows(
    `SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE, SUB_PART, TABLE_NAME
     FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
     ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [t.database, t.name],
  );
  const collation = new Map(facts.map((c) => [c.name, c.collation]));
  const primaryKey: string[] = [];
  const byName = new Map<string, UniqueIndexInfo & { partial: boolean }>();
  for (const [index, column, nonUnique, subPart, table] of rows) {
    if (table !== t.name || String(nonUnique) !== '0') continue;
    const ixName = String(index);
    if (ixName === 'PRIMARY' && column !== null) primaryKey.push(String(column));
    let ix = byName.get(ixName);
    if (!ix) {
      ix = { name: ixName, columns: [], caseInsensitive: false, partial: false };
      byName.set(ixName, ix);
    }
    // A functional index part (MySQL 8) has no column: not a unique index on plain columns.
    if (column === null) {
      ix.partial = true;
      continue;
    }
    ix.columns.push(String(column));
    // A prefix index (`col(10)`) makes only the prefix unique: not a unique index on the column.
    if (subPart !== null) ix.partial = true;
    if (/_ci$/i.test(collation.get(String(column)) ?? '')) ix.caseInsensitive = true;
  }
  const uniqueIndexes = [...byName.values()].filter((ix) => !ix.partial).map(({ partial: _, ...ix }) => ix);
  return { name, columns, primaryKey, uniqueIndexes };
}
