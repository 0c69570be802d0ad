/**
 * MySQL/MariaDB capture by polling (src/connectors/mysql/poll.ts) against a
 * private MariaDB started here, with mysql2 as the application: inserts and
 * updates found on updated_at, a late commit found in the overlap window and
 * reported once, deletes found by the key scan, a restart that resumes from
 * the saved position, the full fingerprint comparison of a table without
 * updated_at, and the choice `auto` makes (with the binlog preflight of
 * binlog-setup.ts) for a user without replication grants, and why.
 */
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMariaDbServer } from '../../scripts/mariadb-server.mjs';
import type { TableSpec } from '../../src/connectors/connector.js';
import { preflight } from '../../src/connectors/mysql/binlog-setup.js';
import { CaptureSql } from '../../src/connectors/mysql/capture-sql.js';
import { MysqlConnector } from '../../src/connectors/mysql/connector.js';
import { MysqlPollCapture, type MysqlPollOptions } from '../../src/connectors/mysql/poll.js';
import { TandemError } from '../../src/core/errors.js';
import type { ChangeEvent } from '../../src/core/types.js';

type Server = Awaited<ReturnType<typeof startMariaDbServer>>;

const UPDATED_AT =
  'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
const ITEMS: TableSpec = {
  table: 'items',
  key: 'id',
  columns: ['id', 'name', 'updated_at'],
  kinds: { id: 'integer', name: 'text', updated_at: 'timestamp' },
  updatedAt: 'updated_at',
};
const PLAIN: TableSpec = {
  table: 'plain',
  key: 'id',
  columns: ['id', 'name'],
  kinds: { id: 'integer', name: 'text' },
};
const items = { name: 'items' };
const plain = { name: 'plain' };

let server: Server;
let n = 0;
let db: string;
let url: string;
let app: mysql.Connection;
let opened: { close(): Promise<void> }[] = [];
let users: string[] = [];

async function connect(uri: string): Promise<mysql.Connection> {
  const c = await mysql.createConnection({
    uri,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  });
  await c.query("SET time_zone = '+00:00'");
  return c;
}

async function asRoot(sql: string): Promise<void> {
  const c = await mysql.createConnection({ uri: server.url });
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function capture(options: Partial<MysqlPollOptions> = {}, at = url): MysqlPollCapture {
  const c = new MysqlPollCapture({ url: at, database: db, pollIntervalMs: 0, ...options });
  opened.push(c);
  return c;
}

/** A user with rights on the test's database only (no REPLICATION grants); its URL. */
async function user(
  grants = 'SELECT, INSERT, UPDATE, DELETE, CREATE, DROP',
): Promise<{ name: string; url: string }> {
  const name = `tp_${process.pid}_${++n}`;
  await asRoot(`CREATE USER '${name}'@'%' IDENTIFIED BY 'pw'`);
  await asRoot(`GRANT ${grants} ON \`${db}\`.* TO '${name}'@'%'`);
  users.push(name);
  return { name, url: `mysql://${name}:pw@127.0.0.1:${server.port}/${db}` };
}

/** The binlog preflight the connector passes in, on a connection of the given URL. */
function binlogPreflight(at: string): () => Promise<unknown> {
  const sql = new CaptureSql(at);
  opened.push(sql);
  return () => preflight(sql);
}

const ops = (events: ChangeEvent[]) => events.map((e) => [e.op, e.key]);

/** Reads the log to its end from `after`. */
async function readAll(c: MysqlPollCapture, after: string, t = items, spec = ITEMS) {
  const events: ChangeEvent[] = [];
  let position = after;
  for (;;) {
    const batch = await c.readChanges(t, spec, position, 1000);
    events.push(...batch.changes);
    if (batch.changes.length === 0) return { events, position, batch };
    expect(batch.position > position).toBe(true);
    position = batch.position;
  }
}

beforeAll(async () => {
  server = await startMariaDbServer();
});

afterAll(() => {
  server?.stop();
});

beforeEach(async () => {
  db = `poll_${process.pid}_${++n}`;
  url = server.url.replace(/\/mysql$/, `/${db}`);
  await asRoot(`CREATE DATABASE \`${db}\``);
  app = await connect(url);
  await app.query(`CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(100), ${UPDATED_AT})`);
  await app.query('CREATE TABLE plain (id BIGINT PRIMARY KEY, name VARCHAR(100))');
});

afterEach(async () => {
  for (const c of opened) await c.close();
  opened = [];
  await app.end().catch(() => app.destroy());
  await asRoot(`DROP DATABASE IF EXISTS \`${db}\``);
  for (const u of users) await asRoot(`DROP USER IF EXISTS '${u}'@'%'`);
  users = [];
});

describe('mysql polling', () => {
  it('reports inserts and updates once each, in the order made, with their change times', async () => {
    const c = capture({ keyScanMs: 3_600_000 });
    await c.installCapture(items, ITEMS);
    const start = await c.currentPosition(items, ITEMS);
    expect(start).toMatch(/^poll:\d{19}$/);
    expect((await readAll(c, start)).events).toEqual([]);

    await app.query("INSERT INTO items (id, name) VALUES (1, 'a')");
    await app.query("INSERT INTO items (id, name) VALUES (2, 'b')");
    const first = await readAll(c, start);
    expect(ops(first.events)).toEqual([
      ['insert', '1'],
      ['insert', '2'],
    ]);
    const [rows] = (await app.query({
      sql: 'SELECT updated_at FROM items WHERE id = 1',
      rowsAsArray: true,
    })) as [string[][], unknown];
    const stamp = rows[0]![0]!;
    expect(first.events[0]!.at).toBe(`${stamp!.slice(0, 10)}T${stamp!.slice(11, 23)}Z`);

    await app.query("UPDATE items SET name = 'A' WHERE id = 1");
    const second = await readAll(c, first.position);
    expect(ops(second.events)).toEqual([['update', '1']]);
    // Re-read in the next windows, but not reported again; the position stays.
    const again = await readAll(c, second.position);
    expect(again.events).toEqual([]);
    expect(again.batch.position).toBe(second.position);
    expect(await c.currentPosition(items, ITEMS)).toBe(second.position);
  });

  it('finds a transaction that commits late with an earlier updated_at (the overlap window), once', async () => {
    // Key scans far apart: only the window can find the late commit.
    const c = capture({ keyScanMs: 3_600_000 });
    await app.query("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')");
    await c.installCapture(items, ITEMS);
    let { position } = await readAll(c, await c.currentPosition(items, ITEMS));

    // A transaction stamps row 1 (updated_at = its statement's time) and stays open...
    const late = await connect(url);
    try {
      await late.query('START TRANSACTION');
      await late.query("UPDATE items SET name = 'late' WHERE id = 1");
      await new Promise((r) => setTimeout(r, 300));
      // ...while a later change is polled, moving the cursor past row 1's updated_at.
      await app.query("UPDATE items SET name = 'early' WHERE id = 2");
      const first = await readAll(c, position);
      expect(ops(first.events)).toEqual([['update', '2']]);
      position = first.position;
      await late.query('COMMIT');
    } finally {
      await late.end();
    }
    const found = await readAll(c, position);
    expect(ops(found.events)).toEqual([['update', '1']]);
    const again = await readAll(c, found.position);
    expect(again.events).toEqual([]);
  });

  it('finds deletes by the key scan across pages, and rows the window cannot see; prunes what is saved', async () => {
    const c = capture({ keyScanMs: 0 });
    await app.query("INSERT INTO items (id, name) SELECT seq, 'x' FROM seq_1_to_25000");
    await c.installCapture(items, ITEMS);
    const start = await c.currentPosition(items, ITEMS);
    expect((await readAll(c, start)).events).toEqual([]);
    // Keys on several pages of the scan (10,000 a page), the last key included; a row stamped
    // long ago (outside any window) is new all the same.
    await app.query('DELETE FROM items WHERE id IN (2, 12000, 25000)');
    await app.query("INSERT INTO items (id, name, updated_at) VALUES (30000, 'old', '2001-01-01')");
    const { events, position } = await readAll(c, start);
    expect(ops(events).sort()).toEqual([
      ['delete', '12000'],
      ['delete', '2'],
      ['delete', '25000'],
      ['insert', '30000'],
    ]);
    expect((await readAll(c, position)).events).toEqual([]);
    // Pruned once saved; the position stays where it was.
    await c.pruneChanges(items, ITEMS, position);
    expect((await readAll(c, start)).events).toEqual([]);
    expect(await c.currentPosition(items, ITEMS)).toBe(position);
  });

  it('scans keys on a first poll, then every keyScanMs: a later delete waits for the next scan', async () => {
    const c = capture({ keyScanMs: 1500 });
    await app.query("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')");
    await c.installCapture(items, ITEMS);
    const { position } = await readAll(c, await c.currentPosition(items, ITEMS));
    await app.query('DELETE FROM items WHERE id = 2');
    expect((await readAll(c, position)).events).toEqual([]);
    await new Promise((r) => setTimeout(r, 1600));
    expect(ops((await readAll(c, position)).events)).toEqual([['delete', '2']]);
  });

  it('compares BIGINT keys past 2^53 exactly', async () => {
    const c = capture({ keyScanMs: 0 });
    await app.query("INSERT INTO items (id, name) VALUES (9007199254740992, 'a'), (9007199254740993, 'b')");
    await c.installCapture(items, ITEMS);
    const { position } = await readAll(c, await c.currentPosition(items, ITEMS));
    await app.query('DELETE FROM items WHERE id = 9007199254740993');
    await app.query("UPDATE items SET name = 'A' WHERE id = 9007199254740992");
    expect(ops((await readAll(c, position)).events).sort()).toEqual([
      ['delete', '9007199254740993'],
      ['update', '9007199254740992'],
    ]);
  });

  it('text keys in a case-insensitive collation and binary keys: compared in their own order, reported as canonical text', async () => {
    await app.query(
      `CREATE TABLE codes (code VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, name VARCHAR(10), ${UPDATED_AT})`,
    );
    await app.query(`CREATE TABLE blobs (id VARBINARY(16) PRIMARY KEY, name VARCHAR(10), ${UPDATED_AT})`);
    const codes = { name: 'codes' };
    const CODES: TableSpec = {
      ...ITEMS,
      table: 'codes',
      key: 'code',
      columns: ['code', 'name', 'updated_at'],
      kinds: { code: 'text', name: 'text', updated_at: 'timestamp' },
    };
    const blobs = { name: 'blobs' };
    const BLOBS: TableSpec = {
      ...ITEMS,
      table: 'blobs',
      kinds: { id: 'bytes', name: 'text', updated_at: 'timestamp' },
    };
    await app.query("INSERT INTO codes (code, name) VALUES ('Ab', '1'), ('b', '2'), ('C', '3')");
    await app.query("INSERT INTO blobs (id, name) VALUES (X'00ff', '1'), (X'01', '2')");
    const c = capture({ keyScanMs: 0 });
    await c.installCapture(codes, CODES);
    await c.installCapture(blobs, BLOBS);
    const pc = (await readAll(c, await c.currentPosition(codes, CODES), codes, CODES)).position;
    const pb = (await readAll(c, await c.currentPosition(blobs, BLOBS), blobs, BLOBS)).position;
    await app.query("DELETE FROM codes WHERE code = 'b'");
    await app.query("UPDATE codes SET name = 'x' WHERE code = 'ab'");
    await app.query("DELETE FROM blobs WHERE id = X'01'");
    await app.query("UPDATE blobs SET name = 'x' WHERE id = X'00ff'");
    await app.query("INSERT INTO blobs (id, name) VALUES (X'02', 'mine')");
    await c.keepOwnWrites(blobs, BLOBS, ['\\x02'], []);
    await app.query("DELETE FROM blobs WHERE id = X'02'");
    expect(ops((await readAll(c, pc, codes, CODES)).events).sort()).toEqual([
      ['delete', 'b'],
      ['update', 'Ab'],
    ]);
    expect(ops((await readAll(c, pb, blobs, BLOBS)).events).sort()).toEqual([
      ['delete', '\\x01'],
      ['delete', '\\x02'],
      ['update', '\\x00ff'],
    ]);
  });

  it('a restart resumes from the saved position: what was found but not saved comes again, nothing saved repeats', async () => {
    const c1 = capture({ keyScanMs: 3_600_000 });
    await c1.installCapture(items, ITEMS);
    const start = await c1.currentPosition(items, ITEMS);
    await app.query("INSERT INTO items (id, name) VALUES (1, 'a')");
    const saved = await readAll(c1, start);
    expect(ops(saved.events)).toEqual([['insert', '1']]);
    await c1.pruneChanges(items, ITEMS, saved.position);
    // Found (and logged) but not saved when tandem stops.
    await app.query("INSERT INTO items (id, name) VALUES (2, 'b')");
    expect(ops((await readAll(c1, saved.position)).events)).toEqual([['insert', '2']]);
    await c1.close();
    // Changed while stopped; the server is killed and started again on top.
    await app.query("UPDATE items SET name = 'B' WHERE id = 2");
    await app.query("INSERT INTO items (id, name) VALUES (3, 'c')");
    await app.end();
    await server.restart();
    app = await connect(url);

    const c2 = capture({ keyScanMs: 3_600_000 });
    await c2.installCapture(items, ITEMS);
    const resumed = await readAll(c2, saved.position);
    expect(ops(resumed.events)).toEqual([
      ['insert', '2'],
      ['update', '2'],
      ['insert', '3'],
    ]);
    expect((await readAll(c2, resumed.position)).events).toEqual([]);
  });

  it('finds a second change within one second when updated_at has no fraction (the version is then a fingerprint)', async () => {
    await app.query(
      'CREATE TABLE coarse (id BIGINT PRIMARY KEY, name VARCHAR(100), updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)',
    );
    const coarse = { name: 'coarse' };
    const spec = { ...ITEMS, table: 'coarse' };
    await app.query("INSERT INTO coarse (id, name) VALUES (1, 'a')");
    const c = capture({ keyScanMs: 3_600_000 });
    await c.installCapture(coarse, spec);
    let { position } = await readAll(c, await c.currentPosition(coarse, spec), coarse, spec);
    // Both changes carry the same updated_at.
    await app.query("UPDATE coarse SET name = 'b', updated_at = UTC_TIMESTAMP() WHERE id = 1");
    const first = await readAll(c, position, coarse, spec);
    expect(ops(first.events)).toEqual([['update', '1']]);
    position = first.position;
    await app.query("UPDATE coarse SET name = 'c', updated_at = updated_at WHERE id = 1");
    expect(ops((await readAll(c, position, coarse, spec)).events)).toEqual([['update', '1']]);
  });

  it("keeps tandem's own inserts, so one deleted before any poll saw it is still found gone", async () => {
    const c = capture({ keyScanMs: 0 });
    await c.installCapture(items, ITEMS);
    const { position } = await readAll(c, await c.currentPosition(items, ITEMS));
    // As the connector writes for tandem and tells polling after the commit...
    await app.query("INSERT INTO items (id, name) VALUES (5, 'mine')");
    await c.keepOwnWrites(items, ITEMS, ['5'], []);
    // ...and the user deletes the row before a poll looked.
    await app.query('DELETE FROM items WHERE id = 5');
    expect(ops((await readAll(c, position)).events)).toEqual([['delete', '5']]);
  });

  it('poll without updated_at is CONFIG_INVALID; an updated_at that is no time is refused with the DDL', async () => {
    const c = capture({ changeDetection: 'poll' });
    const none = await c.captureStatus(plain, PLAIN).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(TandemError);
    expect((none as TandemError).code).toBe('CONFIG_INVALID');
    expect((none as TandemError).fix).toContain('updated_at:');
    const text = await c.captureStatus(plain, { ...PLAIN, updatedAt: 'name' }).catch((e: unknown) => e);
    expect((text as TandemError).code).toBe('CAPTURE_UNAVAILABLE');
    expect((text as TandemError).fix).toContain(
      'DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)',
    );
  });

  it('auto, with a user lacking REPLICATION grants: polls on updated_at and says why; with them, the binlog', async () => {
    const u = await user();
    const c = capture({ changeDetection: 'auto', binlogPreflight: binlogPreflight(u.url) }, u.url);
    expect((await c.choose(items, ITEMS)).method).toBe('poll');
    const st = await c.captureStatus(items, ITEMS);
    expect(st.method).toBe('poll');
    expect(st.installed).toBe(false);
    expect(st.detail).toMatch(/^poll on updated_at \(updated_at\) every 0 ms, looking 5 s behind/);
    expect(st.detail).toContain('REPLICATION SLAVE');
    expect(st.detail).toContain(`GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${u.name}'@'%'`);
    await c.installCapture(items, ITEMS);
    expect((await c.captureStatus(items, ITEMS)).installed).toBe(true);
    // It polls, as that user.
    const start = await c.currentPosition(items, ITEMS);
    await app.query("INSERT INTO items (id, name) VALUES (1, 'a')");
    expect(ops((await readAll(c, start)).events)).toEqual([['insert', '1']]);

    const root = capture({ changeDetection: 'auto', binlogPreflight: binlogPreflight(url) });
    expect(await root.choose(items, ITEMS)).toEqual({ method: 'cdc', why: '' });
  });

  it('auto, a user that may neither read the binlog nor create tables: refused, with both fixes', async () => {
    const u = await user('SELECT, INSERT, UPDATE, DELETE');
    const c = capture({ changeDetection: 'auto', binlogPreflight: binlogPreflight(u.url) }, u.url);
    const err = await c.captureStatus(items, ITEMS).catch((e: unknown) => e);
    expect((err as TandemError).code).toBe('CAPTURE_UNAVAILABLE');
    expect((err as TandemError).fix).toContain(
      `GRANT CREATE, DROP, SELECT, INSERT, UPDATE, DELETE ON \`${db}\`.*`,
    );
    expect((err as TandemError).fix).toContain('REPLICATION SLAVE');
  });

  it('auto, no REPLICATION and no updated_at: a full comparison of keys and fingerprints at each poll, said so', async () => {
    const u = await user();
    const c = capture(
      { changeDetection: 'auto', binlogPreflight: binlogPreflight(u.url), keyScanMs: 3_600_000 },
      u.url,
    );
    await app.query("INSERT INTO plain (id, name) VALUES (1, 'a'), (2, 'b'), (4, NULL)");
    const st = await c.captureStatus(plain, PLAIN);
    expect(st.method).toBe('scan');
    expect(st.detail).toMatch(/^full scan of keys and row fingerprints/);
    expect(st.detail).toContain('cost grows with the table');
    expect(st.detail).toContain('no updated_at column');
    await c.installCapture(plain, PLAIN);
    const start = await c.currentPosition(plain, PLAIN);
    expect((await readAll(c, start, plain, PLAIN)).events).toEqual([]);
    // Any change to a column read shows (a NULL becoming a value too), though nothing is stamped.
    await app.query("UPDATE plain SET name = 'A' WHERE id = 1");
    await app.query('DELETE FROM plain WHERE id = 2');
    await app.query("INSERT INTO plain (id, name) VALUES (3, 'c')");
    await app.query("UPDATE plain SET name = '' WHERE id = 4");
    const { events, position } = await readAll(c, start, plain, PLAIN);
    expect(ops(events).sort()).toEqual([
      ['delete', '2'],
      ['insert', '3'],
      ['update', '1'],
      ['update', '4'],
    ]);
    // Writing the same value again is no change.
    await app.query("UPDATE plain SET name = 'A' WHERE id = 1");
    expect((await readAll(c, position, plain, PLAIN)).events).toEqual([]);
  });

  it('a saved position of the binlog (the table was captured another way) asks for a full comparison', async () => {
    const c = capture();
    await c.installCapture(items, ITEMS);
    const binlog = '0000000001:000000000256:0000000000';
    expect(await c.readChanges(items, ITEMS, binlog, 10)).toEqual({
      changes: [],
      position: binlog,
      truncatedAt: binlog,
    });
  });

  it('latestChanges gives the last logged change of each key after a position', async () => {
    const c = capture({ keyScanMs: 0 });
    await c.installCapture(items, ITEMS);
    const start = await c.currentPosition(items, ITEMS);
    await app.query("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')");
    const first = await c.readChanges(items, ITEMS, start, 1);
    expect(ops(first.changes)).toEqual([['insert', '1']]);
    await app.query('DELETE FROM items WHERE id = 1');
    await readAll(c, first.position);
    const latest = await c.latestChanges(items, ITEMS, start, ['1', '2', '9']);
    expect(latest.get('1')?.op).toBe('delete');
    expect(latest.get('2')?.op).toBe('insert');
    expect(latest.has('9')).toBe(false);
  });

  it('removeCapture drops what polling kept for the table; teardown drops its shared tables', async () => {
    await app.query('CREATE TABLE other LIKE items');
    const other = { name: 'other' };
    const OTHER = { ...ITEMS, table: 'other' };
    const c = capture();
    await c.installCapture(items, ITEMS);
    await c.installCapture(other, OTHER);
    const tables = async () => {
      const [rows] = (await app.query({
        sql: "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE '\\_tandem\\_poll\\_%' ORDER BY 1",
        values: [db],
        rowsAsArray: true,
      })) as [string[][], unknown];
      return rows.map((r) => r[0]!);
    };
    expect(await tables()).toHaveLength(4);
    await c.removeCapture(items, ITEMS);
    expect(await tables()).toHaveLength(3);
    expect((await c.captureStatus(items, ITEMS)).installed).toBe(false);
    await c.teardown();
    expect(await tables()).toHaveLength(3);
    await c.removeCapture(other, OTHER);
    await c.teardown();
    expect(await tables()).toEqual([]);
  });
  it("a server whose GLOBAL sql_mode has NO_BACKSLASH_ESCAPES: keys with ' and \\ are polled exactly, nothing else touched", async () => {
    await app.query(
      `CREATE TABLE quoted (k VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY, name VARCHAR(10), ${UPDATED_AT})`,
    );
    const quoted = { name: 'quoted' };
    const QUOTED: TableSpec = {
      ...ITEMS,
      table: 'quoted',
      key: 'k',
      columns: ['k', 'name', 'updated_at'],
      kinds: { k: 'text', name: 'text', updated_at: 'timestamp' },
    };
    // Keys that, escaped with backslashes and read without them, end their string early.
    const odd = ["o'k", 'back\\slash', "x') OR 1=1 -- ", "', 0x41) -- ", 'plain'];
    await app.query('INSERT INTO quoted (k, name) VALUES ?', [odd.map((k) => [k, 'v'])]);
    const [[mode]] = (await app.query({ sql: 'SELECT @@GLOBAL.sql_mode', rowsAsArray: true })) as [
      string[][],
      unknown,
    ];
    await asRoot(`SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')`);
    try {
      // Opened after: its connections start in the server's GLOBAL sql_mode.
      const c = capture({ keyScanMs: 0 });
      await c.installCapture(quoted, QUOTED);
      const start = await c.currentPosition(quoted, QUOTED);
      expect((await readAll(c, start, quoted, QUOTED)).events).toEqual([]);
      await app.query("UPDATE quoted SET name = 'w' WHERE k = ?", ["o'k"]);
      await app.query('DELETE FROM quoted WHERE k IN (?)', [['back\\slash', "', 0x41) -- "]]);
      await app.query("INSERT INTO quoted (k, name) VALUES (?, 'n')", ["new'\\row"]);
      await app.query("INSERT INTO quoted (k, name) VALUES (?, 'mine')", ["mine\\'"]);
      await c.keepOwnWrites(quoted, QUOTED, ["mine\\'"], []);
      await app.query('DELETE FROM quoted WHERE k = ?', ["mine\\'"]);
      const { events, position } = await readAll(c, start, quoted, QUOTED);
      expect(ops(events).sort()).toEqual(
        [
          ['delete', "', 0x41) -- "],
          ['delete', 'back\\slash'],
          ['delete', "mine\\'"],
          ['insert', "new'\\row"],
          ['update', "o'k"],
        ].sort(),
      );
      expect((await readAll(c, position, quoted, QUOTED)).events).toEqual([]);
      // The connector's own sessions (session.ts) set the same sql_mode before anything else.
      const conn = MysqlConnector.open(url, { changeDetection: 'poll' });
      opened.push(conn);
      expect((await conn.readByKeys(QUOTED, ["x') OR 1=1 -- "])).map((r) => r.key)).toEqual([
        "x') OR 1=1 -- ",
      ]);
      const [rows] = (await app.query({
        sql: 'SELECT k, name FROM quoted ORDER BY k',
        rowsAsArray: true,
      })) as [string[][], unknown];
      expect(rows).toEqual(
        [
          ["new'\\row", 'n'],
          ["o'k", 'w'],
          ['plain', 'v'],
          ["x') OR 1=1 -- ", 'v'],
        ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
      );
    } finally {
      await asRoot(`SET GLOBAL sql_mode = '${mode![0]}'`);
    }
  });
});
