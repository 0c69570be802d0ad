/**
 * Which tables tandem captures from the binlog, kept in `_tandem_capture` in
 * each table's own database. Binlog capture installs nothing in the server
 * (positions live in tandem's state), so without this `status` and
 * `validate` could not tell a table tandem was set up for from one it never
 * saw, nor a table after `teardown` from one still synced. Polled tables have
 * their feed row instead (poll-setup.ts).
 *
 * Each entry also names the server whose binlog the saved positions belong to
 * (`server_id`, the binlog's base name, and `server_uuid` where the server
 * has one). A position is a file and an offset, meaningless in another
 * server's binlog: after a failover or a DNS switch, reading on from it would
 * silently skip or misread changes, so capture refuses instead
 * (CAPTURE_UNAVAILABLE) until `tandem reconcile` compares both sides in full
 * and registers the new server.
 */
import type { MysqlSession } from './session.js';
import { qi, type TableRef } from './sql.js';

export const REGISTRY_TABLE = '_tandem_capture';

const registryOf = (database: string) => `${qi(database)}.${qi(REGISTRY_TABLE)}`;

/** Which server's binlog this connection reads: `server_id/basename[/uuid]`. */
export async function serverIdentity(s: MysqlSession): Promise<string> {
  const rows = await s.rows(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('server_id', 'log_bin_basename', 'server_uuid')",
  );
  const v = new Map(rows.map((r) => [String(r[0]), String(r[1] ?? '')]));
  return [v.get('server_id') ?? '', v.get('log_bin_basename') ?? '', v.get('server_uuid') ?? '']
    .join('/')
    .replace(/\/$/, '');
}

/**
 * Lists the table (once; an entry already there keeps the server it names).
 * `rehome`: the positions handed out from now on are this server's (a full
 * comparison is starting from one), so the entry names it.
 */
export async function register(s: MysqlSession, t: TableRef, rehome = false): Promise<void> {
  await s.run(
    `CREATE TABLE IF NOT EXISTS ${registryOf(t.database)} (` +
      'table_name VARCHAR(64) NOT NULL PRIMARY KEY, installed_at DATETIME(6) NOT NULL, ' +
      "server VARCHAR(512) NOT NULL DEFAULT '') ENGINE=InnoDB",
  );
  const server = await serverIdentity(s);
  await s.run(
    `INSERT INTO ${registryOf(t.database)} (table_name, installed_at, server) VALUES (?, UTC_TIMESTAMP(6), ?) ` +
      `ON DUPLICATE KEY UPDATE server = ${rehome ? 'VALUES(server)' : 'server'}`,
    [t.name, server],
  );
}

/** The server the table's saved positions belong to; null when it is not registered. */
export async function registeredServer(s: MysqlSession, t: TableRef): Promise<string | null> {
  if (!(await isRegistered(s, t))) return null;
  const rows = await s.rows(`SELECT server FROM ${registryOf(t.database)} WHERE table_name = ?`, [t.name]);
  return rows.length > 0 ? String(rows[0]![0] ?? '') : null;
}

export async function isRegistered(s: MysqlSession, t: TableRef): Promise<boolean> {
  const exists = await s.rows(
    'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [t.database, REGISTRY_TABLE],
  );
  if (exists.length === 0) return false;
  const rows = await s.rows(`SELECT 1 FROM ${registryOf(t.database)} WHERE table_name = ?`, [t.name]);
  return rows.length > 0;
}

export async function unregister(s: MysqlSession, t: TableRef): Promise<void> {
  if (!(await isRegistered(s, t))) return;
  await s.run(`DELETE FROM ${registryOf(t.database)} WHERE table_name = ?`, [t.name]);
}

/** Drops the registry of `database` once it lists no table. */
export async function dropRegistryIfEmpty(s: MysqlSession, database: string): Promise<void> {
  const exists = await s.rows(
    'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [database, REGISTRY_TABLE],
  );
  if (exists.length === 0) return;
  const left = await s.rows(`SELECT 1 FROM ${registryOf(database)} LIMIT 1`);
  if (left.length === 0) await s.run(`DROP TABLE ${registryOf(database)}`);
}
