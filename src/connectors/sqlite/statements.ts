/**
 * The connection as the connector's parts use it: a bounded cache of prepared
 * statements (readers return rows as arrays, no per-row objects), and the
 * lookups every part needs (table names, whether an object exists).
 */
import type Database from 'better-sqlite3';
import type { Native } from './convert.js';
import { qi, type TableRef } from './sql.js';

export type Statement = Database.Statement<unknown[], unknown>;

/** Statement cache bound: SQL varies only with column sets and filters, so this is rarely reached. */
const STATEMENT_CACHE_SIZE = 512;

export class Statements {
  private readonly cache = new Map<string, Statement>();
  /** Facts about a schema's tables, valid while its schema_version stays the same. */
  private readonly facts = new Map<string, { version: bigint; values: Map<string, unknown> }>();

  constructor(readonly db: Database.Database) {}

  /** A cached prepared statement. */
  prepare(sql: string): Statement {
    let stmt = this.cache.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      if (stmt.reader) stmt.raw(true);
      if (this.cache.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
      this.cache.set(sql, stmt);
    }
    return stmt;
  }

  all(sql: string, ...params: Native[]): unknown[][] {
    return this.prepare(sql).all(...params) as unknown[][];
  }

  get(sql: string, ...params: Native[]): unknown[] | undefined {
    return this.prepare(sql).get(...params) as unknown[] | undefined;
  }

  run(sql: string, ...params: Native[]): void {
    this.prepare(sql).run(...params);
  }

  clear(): void {
    this.cache.clear();
    this.facts.clear();
  }

  /**
   * `compute()`, remembered until the schema changes (SQLite bumps
   * schema_version on every CREATE, DROP or ALTER): the writes of every batch
   * ask the same questions of sqlite_master and pragma tables.
   */
  fact<T>(schema: string, name: string, compute: () => T): T {
    const version = this.get(`PRAGMA ${qi(schema)}.schema_version`)?.[0] as bigint;
    let f = this.facts.get(schema);
    if (!f || f.version !== version) {
      f = { version, values: new Map() };
      this.facts.set(schema, f);
    }
    if (!f.values.has(name)) f.values.set(name, compute());
    return f.values.get(name) as T;
  }

  /** Names of the attached schemas (`main`, `temp`, …). */
  schemas(): string[] {
    return this.all('SELECT name FROM pragma_database_list').map((r) => String(r[0]));
  }

  /**
   * `x` or `schema.x`. A dotted name whose prefix is not an attached schema is
   * taken as a table name with a dot in it.
   */
  table(table: string): TableRef {
    const dot = table.indexOf('.');
    if (dot > 0) {
      const schema = table.slice(0, dot);
      if (this.schemas().includes(schema)) {
        const name = table.slice(dot + 1);
        return { schema, name, sql: `${qi(schema)}.${qi(name)}` };
      }
    }
    return { schema: 'main', name: table, sql: `${qi('main')}.${qi(table)}` };
  }

  exists(schema: string, type: 'table' | 'trigger', name: string): boolean {
    return this.fact(
      schema,
      `exists ${type} ${name}`,
      () =>
        this.get(`SELECT 1 FROM ${qi(schema)}.sqlite_master WHERE type = ? AND name = ?`, type, name) !==
        undefined,
    );
  }
}
