/**
 * One connection to MySQL/MariaDB (mysql2), opened on first use, in the
 * session tandem reads and writes in: BIGINT and DECIMAL as exact strings,
 * dates, times and JSON as the server's text (see convert.ts), time_zone
 * '+00:00' so TIMESTAMP reads and writes in UTC, and a fixed sql_mode with
 * STRICT_ALL_TABLES so a value a column cannot hold is refused, never cut or
 * bent (and without NO_BACKSLASH_ESCAPES, which mysql2's escaping relies on),
 * both set before any other statement on each new connection.
 * A failure to connect becomes CONNECT_FAILED with what to check.
 */
import mysql from 'mysql2/promise';
import { TandemError } from '../../core/errors.js';

/**
 * The sql_mode of every connection tandem opens (its own sessions, polling's;
 * binlog capture imports it too), whatever the server's GLOBAL one:
 * NO_AUTO_VALUE_ON_ZERO so an explicit key 0 is stored as 0 (not replaced by
 * the next AUTO_INCREMENT value while tandem reports 0), and never
 * NO_BACKSLASH_ESCAPES (mysql2 escapes values client-side with backslashes).
 */
export const SQL_MODE =
  'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO';

/** Sets the session tandem works in: first, before any other statement on a new connection. */
export const SESSION_SQL = `SET SESSION time_zone = '+00:00', sql_mode = '${SQL_MODE}'`;

/** What a query parameter may be: `raw` values go into the SQL text as they are (numeric literals). */
export type Param = null | string | number | Buffer | { toSqlString(): string } | Param[];

/** A connection URL split into mysql2 options. `mariadb://` is the same protocol. */
export interface Endpoint {
  options: mysql.ConnectionOptions;
  /** The database the URL names (table names without one are looked up there); null when none. */
  database: string | null;
}

export function parseUrl(url: string): Endpoint {
  let u: URL;
  try {
    u = new URL(url.replace(/^mariadb:/, 'mysql:'));
  } catch {
    throw new TandemError(
      'URL_UNSUPPORTED',
      'Not a valid MySQL/MariaDB URL',
      'Use mysql://user:password@host:3306/database (or mariadb://…); percent-encode special characters in the password.',
    );
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || null;
  const socket = u.searchParams.get('socket');
  const options: mysql.ConnectionOptions = {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    ...(database ? { database } : {}),
    ...(socket ? { socketPath: socket } : {}),
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    jsonStrings: true,
    multipleStatements: false,
    charset: 'UTF8MB4_BIN',
    timezone: 'Z',
  };
  return { options, database };
}

/** Statements that open or end a transaction (not ROLLBACK TO SAVEPOINT). */
const TX_BOUND = /^\s*(BEGIN|START TRANSACTION|COMMIT|ROLLBACK)\s*;?\s*$/i;

export class MysqlSession {
  /** Facts about the database learnt on this connection (column types, the server's flavour). */
  readonly known = new Map<string, unknown>();
  private conn: mysql.Connection | null = null;
  private connecting: Promise<mysql.Connection> | null = null;
  private inTransaction = false;
  /** The connection went while a transaction was open: refused until ROLLBACK. */
  private lostInTransaction = false;

  constructor(
    private readonly endpoint: Endpoint,
    /** For messages: the URL without its password. */
    private readonly where: string,
    /**
     * Statements run once on each new connection, after the session settings;
     * one failing with an errno in `tolerate` is skipped (a server without that setting).
     */
    private readonly setup: { sql: readonly string[]; tolerate?: readonly number[] } = { sql: [] },
  ) {}

  /** Rows as arrays, in select-list order. */
  async rows(sql: string, params: Param[] = []): Promise<unknown[][]> {
    if (this.lostInTransaction) throw this.lost();
    const c = await this.connect();
    const [rows] = await c.query({ sql, values: params, rowsAsArray: true });
    return rows as unknown[][];
  }

  /** A statement that returns no rows: its result header (affected rows, insert id). */
  async run(sql: string, params: Param[] = []): Promise<mysql.ResultSetHeader> {
    const bound = TX_BOUND.exec(sql)?.[1]?.toUpperCase();
    const opens = bound === 'BEGIN' || bound === 'START TRANSACTION';
    if (!opens && this.lostInTransaction) {
      // The server rolled back when the connection went: nothing after may run outside it.
      if (bound === 'ROLLBACK') {
        this.lostInTransaction = false;
        return { affectedRows: 0 } as mysql.ResultSetHeader;
      }
      throw this.lost();
    }
    const c = await this.connect();
    try {
      const [r] = await c.query({ sql, values: params });
      return r as mysql.ResultSetHeader;
    } finally {
      if (opens) this.inTransaction = true;
      else if (bound === 'COMMIT' || bound === 'ROLLBACK') this.inTransaction = false;
    }
  }

  /** `compute()` once per session under `name`. */
  async fact<T>(name: string, compute: () => Promise<T>): Promise<T> {
    if (this.known.has(name)) return this.known.get(name) as T;
    const value = await compute();
    this.known.set(name, value);
    return value;
  }

  async close(): Promise<void> {
    const c = this.conn ?? (this.connecting ? await this.connecting.catch(() => null) : null);
    this.conn = null;
    this.connecting = null;
    await c?.end().catch(() => c.destroy());
  }

  private lost(): TandemError {
    return new TandemError(
      'CONNECT_FAILED',
      `The connection to MySQL/MariaDB at ${this.where} broke inside a transaction: nothing of it was saved`,
      'tandem runs the batch again from its saved state on the next pass; check the server if this persists.',
    );
  }

  private connect(): Promise<mysql.Connection> {
    if (this.conn) return Promise.resolve(this.conn);
    this.connecting ??= this.open();
    return this.connecting;
  }

  private async open(): Promise<mysql.Connection> {
    let conn: mysql.Connection;
    try {
      conn = await mysql.createConnection(this.endpoint.options);
    } catch (err) {
      this.connecting = null;
      throw new TandemError(
        'CONNECT_FAILED',
        `Cannot connect to MySQL/MariaDB at ${this.where}: ${(err as Error).message}`,
        'Check the host, port, database, user and password in the connection URL, and that the user may connect from this host (CREATE USER … @host / GRANT).',
      );
    }
    // A connection lost later (a server restart) fails the query in flight; the next query connects again.
    const forget = () => {
      if (this.conn !== conn) return;
      this.conn = null;
      this.connecting = null;
      if (this.inTransaction) {
        this.inTransaction = false;
        this.lostInTransaction = true;
      }
    };
    conn.on('error', forget);
    // The promise wrapper passes on 'error' only; the end of the socket is the core connection's.
    (conn as unknown as { connection: { once(e: 'end', f: () => void): void } }).connection.once(
      'end',
      forget,
    );
    try {
      await conn.query(SESSION_SQL);
      for (const sql of this.setup.sql) {
        await conn.query(sql).catch((err: { errno?: number }) => {
          if (!this.setup.tolerate?.includes(err.errno ?? -1)) throw err;
        });
      }
    } catch (err) {
      this.connecting = null;
      conn.destroy();
      throw err;
    }
    this.conn = conn;
    return conn;
  }
}
