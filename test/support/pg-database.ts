/**
 * A database of its own for one test, in the private PostgreSQL the tests
 * share (scripts/pg-server.mjs), dropped afterwards with everything in it
 * (replication slots made in it included).
 */
import pg from 'pg';
import { inject } from 'vitest';

export interface PgDatabase {
  name: string;
  url: string;
  /** A client of the test's own (the "application"), connected. */
  app: pg.Client;
  drop(): Promise<void>;
}

let seq = 0;

export async function createPgDatabase(): Promise<PgDatabase> {
  const admin = inject('pgUrl');
  const name = `tandem_t_${process.pid}_${++seq}`;
  await asAdmin(admin, `CREATE DATABASE ${name}`);
  const url = admin.replace(/\/[^/]*$/, `/${name}`);
  const app = new pg.Client({ connectionString: url });
  await app.connect();
  return {
    name,
    url,
    app,
    async drop() {
      await app.end();
      // A slot holds its database open: drop this database's slots first.
      await asAdmin(
        admin,
        `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '${name}'`,
      );
      await asAdmin(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      // Replication origins belong to the server, not the database, and each one that wrote
      // keeps one of max_replication_slots' state slots: the database's go with it.
      await asAdmin(
        admin,
        `SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname LIKE 'tandem\\_w\\_${name}%'`,
      );
    },
  };
}

async function asAdmin(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Tokens of the receipts tandem keeps in this database (none before its table is made). */
export async function storedReceipts(app: pg.Client): Promise<string[]> {
  const made = await app.query("SELECT to_regclass('_tandem.receipts') IS NOT NULL AS made");
  if (!made.rows[0].made) return [];
  return (await app.query('SELECT token FROM _tandem.receipts ORDER BY token')).rows.map((r) => r.token);
}
