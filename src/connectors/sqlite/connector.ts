/**
 * SQLite connector (better-sqlite3). Reads and writes go through `convert.ts`;
 * change capture is trigger based (SPEC §6): triggers tandem installs write
 * which keys changed into `_tandem_changes` in the same file.
 *
 * better-sqlite3 is synchronous, so every method runs to completion inside one
 * call: two calls on one connector never interleave, and a `write` is one
 * uninterrupted transaction.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { normalizeTimestamp } from '../../core/canonical.js';
import { TandemError } from '../../core/errors.js';
import type { ColumnKind, SourceRecord, TableInfo, UniqueIndexInfo } from '../../core/types.js';
import type {
  CaptureStatus,
  ChangeBatch,
  Connector,
  TableSpec,
  WriteOp,
  WriteResult,
} from '../connector.js';
import { type Native, toCanonical, toKeyText, toNative } from './convert.js';
import { sqliteKind } from './types.js';

export interface SqliteOpenOptions {
  /** Create the database file (and its directory) when missing. Only the demo wants this. */
  create?: boolean;
}

/** Objects tandem owns in a database; the `_tandem_` prefix marks them all. */
const CHANGES = '_tandem_changes';
const WRITER = '_tandem_writer';
const CREATED = '_tandem_created';
const TRIGGER_SUFFIXES = ['ins', 'upd', 'del'] as const;

/** Positions are `_tandem_changes.seq`, zero-padded so they sort as strings. */
const POSITION_WIDTH = 20;
const ZERO_POSITION = '0'.repeat(POSITION_WIDTH);
const toPosition = (seq: bigint): string => seq.toString().padStart(POSITION_WIDTH, '0');

/** Statement cache bound: SQL varies only with column sets and filters, so this is rarely reached. */
const STATEMENT_CACHE_SIZE = 512;

/**
 * Errors that are about the database or the machine, not about one row: the
 * whole write fails (and is retried by the engine) instead of quarantining rows.
 */
const ENVIRONMENT_ERRORS =
  /^SQLITE_(BUSY|LOCKED|IOERR|FULL|NOMEM|CORRUPT|CANTOPEN|READONLY|NOTADB|INTERRUPT|PROTOCOL|PERM|NOLFS|AUTH)/;

/** Quotes an identifier for SQLite. */
const qi = (name: string): string => `"${name.replace(/"/g, '""')}"`;
/** Quotes a string literal (for DDL, where parameters are not allowed). */
const ql = (text: string): string => `'${text.replace(/'/g, "''")}'`;

interface TableRef {
  schema: string;
  name: string;
  /** `"schema"."name"`, ready for SQL. */
  sql: string;
}

type Statement = Database.Statement<unknown[], unknown>;

export class SqliteConnector implements Connector {
  readonly system = 'sqlite' as const;
  readonly description: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();

  private constructor(db: Database.Database, description: string) {
    this.db = db;
    this.description = description;
  }

  /**
   * `sqlite:/abs/path.db`, `sqlite:///abs/path.db`, `sqlite:relative.db` (to the
   * working directory; the config layer makes paths absolute) or `sqlite::memory:`.
   * A missing file is an error unless `create` is set: a typo in a path must
   * not quietly sync into a new empty database.
   */
  static open(url: string, options: SqliteOpenOptions = {}): SqliteConnector {
    if (!url.startsWith('sqlite:')) {
      throw new TandemError(
        'URL_UNSUPPORTED',
        `Not a SQLite URL: ${url.split(':')[0]}:…`,
        'Use sqlite:/absolute/path.db or sqlite::memory:',
      );
    }
    let location = url.slice('sqlite:'.length).replace(/\?.*$/, '');
    if (location.startsWith('//')) location = location.slice(2);
    const memory = location === ':memory:' || location === '';
    const file = memory ? ':memory:' : resolve(location);

    if (!memory && !options.create && !existsSync(file)) {
      throw new TandemError(
        'CONNECT_FAILED',
        `SQLite database ${file} does not exist`,
        'Check the path in the connection URL (relative paths are relative to the config file); ' +
          'tandem does not create a missing database.',
      );
    }
    try {
      if (!memory && options.create) mkdirSync(dirname(file), { recursive: true });
      const db = new Database(file, { fileMustExist: !memory && !options.create, timeout: 5000 });
      try {
        db.defaultSafeIntegers(true);
        // Readers never block the writer and vice versa; also touches the file,
        // so "not a database" surfaces here rather than on the first read.
        if (!memory) db.pragma('journal_mode = WAL');
        db.pragma('busy_timeout = 5000');
      } catch (err) {
        db.close();
        throw err;
      }
      return new SqliteConnector(db, memory ? 'sqlite::memory:' : `sqlite:${file}`);
    } catch (err) {
      throw new TandemError(
        'CONNECT_FAILED',
        `Cannot open SQLite database ${file}: ${(err as Error).message}`,
        'Check that the file is a SQLite database and that this user can read and write it ' +
          'and its directory (WAL mode writes a -wal file beside it).',
      );
    }
  }

  async close(): Promise<void> {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  // ------------------------------------------------------------ statements

  /** A cached prepared statement; readers return rows as arrays (no per-row objects). */
  private prepare(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      if (stmt.reader) stmt.raw(true);
      if (this.statements.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.statements.keys().next().value;
        if (oldest !== undefined) this.statements.delete(oldest);
      }
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private all(sql: string, ...params: Native[]): unknown[][] {
    return this.prepare(sql).all(...params) as unknown[][];
  }

  private get(sql: string, ...params: Native[]): unknown[] | undefined {
    return this.prepare(sql).get(...params) as unknown[] | undefined;
  }

  private run(sql: string, ...params: Native[]): void {
    this.prepare(sql).run(...params);
  }

  // ------------------------------------------------------------ names

  /**
   * `x` or `schema.x`. A dotted name whose prefix is not an attached schema is
   * taken as a table name with a dot in it.
   */
  private table(table: string): TableRef {
    const dot = table.indexOf('.');
    if (dot > 0) {
      const schema = table.slice(0, dot);
      const schemas = this.all('SELECT name FROM pragma_database_list').map((r) => String(r[0]));
      if (schemas.includes(schema)) {
        const name = table.slice(dot + 1);
        return { schema, name, sql: `${qi(schema)}.${qi(name)}` };
      }
    }
    return { schema: 'main', name: table, sql: `${qi('main')}.${qi(table)}` };
  }

  private exists(schema: string, type: 'table' | 'trigger', name: string): boolean {
    return (
      this.get(`SELECT 1 FROM ${qi(schema)}.sqlite_master WHERE type = ? AND name = ?`, type, name) !==
      undefined
    );
  }

  // ------------------------------------------------------------ introspection

  async introspect(table: string): Promise<TableInfo | null> {
    const t = this.table(table);
    const rows = this.all(
      'SELECT name, type, "notnull", pk FROM pragma_table_info(?, ?) ORDER BY cid',
      t.name,
      t.schema,
    );
    if (rows.length === 0) return null;
    const columns = rows.map(([name, type, notnull, pk]) => ({
      name: String(name),
      kind: sqliteKind(String(type ?? '')),
      nativeType: String(type ?? ''),
      // An INTEGER PRIMARY KEY (the rowid) can never be NULL even without NOT NULL.
      nullable: notnull === 0n && pk === 0n,
    }));
    const primaryKey = rows
      .filter((r) => (r[3] as bigint) > 0n)
      .sort((a, b) => Number((a[3] as bigint) - (b[3] as bigint)))
      .map((r) => String(r[0]));
    return { name: table, columns, primaryKey, uniqueIndexes: this.uniqueIndexes(t) };
  }

  /**
   * Unique, non-partial indexes on plain columns (PRIMARY KEY and UNIQUE
   * constraints included; their automatic indexes are listed too). An index
   * compares case-insensitively when its column uses NOCASE, which SQLite
   * reports per index column whether it comes from the index or the column.
   */
  private uniqueIndexes(t: TableRef): UniqueIndexInfo[] {
    const out: UniqueIndexInfo[] = [];
    const indexes = this.all(
      'SELECT name FROM pragma_index_list(?, ?) WHERE "unique" = 1 AND partial = 0 ORDER BY name',
      t.name,
      t.schema,
    );
    for (const [indexName] of indexes) {
      const parts = this.all(
        'SELECT cid, name, coll FROM pragma_index_xinfo(?, ?) WHERE key = 1 ORDER BY seqno',
        String(indexName),
        t.schema,
      );
      // Expression indexes (cid -2) do not make a column unique.
      if (parts.length === 0 || parts.some(([cid]) => (cid as bigint) < 0n)) continue;
      out.push({
        name: String(indexName),
        columns: parts.map((p) => String(p[1])),
        caseInsensitive: parts.some((p) => String(p[2]).toUpperCase() === 'NOCASE'),
      });
    }
    return out;
  }

  // ------------------------------------------------------------ reads

  async readByKeys(spec: TableSpec, keys: string[]): Promise<SourceRecord[]> {
    return this.readWhere(spec, spec.key, keys);
  }

  async readByColumn(spec: TableSpec, column: string, values: string[]): Promise<SourceRecord[]> {
    return this.readWhere(spec, column, values);
  }

  /**
   * Records whose `column` holds one of `values`, compared as exact canonical
   * text. The SQL `IN` (one JSON array parameter, so no parameter limit) finds
   * candidates through the column's index; it may over-match (a NOCASE column,
   * `042` vs `42`), so candidates are then checked exactly in canonical form.
   */
  private readWhere(spec: TableSpec, column: string, values: string[]): SourceRecord[] {
    if (values.length === 0) return [];
    const t = this.table(spec.table);
    const kind = kindOf(spec, column);
    const wanted = new Set(values);
    const lhs = kind === 'bytes' ? `('\\x' || lower(hex(${qi(column)})))` : qi(column);
    const param =
      kind === 'boolean'
        ? JSON.stringify(values.map((v) => (v === 'true' ? 1 : v === 'false' ? 0 : v)))
        : JSON.stringify(values);
    const sql =
      `SELECT ${selectList(spec)}, ${scopeExpr(spec)}, ${qi(column)} FROM ${t.sql} ` +
      `WHERE ${lhs} IN (SELECT value FROM json_each(?))`;
    // Row layout: key, ...columns, scope flag, the matched column.
    const matchedAt = spec.columns.length + 2;
    const out: SourceRecord[] = [];
    for (const row of this.all(sql, param)) {
      const matched = toCanonical(row[matchedAt], kind);
      if (matched === null || !wanted.has(String(matched))) continue;
      const record = toRecord(spec, row);
      if (record) out.push(record);
    }
    return out;
  }

  async scan(spec: TableSpec, afterKey: string | null, limit: number): Promise<SourceRecord[]> {
    const t = this.table(spec.table);
    const key = qi(spec.key);
    const conditions = [spec.filter ? `(${spec.filter})` : '', afterKey === null ? `${key} IS NOT NULL` : `${key} > ?`]
      .filter(Boolean)
      .join(' AND ');
    const sql = `SELECT ${selectList(spec)}, 1 FROM ${t.sql} WHERE ${conditions} ORDER BY ${key} LIMIT ?`;
    const params: Native[] =
      afterKey === null ? [BigInt(limit)] : [toNative(afterKey, kindOf(spec, spec.key)), BigInt(limit)];
    const out: SourceRecord[] = [];
    for (const row of this.all(sql, ...params)) {
      const record = toRecord(spec, row);
      if (record) out.push(record);
    }
    return out;
  }

  async count(spec: TableSpec): Promise<number> {
    const t = this.table(spec.table);
    const where = spec.filter ? ` WHERE (${spec.filter})` : '';
    const row = this.get(`SELECT count(*) FROM ${t.sql}${where}`);
    return Number(row?.[0] ?? 0n);
  }

  // ------------------------------------------------------------ writes

  /**
   * One IMMEDIATE transaction for the batch; each op in its own savepoint so a
   * refused row rolls back alone with SQLite's own message. The `_tandem_writer`
   * flag is 1 only inside this transaction, which tells the capture triggers
   * to skip our own writes (no other connection can see it: SQLite has one
   * writer at a time and the flag is back to 0 before COMMIT).
   *
   * A few failures roll back the whole transaction rather than the statement
   * (`RAISE(ROLLBACK)`, `ON CONFLICT ROLLBACK`); the guilty op is then marked
   * failed and the batch is run again without it.
   */
  async write(spec: TableSpec, ops: WriteOp[]): Promise<WriteResult[]> {
    const failed = new Map<number, WriteResult>();
    for (;;) {
      const attempt = this.writeOnce(spec, ops, failed);
      if (attempt.results) return attempt.results;
      const op = ops[attempt.lostAt]!;
      failed.set(attempt.lostAt, { ref: op.ref, ok: false, message: attempt.message });
    }
  }

  private writeOnce(
    spec: TableSpec,
    ops: WriteOp[],
    skip: Map<number, WriteResult>,
  ): { results: WriteResult[]; lostAt?: never; message?: never } | { results?: never; lostAt: number; message: string } {
    const t = this.table(spec.table);
    const keyKind = kindOf(spec, spec.key);
    const keyCol = qi(spec.key);
    // Exact key match even on a NOCASE key column; the first term keeps the index usable.
    const keyMatch = keyKind === 'text' ? `${keyCol} = ? AND ${keyCol} = ? COLLATE BINARY` : `${keyCol} = ?`;
    const keyParams = (key: string): Native[] => {
      const native = toNative(key, keyKind);
      return keyKind === 'text' ? [native, native] : [native];
    };

    this.run('BEGIN IMMEDIATE');
    try {
      const flagged = this.exists(t.schema, 'table', WRITER);
      if (flagged) this.run(`UPDATE ${qi(t.schema)}.${WRITER} SET active = 1`);
      if (ops.some((op) => op.op === 'insert' && op.token !== undefined)) this.ensureCreatedTable(t.schema);

      const results: WriteResult[] = [];
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        const skipped = skip.get(i);
        if (skipped) {
          results.push(skipped);
          continue;
        }
        this.run('SAVEPOINT tandem_op');
        try {
          results.push(this.applyOp(spec, t, op, keyKind, keyCol, keyMatch, keyParams));
          this.run('RELEASE tandem_op');
        } catch (err) {
          const message = errorMessage(err);
          if (!this.db.inTransaction) return { lostAt: i, message };
          if (isEnvironmentError(err)) throw err;
          this.run('ROLLBACK TO tandem_op');
          this.run('RELEASE tandem_op');
          results.push({ ref: op.ref, ok: false, message });
        }
      }

      if (flagged) this.run(`UPDATE ${qi(t.schema)}.${WRITER} SET active = 0`);
      this.run('COMMIT');
      return { results };
    } finally {
      if (this.db.inTransaction) this.run('ROLLBACK');
    }
  }

  private applyOp(
    spec: TableSpec,
    t: TableRef,
    op: WriteOp,
    keyKind: ColumnKind,
    keyCol: string,
    keyMatch: string,
    keyParams: (key: string) => Native[],
  ): WriteResult {
    if (op.op === 'delete') {
      this.run(`DELETE FROM ${t.sql} WHERE ${keyMatch}`, ...keyParams(op.key));
      return { ref: op.ref, ok: true, key: op.key };
    }

    const columns = Object.keys(op.values);
    const params = columns.map((c) => bindColumn(spec, c, op.values[c] ?? null));

    if (op.op === 'update') {
      if (columns.length === 0) return { ref: op.ref, ok: true, key: op.key };
      const sets = columns.map((c) => `${qi(c)} = ?`).join(', ');
      // Reports the new key when the update changes it; no row (already gone) is fine: idempotent.
      const row = this.get(
        `UPDATE ${t.sql} SET ${sets} WHERE ${keyMatch} RETURNING ${keyCol}`,
        ...params,
        ...keyParams(op.key),
      );
      const key = row ? toKeyText(row[0], keyKind) : op.key;
      return { ref: op.ref, ok: true, key: key ?? op.key };
    }

    const sql =
      columns.length === 0
        ? `INSERT INTO ${t.sql} DEFAULT VALUES RETURNING ${keyCol}`
        : `INSERT INTO ${t.sql} (${columns.map(qi).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) RETURNING ${keyCol}`;
    const key = toKeyText(this.get(sql, ...params)?.[0], keyKind);
    if (key === null) throw new Error(`the inserted row has no value in key column ${spec.key}`);
    if (op.token !== undefined) {
      this.run(
        `INSERT OR REPLACE INTO ${qi(t.schema)}.${CREATED} (token, table_name, key) VALUES (?, ?, ?)`,
        op.token,
        t.name,
        key,
      );
    }
    return { ref: op.ref, ok: true, key };
  }

  private ensureCreatedTable(schema: string): void {
    if (this.exists(schema, 'table', CREATED)) return;
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS ${qi(schema)}.${CREATED} (` +
        'token TEXT PRIMARY KEY, table_name TEXT NOT NULL, key TEXT NOT NULL, ' +
        "created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
    );
  }

  async lookupCreated(spec: TableSpec, tokens: string[]): Promise<Map<string, string>> {
    const t = this.table(spec.table);
    const found = new Map<string, string>();
    if (tokens.length === 0 || !this.exists(t.schema, 'table', CREATED)) return found;
    const rows = this.all(
      `SELECT token, key FROM ${qi(t.schema)}.${CREATED} ` +
        'WHERE table_name = ? AND token IN (SELECT value FROM json_each(?))',
      t.name,
      JSON.stringify(tokens),
    );
    for (const [token, key] of rows) found.set(String(token), String(key));
    return found;
  }

  async forgetCreated(spec: TableSpec, tokens: string[]): Promise<void> {
    const t = this.table(spec.table);
    if (tokens.length === 0 || !this.exists(t.schema, 'table', CREATED)) return;
    this.run(
      `DELETE FROM ${qi(t.schema)}.${CREATED} WHERE table_name = ? AND token IN (SELECT value FROM json_each(?))`,
      t.name,
      JSON.stringify(tokens),
    );
  }

  // ------------------------------------------------------------ capture

  /**
   * Creates the change and flag tables if missing and (re)creates the table's
   * three triggers. Dropping and recreating every time makes this idempotent
   * and repairs triggers written for an older key column; it happens in one
   * transaction, so no change made by another connection falls in between.
   */
  async installCapture(spec: TableSpec): Promise<void> {
    const t = this.table(spec.table);
    const info = await this.introspect(spec.table);
    if (!info) {
      throw new TandemError('TABLE_MISSING', `Table ${spec.table} does not exist`, 'Create the table or fix its name in the config.');
    }
    if (!info.columns.some((c) => c.name === spec.key)) {
      throw new TandemError(
        'COLUMN_MISSING',
        `Key column ${spec.key} does not exist in ${spec.table}`,
        'Fix the key column name in the config.',
      );
    }
    const s = qi(t.schema);
    const statements = [
      `CREATE TABLE IF NOT EXISTS ${s}.${CHANGES} (seq INTEGER PRIMARY KEY AUTOINCREMENT, ` +
        'table_name TEXT NOT NULL, op TEXT NOT NULL, key TEXT, changed_at TEXT NOT NULL)',
      `CREATE INDEX IF NOT EXISTS ${s}._tandem_changes_table_seq ON ${CHANGES} (table_name, seq)`,
      `CREATE TABLE IF NOT EXISTS ${s}.${WRITER} (active INTEGER NOT NULL)`,
      `INSERT INTO ${s}.${WRITER} (active) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM ${s}.${WRITER})`,
      ...TRIGGER_SUFFIXES.map((suffix) => `DROP TRIGGER IF EXISTS ${s}.${qi(triggerName(t.name, suffix))}`),
      ...TRIGGER_SUFFIXES.map((suffix) => triggerSql(t, spec.key, suffix)),
    ];
    this.db.transaction(() => {
      for (const sql of statements) this.db.exec(sql);
    }).immediate();
  }

  async captureStatus(spec: TableSpec): Promise<CaptureStatus> {
    const t = this.table(spec.table);
    const names = TRIGGER_SUFFIXES.map((suffix) => triggerName(t.name, suffix));
    const rows = this.all(
      `SELECT name, sql FROM ${qi(t.schema)}.sqlite_master WHERE type = 'trigger' AND name IN (?, ?, ?)`,
      ...names,
    );
    const missing = names.filter((n) => !rows.some((r) => r[0] === n));
    if (missing.length === 3) {
      return { installed: false, method: 'triggers', detail: `no capture triggers on ${spec.table}` };
    }
    if (missing.length > 0) {
      return { installed: false, method: 'triggers', detail: `missing triggers ${missing.join(', ')}; run tandem again to reinstall` };
    }
    const stale = rows.some((r) => !String(r[1]).includes(`.${qi(spec.key)}`));
    if (stale || !this.exists(t.schema, 'table', CHANGES) || !this.exists(t.schema, 'table', WRITER)) {
      return {
        installed: false,
        method: 'triggers',
        detail: `capture triggers on ${spec.table} are out of date (key column ${spec.key}); run tandem again to reinstall`,
      };
    }
    return { installed: true, method: 'triggers', detail: `triggers ${names.join(', ')} write to ${CHANGES}` };
  }

  /**
   * The highest seq ever issued, from sqlite_sequence rather than max(seq), so
   * the position never goes back after pruning empties the change table.
   */
  async currentPosition(spec: TableSpec): Promise<string> {
    const t = this.table(spec.table);
    if (!this.exists(t.schema, 'table', CHANGES)) return ZERO_POSITION;
    const row = this.get(`SELECT seq FROM ${qi(t.schema)}.sqlite_sequence WHERE name = ?`, CHANGES);
    return row ? toPosition(BigInt(row[0] as bigint)) : ZERO_POSITION;
  }

  async readChanges(spec: TableSpec, after: string, limit: number): Promise<ChangeBatch> {
    const t = this.table(spec.table);
    if (!this.exists(t.schema, 'table', CHANGES)) return { changes: [], position: after };
    const rows = this.all(
      `SELECT seq, op, key, changed_at FROM ${qi(t.schema)}.${CHANGES} ` +
        'WHERE table_name = ? AND seq > ? ORDER BY seq LIMIT ?',
      t.name,
      parsePosition(after),
      BigInt(limit),
    );
    const keyKind = kindOf(spec, spec.key);
    const changes: ChangeBatch['changes'] = [];
    let position = after;
    for (const [seq, op, rawKey, changedAt] of rows) {
      position = toPosition(seq as bigint);
      // The same converter as reads, so a change's key equals the key scan/readByKeys report.
      const key = toKeyText(rawKey, keyKind);
      if (key === null) continue; // a row without a key cannot be addressed; nothing to sync
      const at = normalizeTimestamp(String(changedAt)) ?? String(changedAt);
      changes.push({ key, op: op as 'insert' | 'update' | 'delete', at, position });
    }
    return { changes, position };
  }

  async pruneChanges(spec: TableSpec, upTo: string): Promise<void> {
    const t = this.table(spec.table);
    if (!this.exists(t.schema, 'table', CHANGES)) return;
    this.run(`DELETE FROM ${qi(t.schema)}.${CHANGES} WHERE table_name = ? AND seq <= ?`, t.name, parsePosition(upTo));
  }

  async removeCapture(spec: TableSpec): Promise<void> {
    const t = this.table(spec.table);
    const s = qi(t.schema);
    this.db.transaction(() => {
      for (const suffix of TRIGGER_SUFFIXES) this.db.exec(`DROP TRIGGER IF EXISTS ${s}.${qi(triggerName(t.name, suffix))}`);
      if (this.exists(t.schema, 'table', CHANGES)) this.run(`DELETE FROM ${s}.${CHANGES} WHERE table_name = ?`, t.name);
      if (this.exists(t.schema, 'table', CREATED)) this.run(`DELETE FROM ${s}.${CREATED} WHERE table_name = ?`, t.name);
    }).immediate();
  }

  /** Drops the shared tables of every schema where no tandem trigger is left. */
  async teardown(): Promise<void> {
    const schemas = this.all('SELECT name FROM pragma_database_list').map((r) => String(r[0]));
    for (const schema of schemas) {
      const s = qi(schema);
      this.db.transaction(() => {
        const triggers = this.get(
          `SELECT 1 FROM ${s}.sqlite_master WHERE type = 'trigger' AND substr(name, 1, 8) = '_tandem_'`,
        );
        if (triggers) return;
        for (const table of [CHANGES, WRITER, CREATED]) this.db.exec(`DROP TABLE IF EXISTS ${s}.${table}`);
      }).immediate();
    }
  }
}

// ------------------------------------------------------------ helpers

function kindOf(spec: TableSpec, column: string): ColumnKind {
  return spec.kinds[column] ?? 'text';
}

/** Key first, then the requested columns: rows are read as arrays in this order. */
function selectList(spec: TableSpec): string {
  return [spec.key, ...spec.columns].map(qi).join(', ');
}

/** The filter evaluated in the same SELECT; NULL (unknown) counts as out of scope. */
function scopeExpr(spec: TableSpec): string {
  return spec.filter ? `CASE WHEN (${spec.filter}) THEN 1 ELSE 0 END` : '1';
}

/** A row laid out as `selectList` + scope flag → record; `null` when the key is NULL. */
function toRecord(spec: TableSpec, row: unknown[]): SourceRecord | null {
  const key = toKeyText(row[0], kindOf(spec, spec.key));
  if (key === null) return null;
  const values: SourceRecord['values'] = {};
  const columns = spec.columns;
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!;
    values[column] = toCanonical(row[i + 1], kindOf(spec, column));
  }
  return { key, values, inScope: row[columns.length + 1] === 1n };
}

function bindColumn(spec: TableSpec, column: string, value: SourceRecord['values'][string]): Native {
  try {
    return toNative(value, kindOf(spec, column));
  } catch (err) {
    throw new Error(`column ${column}: ${(err as Error).message}`);
  }
}

function triggerName(table: string, suffix: (typeof TRIGGER_SUFFIXES)[number]): string {
  return `_tandem_${table}_${suffix}`;
}

/**
 * Trigger bodies may not name a schema: they write to the change table of the
 * schema the trigger lives in, which is the table's own. The key is stored as
 * SQLite has it (TEXT affinity turns integers into their decimal text) and
 * turned canonical by the converter when read.
 */
function triggerSql(t: TableRef, key: string, suffix: (typeof TRIGGER_SUFFIXES)[number]): string {
  const name = `${qi(t.schema)}.${qi(triggerName(t.name, suffix))}`;
  const on = qi(t.name);
  const k = qi(key);
  const table = ql(t.name);
  const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
  const into = `INSERT INTO ${CHANGES} (table_name, op, key, changed_at)`;
  // coalesce: a missing flag row must mean "capture", never "skip".
  const when = `WHEN coalesce((SELECT active FROM ${WRITER}), 0) = 0`;
  switch (suffix) {
    case 'ins':
      return `CREATE TRIGGER ${name} AFTER INSERT ON ${on} ${when} BEGIN ${into} VALUES (${table}, 'insert', NEW.${k}, ${now}); END`;
    case 'del':
      return `CREATE TRIGGER ${name} AFTER DELETE ON ${on} ${when} BEGIN ${into} VALUES (${table}, 'delete', OLD.${k}, ${now}); END`;
    case 'upd':
      // A key change is the old record gone and a new one made.
      return (
        `CREATE TRIGGER ${name} AFTER UPDATE ON ${on} ${when} BEGIN ` +
        `${into} SELECT ${table}, 'delete', OLD.${k}, ${now} WHERE OLD.${k} IS NOT NEW.${k}; ` +
        `${into} SELECT ${table}, CASE WHEN OLD.${k} IS NOT NEW.${k} THEN 'insert' ELSE 'update' END, NEW.${k}, ${now}; ` +
        'END'
      );
  }
}

function parsePosition(position: string): bigint {
  if (!/^\d+$/.test(position)) {
    throw new TandemError('INTERNAL', `Not a SQLite capture position: ${position}`, 'Report this as a bug.');
  }
  return BigInt(position);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isEnvironmentError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && ENVIRONMENT_ERRORS.test(code);
}
