/**
 * The PostgreSQL state store's one connection, and the order of its calls.
 *
 * Calls are served strictly one after another, in the order they were made,
 * each to its end (a transaction's last statement included) before the next
 * starts: the engine hands a batch's commit to the store without waiting for
 * it, and a read or intent it sends meanwhile must see that commit, never run
 * inside it (WorkerStateStore gives the SQLite store the same order).
 *
 * A connection that breaks (a server restart) is opened again by the next
 * call; a transaction it was in is lost whole, as PostgreSQL rolls it back.
 */
import pg from 'pg';
import { TandemError } from '../core/errors.js';

/** bigint (ids, counts, lags) as a JS number; every other type as node-postgres reads it. */
const TYPES = {
  getTypeParser: (oid: number, format?: string) =>
    oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text'),
} as unknown as pg.CustomTypesConfig;

export type Row = Record<string, unknown>;

export interface Query {
  rows<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  run(sql: string, params?: unknown[]): Promise<number>;
}

export class PgStateSession {
  private client: pg.Client | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  /** Counts broken connections: calls made before a break are refused after it. */
  private generation = 0;

  constructor(
    private readonly connectionString: string,
    /** For messages: the URL without its password. */
    private readonly where: string,
  ) {}

  /** Runs `body` once every call made before it has finished. */
  serial<T>(body: (q: Query) => Promise<T>): Promise<T> {
    const generation = this.generation;
    const next = this.tail.then(async () => {
      // Made before a call found the connection broken: it was decided on what that call would
      // have saved (a batch commit), so it must not run as if that had happened.
      if (generation !== this.generation) {
        throw new TandemError(
          'CONNECT_FAILED',
          `The connection to the state store at ${this.where} broke under an earlier call; this one was refused`,
          'tandem runs the pass again from its saved state; check the server if this persists.',
          'state',
        );
      }
      const client = await this.connect();
      try {
        return await body(this.query(client));
      } catch (err) {
        // The connection itself failed (not a statement): the next call starts on a new one.
        if (!(err instanceof TandemError) && !(err instanceof pg.DatabaseError && err.severity === 'ERROR')) {
          this.forget(client);
        }
        throw err;
      }
    });
    this.tail = next.catch(() => {});
    return next;
  }

  /** `body` in one transaction (committed when it returns, rolled back when it throws), served in order. */
  transaction<T>(body: (q: Query) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.serial(async (q) => {
      await q.run(begin);
      try {
        const out = await body(q);
        await q.run('COMMIT');
        return out;
      } catch (err) {
        await q.run('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  /** Ends the connection once the calls made before have finished. */
  async close(): Promise<void> {
    await this.tail;
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
  }

  private forget(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.generation++;
    client.end().catch(() => {});
  }

  private query(c: pg.Client): Query {
    return {
      rows: async <T>(sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows as T[],
      run: async (sql: string, params: unknown[] = []) => (await c.query(sql, params)).rowCount ?? 0,
    };
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.connectionString,
      types: TYPES,
      application_name: 'tandem state',
    });
    // A broken connection fails the query in flight; the next call opens a new one.
    client.on('error', () => this.forget(client));
    client.on('end', () => this.forget(client));
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw new TandemError(
        'CONNECT_FAILED',
        `Cannot connect to the state store at ${this.where}: ${(err as Error).message}`,
        'Check the host, port, database, user and password in the `state:` URL, and that the server accepts connections from this machine (pg_hba.conf).',
        'state',
      );
    }
    this.client = client;
    return client;
  }
}
