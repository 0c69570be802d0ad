/**
 * A database of its own for one test, in the private MariaDB the tests share
 * (scripts/mariadb-server.mjs, started by global-setup.ts), dropped
 * afterwards with everything in it.
 */
import mysql from 'mysql2/promise';
import { inject } from 'vitest';

export interface MariaDbDatabase {
  name: string;
  /** `mysql://root@127.0.0.1:PORT/<name>`. */
  url: string;
  /** A connection of the test's own (the "application"), with exact big numbers and date strings. */
  app: mysql.Connection;
  /** Runs one statement on `app`. */
  exec(sql: string, params?: unknown[]): Promise<void>;
  drop(): Promise<void>;
}

let seq = 0;

export async function createMariaDbDatabase(): Promise<MariaDbDatabase> {
  const admin = inject('mariadbUrl');
  const name = `tandem_t_${process.pid}_${++seq}`;
  await asAdmin(admin, `CREATE DATABASE \`${name}\``);
  const url = admin.replace(/\/[^/]*$/, `/${name}`);
  const app = await mysql.createConnection({
    uri: url,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  });
  // The application's own session in UTC too, so TIMESTAMP literals in tests mean UTC.
  await app.query("SET time_zone = '+00:00'");
  return {
    name,
    url,
    app,
    async exec(sql, params) {
      await app.query(sql, params);
    },
    async drop() {
      await app.end().catch(() => app.destroy());
      await asAdmin(admin, `DROP DATABASE IF EXISTS \`${name}\``);
    },
  };
}

async function asAdmin(url: string, sql: string): Promise<void> {
  const c = await mysql.createConnection({ uri: url });
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
