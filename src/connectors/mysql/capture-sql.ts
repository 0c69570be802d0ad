/**
 * The few SQL questions binlog capture asks, on one connection of its own
 * (never the connector's reader or writer, so a wait here holds up neither):
 * where the binlog ends, which binlog files exist, the server settings and
 * grants capture needs, the consistent-snapshot position (`snapshotPoint`)
 * and the visibility wait (`waitVisible`).
 *
 * The session runs with time_zone '+00:00' and the connector's fixed
 * sql_mode (SQL_MODE of session.ts), whatever the server's globals: key
 * values are escaped into SQL by mysql2, which is unsafe under a global
 * NO_BACKSLASH_ESCAPES.
 *
 * The connection comes back by itself after the server restarts: a query
 * that meets a dead connection is sent once more on a new one.
 */
import mysql from 'mysql2/promise';
import { TandemError } from '../../core/errors.js';
import type { ColumnKind } from '../../core/types.js';
import { type BinlogPoint, comparePoints, fileIndex } from './binlog-position.js';
import { toParam } from './convert.js';
import { SQL_MODE } from './session.js';

/** mysql2 options for a `mysql://` or `mariadb://` URL, values as the connector's reads give them. */
export function connectionOptions(url: string): mysql.ConnectionOptions {
  const u = new URL(url);
  const socket = u.searchParams.get('socket');
  return {
    ...(socket ? { socketPath: socket } : { host: u.hostname || '127.0.0.1', port: Number(u.port || 3306) }),
    user: decodeURIComponent(u.username || 'root'),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    timezone: 'Z',
  };
}

export interface BinlogFile {
  name: string;
  index: number;
  size: number;
}

/** A connection that died under the query (the server restarted): it is opened again. */
const isDead = (err: unknown): boolean =>
  (err as { fatal?: boolean }).fatal === true || /closed state/.test((err as Error).message);

const q = (name: string) => `\`${name.replace(/`/g, '``')}\``;

export class CaptureSql {
  private conn: Promise<mysql.Connection> | null = null;
  /** Whether the server has Binlog_snapshot_* (MariaDB); undefined until asked. */
  private snapshots: boolean | undefined;
  private snapshotLock: Promise<void> = Promise.resolve();
  private live: mysql.Connection | null = null;

  constructor(private readonly url: string) {}

  async rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    for (let attempt = 1; ; attempt++) {
      const conn = await this.connection();
      try {
        const [rows] = await conn.query(sql, params);
        return rows as T[];
      } catch (err) {
        if (!isDead(err)) throw err;
        this.drop(conn);
        if (attempt >= 2) throw err;
      }
    }
  }

  /** Where the binlog ends now (every transaction committed to it lies before this point). */
  async binlogEnd(): Promise<BinlogPoint & { name: string }> {
    let rows: { File: string; Position: number | string }[];
    try {
      rows = await this.rows('SHOW MASTER STATUS');
    } catch (err) {
      // MySQL 8.4 renamed it.
      if ((err as { errno?: number }).errno !== 1064) throw err;
      rows = await this.rows('SHOW BINARY LOG STATUS');
    }
    const row = rows[0];
    if (!row) throw new Error('the server writes no binlog (SHOW MASTER STATUS is empty)');
    return { name: row.File, file: fileIndex(row.File), offset: Number(row.Position) };
  }

  async binlogFiles(): Promise<BinlogFile[]> {
    const rows = await this.rows<{ Log_name: string; File_size: number | string }>('SHOW BINARY LOGS');
    return rows.map((r) => ({ name: r.Log_name, index: fileIndex(r.Log_name), size: Number(r.File_size) }));
  }

  async variables(names: string[]): Promise<Map<string, string>> {
    const rows = await this.rows<{ Variable_name: string; Value: string }>(
      `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => '?').join(', ')})`,
      names,
    );
    return new Map(rows.map((r) => [r.Variable_name.toLowerCase(), String(r.Value)]));
  }

  async grants(): Promise<{ user: string; lines: string[] }> {
    const user = (await this.rows<{ u: string }>('SELECT CURRENT_USER() AS u'))[0]!.u;
    const rows = await this.rows<Record<string, string>>('SHOW GRANTS');
    return { user, lines: rows.map((r) => Object.values(r)[0] ?? '') };
  }

  /**
   * Where the binlog stands in a consistent snapshot (MariaDB): every
   * transaction before the point is visible to a read made from now on, and
   * none after it is visible in that snapshot. MariaDB takes the InnoDB read
   * view and the binlog position together (`START TRANSACTION WITH
   * CONSISTENT SNAPSHOT`, then `Binlog_snapshot_file` /
   * `Binlog_snapshot_position`). Unlike SHOW MASTER STATUS it never includes
   * a transaction written to the binlog whose InnoDB commit is not visible
   * yet. Null on a server without these (MySQL).
   */
  async snapshotPoint(): Promise<BinlogPoint | null> {
    if (this.snapshots === false) return null;
    // One snapshot at a time on this connection: a second START TRANSACTION would end the first.
    const prev = this.snapshotLock;
    let release = () => {};
    this.snapshotLock = new Promise<void>((r) => {
      release = r;
    });
    await prev;
    try {
      for (let attempt = 1; ; attempt++) {
        const conn = await this.connection();
        try {
          await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
          const [rows] = await conn.query("SHOW STATUS LIKE 'binlog_snapshot_%'");
          await conn.query('COMMIT');
          const status = new Map(
            (rows as { Variable_name: string; Value: string }[]).map((r) => [
              r.Variable_name.toLowerCase(),
              String(r.Value),
            ]),
          );
          const file = status.get('binlog_snapshot_file');
          const offset = status.get('binlog_snapshot_position');
          if (file === undefined || offset === undefined) {
            this.snapshots = false;
            return null;
          }
          // An empty file name: the binlog is off (the preflight says so).
          if (!file) throw new Error('the server writes no binlog (Binlog_snapshot_file is empty)');
          this.snapshots = true;
          return { file: fileIndex(file), offset: Number(offset) };
        } catch (err) {
          if (!isDead(err)) {
            await conn.query('ROLLBACK').catch(() => {});
            throw err;
          }
          this.drop(conn);
          if (attempt >= 2) throw err;
        }
      }
    } finally {
      release();
    }
  }

  /**
   * Waits until the transactions that wrote a batch's changes are visible to
   * a plain read. MariaDB and MySQL write a transaction to the binlog (and
   * so to the stream) before the storage engine commits it; a read in that
   * moment sees the row as it was, and the change would be lost.
   *
   * MariaDB: until a consistent snapshot's binlog position (snapshotPoint)
   * is past `lastStart`, the start of the batch's last transaction. The
   * snapshot position always lies at a transaction boundary, so past its
   * start means at or past its end: that transaction and every one before
   * it is visible. No lock is taken on any row. It fails the read (never
   * goes on) when that takes longer than `limitMs`.
   *
   * MySQL (no snapshot position; not tested here): a locking read of the
   * keys, which waits for the committing transaction's row locks, held
   * until its commit is visible. A lock still held after
   * innodb_lock_wait_timeout (1 s in this session) is taken to belong to a
   * later transaction, and the batch goes on.
   */
  async waitVisible(
    schema: string,
    table: string,
    keyColumn: string,
    kind: ColumnKind,
    keys: string[],
    lastStart: BinlogPoint,
    limitMs: number,
  ): Promise<void> {
    if (keys.length === 0) return;
    const began = Date.now();
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      const at = await this.snapshotPoint();
      if (!at) return this.waitUnlocked(schema, table, keyColumn, kind, keys);
      if (comparePoints(at, lastStart) > 0) return;
      if (Date.now() - began > limitMs)
        throw new TandemError(
          'CONNECT_FAILED',
          `A transaction in the binlog (file ${lastStart.file}, offset ${lastStart.offset}) was still not visible in ${schema}.${table} after ${Math.round(limitMs / 1000)} s (its InnoDB commit has not finished); its changes are not returned until it is`,
          'tandem tries again on the next pass. Check the server: a stalled disk, or semi-synchronous replication (rpl_semi_sync_master_wait_point = AFTER_SYNC) waiting for a replica, holds commits after their binlog write.',
        );
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  /** The MySQL path of waitVisible: a locking read of the keys (see there). */
  async waitUnlocked(
    schema: string,
    table: string,
    keyColumn: string,
    kind: ColumnKind,
    keys: string[],
  ): Promise<void> {
    const params = keys.map((k) => toParam(k, kind));
    const sql = `SELECT 1 FROM ${q(schema)}.${q(table)} WHERE ${q(keyColumn)} IN (?) LOCK IN SHARE MODE`;
    for (let i = 0; i < params.length; i += 1000) {
      try {
        await this.rows(sql, [params.slice(i, i + 1000)]);
      } catch (err) {
        const errno = (err as { errno?: number }).errno;
        // 1205 lock wait timeout (see above); 1146 the table is gone (nothing left to see).
        if (errno !== 1205 && errno !== 1146) throw err;
      }
    }
  }

  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    this.live = null;
    if (conn) await (await conn.catch(() => null))?.end().catch(() => {});
  }

  private connection(): Promise<mysql.Connection> {
    if (!this.conn) {
      const opening = (async () => {
        const conn = await mysql.createConnection(connectionOptions(this.url));
        conn.on('error', () => this.drop(conn));
        // Key values are escaped by mysql2 into the SQL text, which is only safe without
        // NO_BACKSLASH_ESCAPES: the session's sql_mode is set, never the server's taken.
        // time_zone: TIMESTAMP keys compare in UTC, as the connector reads and writes them.
        await conn.query(
          `SET SESSION time_zone = '+00:00', sql_mode = '${SQL_MODE}', innodb_lock_wait_timeout = 1`,
        );
        this.live = conn;
        return conn;
      })();
      opening.catch(() => {
        if (this.conn === opening) this.conn = null;
      });
      this.conn = opening;
    }
    return this.conn;
  }

  private drop(conn: mysql.Connection): void {
    if (this.live === conn) {
      this.live = null;
      this.conn = null;
    }
    conn.destroy();
  }
}
