/**
 * The connections polling runs on, its own (never the connector's reader or
 * writer: a poll's transaction holds its feed's row lock and must not wait
 * behind, or join, a batch the engine is writing).
 *
 * Values as the connector's reads give them (convert.ts): BIGINT and DECIMAL
 * as exact strings, dates and times as the server's text, in time_zone
 * '+00:00' so TIMESTAMP reads in UTC, and in the connector's sql_mode
 * (session.ts), set on every connection before anything else: never
 * NO_BACKSLASH_ESCAPES, whatever the server's GLOBAL one, since mysql2
 * escapes the keys it sends with backslashes. Rows come back as arrays. A
 * connection lost (a server restart) is opened again by the next statement;
 * one lost inside a transaction fails that transaction's statements until
 * ROLLBACK, so nothing after it runs outside it.
 */
import mysql from 'mysql2/promise';
import { TandemError } from '../../core/errors.js';
import { SESSION_SQL } from './session.js';

/** A `toSqlString` object goes in as its text (an exact numeric literal, convert.ts). */
export type PollParam = null | string | number | Buffer | { toSqlString(): string } | PollParam[];

/** mysql2 options for a `mysql://` or `mariadb://` URL. */
export function pollConnectionOptions(url: string): mysql.ConnectionOptions {
  const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const socket = u.searchParams.get('socket');
  return {
    ...(socket ? { socketPath: socket } : { host: u.hostname || '127.0.0.1', port: Number(u.port || 3306) }),
    user: decodeURIComponent(u.username || 'root'),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(database ? { database } : {}),
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    charset: 'UTF8MB4_BIN',
    timezone: 'Z',
  };
}

export class PollSession {
  private conn: Promise<mysql.Connection> | null = null;
  private inTransaction = false;
  private lostInTransaction = false;

  constructor(
    private readonly options: mysql.ConnectionOptions,
    /** For messages: where, without the password. */
    private readonly where: string,
  ) {}

  async rows(sql: string, params: PollParam[] = []): Promise<unknown[][]> {
    if (this.lostInTransaction) throw this.lost();
    const c = await this.connection();
    const [rows] = await c.query({ sql, values: params, rowsAsArray: true });
    return rows as unknown[][];
  }

  async run(sql: string, params: PollParam[] = []): Promise<void> {
    if (this.lostInTransaction) throw this.lost();
    const c = await this.connection();
    await c.query({ sql, values: params });
  }

  /** `work` in one transaction: committed when it returns, rolled back when it throws. */
  async transaction<T>(work: () => Promise<T>, start = 'START TRANSACTION'): Promise<T> {
    await this.run(start);
    this.inTransaction = true;
    try {
      const out = await work();
      await this.run('COMMIT');
      return out;
    } catch (err) {
      if (!this.lostInTransaction) await this.run('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      this.inTransaction = false;
      this.lostInTransaction = false;
    }
  }

  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    const c = conn ? await conn.catch(() => null) : null;
    await c?.end().catch(() => c.destroy());
  }

  private lost(): TandemError {
    return new TandemError(
      'CONNECT_FAILED',
      `The connection to MySQL/MariaDB at ${this.where} broke inside a poll: nothing of that poll was saved`,
      'tandem polls again on the next pass and finds the same changes; check the server if this persists.',
    );
  }

  private connection(): Promise<mysql.Connection> {
    if (this.conn) return this.conn;
    const opening = (async () => {
      let c: mysql.Connection;
      try {
        c = await mysql.createConnection(this.options);
      } catch (err) {
        throw new TandemError(
          'CONNECT_FAILED',
          `Cannot connect to MySQL/MariaDB at ${this.where}: ${(err as Error).message}`,
          'Check the host, port, database, user and password in the connection URL, and that the user may connect from this host.',
        );
      }
      const forget = () => {
        if (this.conn !== opening) return;
        this.conn = null;
        if (this.inTransaction) this.lostInTransaction = true;
      };
      c.on('error', forget);
      // The promise wrapper passes on 'error' only; the end of the socket is the core connection's.
      (c as unknown as { connection: { once(e: 'end', f: () => void): void } }).connection.once(
        'end',
        forget,
      );
      // The connector's own session settings (session.ts), before any statement: the server's GLOBAL
      // sql_mode may hold NO_BACKSLASH_ESCAPES, under which mysql2's escaping of a key is unsafe.
      try {
        await c.query(SESSION_SQL);
      } catch (err) {
        c.destroy();
        throw err;
      }
      return c;
    })();
    opening.catch(() => {
      if (this.conn === opening) this.conn = null;
    });
    this.conn = opening;
    return opening;
  }
}
