/**
 * One connection to PostgreSQL, opened on first use, in the session tandem
 * reads and writes in: values as PostgreSQL's own text (no type parsers, so
 * no int8 or numeric through a JS number and no timestamp through a JS Date),
 * TimeZone UTC, DateStyle ISO, bytea in hex, floats in their shortest exact
 * text. A failure to connect becomes CONNECT_FAILED with what to check.
 */
import pg from 'pg';
import { TandemError } from '../../core/errors.js';

/** Every value as the text PostgreSQL sent (the connector converts it, see convert.ts). */
const RAW_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

const SESSION_OPTIONS = [
  '-c TimeZone=UTC',
  '-c DateStyle=ISO,YMD',
  '-c IntervalStyle=iso_8601',
  '-c bytea_output=hex',
  '-c extra_float_digits=1',
  '-c client_encoding=UTF8',
].join(' ');

export type Param = string | null | string[];

/** Statements that open or end a transaction (not ROLLBACK TO SAVEPOINT). */
const TX_BOUND = /^\s*(BEGIN|COMMIT|ROLLBACK)\s*;?\s*$/i;

export class PgSession {
  /**
   * Facts about the database learnt on this connection (a table's column
   * types, that tandem's receipts table exists), so each batch does not ask again.
   */
  readonly known = new Map<string, unknown>();
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  /** Between BEGIN and COMMIT/ROLLBACK (see run). */
  private inTransaction = false;
  /** The connection went while a transaction was open: refused until ROLLBACK. */
  private lostInTransaction = false;

  constructor(
    private readonly url: string,
    /** For messages: the URL without its password. */
    private readonly where: string,
    /** Run once on each new connection, before any other query. */
    private readonly onConnect?: (client: pg.Client) => Promise<void>,
  ) {}

  /** Rows as arrays of text (or null), in select-list order. */
  async rows(sql: string, params: Param[] = []): Promise<(string | null)[][]> {
    if (this.lostInTransaction) throw this.lost();
    const c = await this.connect();
    const r = await c.query({ text: sql, values: params, rowMode: 'array' });
    return r.rows as (string | null)[][];
  }

  async run(sql: string, params: Param[] = []): Promise<number> {
    const bound = TX_BOUND.exec(sql)?.[1]?.toUpperCase();
    if (bound !== 'BEGIN' && this.lostInTransaction) {
      // The server rolled the transaction back when the connection went: every statement
      // until ROLLBACK fails, so no later statement (COMMIT above all) runs outside it.
      if (bound === 'ROLLBACK') {
        this.lostInTransaction = false;
        return 0;
      }
      throw this.lost();
    }
    const c = await this.connect();
    try {
      const r = await c.query({ text: sql, values: params });
      return r.rowCount ?? 0;
    } finally {
      if (bound === 'BEGIN') this.inTransaction = true;
      else if (bound === 'COMMIT' || bound === 'ROLLBACK') this.inTransaction = false;
    }
  }

  private lost(): TandemError {
    return new TandemError(
      'CONNECT_FAILED',
      `The connection to PostgreSQL at ${this.where} broke inside a transaction: nothing of it was saved`,
      'tandem runs the batch again from its saved state on the next pass; check the server if this persists.',
    );
  }

  /** `compute()` once per connection under `name`. */
  async fact<T>(name: string, compute: () => Promise<T>): Promise<T> {
    if (this.known.has(name)) return this.known.get(name) as T;
    const value = await compute();
    this.known.set(name, value);
    return value;
  }

  async close(): Promise<void> {
    const c = this.client ?? (this.connecting ? await this.connecting.catch(() => null) : null);
    this.client = null;
    this.connecting = null;
    await c?.end();
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open();
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, types: RAW_TEXT, options: SESSION_OPTIONS });
    // A connection lost later (a server restart) fails the query in flight; the next query connects again.
    const forget = () => {
      if (this.client !== client) return;
      this.client = null;
      this.connecting = null;
      if (this.inTransaction) {
        this.inTransaction = false;
        this.lostInTransaction = true;
      }
    };
    client.on('error', forget);
    client.on('end', forget);
    try {
      await client.connect();
    } catch (err) {
      this.connecting = null;
      throw new TandemError(
        'CONNECT_FAILED',
        `Cannot connect to PostgreSQL at ${this.where}: ${(err as Error).message}`,
        'Check the host, port, database, user and password in the connection URL, and that the server accepts connections from this machine (pg_hba.conf).',
      );
    }
    try {
      await this.onConnect?.(client);
    } catch (err) {
      this.connecting = null;
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    return client;
  }
}
