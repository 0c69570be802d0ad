/**
 * A login role of a test's own in the private PostgreSQL (roles belong to the
 * whole server, so each test names its own and drops it afterwards), with no
 * REPLICATION right unless asked: what a managed database often gives an
 * application. The test server trusts local connections, so it needs no password.
 */
import pg from 'pg';
import { inject } from 'vitest';
import type { PgDatabase } from './pg-database.js';

export interface PgRole {
  name: string;
  /** The test database's URL, connecting as this role. */
  url: string;
  /** After the database is dropped (what the role owns there goes with it). */
  drop(): Promise<void>;
}

/** A role that may create tandem's schema in `db` and read and write `tables` (which it does not own). */
export async function createPgRole(db: PgDatabase, tables: string[], replication = false): Promise<PgRole> {
  const name = `${db.name}_role`;
  await db.app.query(`CREATE ROLE ${name} LOGIN${replication ? ' REPLICATION' : ''}`);
  await db.app.query(`GRANT CREATE ON DATABASE ${db.name} TO ${name}`);
  for (const t of tables) await db.app.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${t} TO ${name}`);
  await db.app.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${name}`);
  const url = new URL(db.url);
  url.username = name;
  url.password = '';
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: inject('pgUrl') });
      await c.connect();
      try {
        await c.query(`DROP ROLE IF EXISTS ${name}`);
      } finally {
        await c.end();
      }
    },
  };
}
