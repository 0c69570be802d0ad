/**
 * Binlog capture (src/connectors/mysql/capture.ts) against a private MariaDB
 * started here, with mysql2 as the application: what is reported, in which
 * order, from which position, and that nothing is lost across a rotation, a
 * server killed and started again, or a capture object started afresh.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMariaDbServer } from '../../scripts/mariadb-server.mjs';
import type { ChangeBatch, TableSpec } from '../../src/connectors/connector.js';
import { type AnyEvent, BinlogStream, limits } from '../../src/connectors/mysql/binlog-stream.js';
import { MysqlCapture } from '../../src/connectors/mysql/capture.js';
import { CaptureSql } from '../../src/connectors/mysql/capture-sql.js';
import { OWN_WRITES_SQL } from '../../src/connectors/mysql/own-writes.js';
import { TandemError } from '../../src/core/errors.js';
import type { ChangeEvent } from '../../src/core/types.js';

type Server = Awaited<ReturnType<typeof startMariaDbServer>>;

const DB = 'capdb';
const spec = (table: string): TableSpec => ({
  table,
  key: 'id',
  columns: ['id', 'v'],
  kinds: { id: 'integer', v: 'text' },
});
const T = { name: 'items' };
const ITEMS = spec('items');

let server: Server;
let url: string;
let app: mysql.Connection;
const captures: MysqlCapture[] = [];

function capture(): MysqlCapture {
  const c = new MysqlCapture({ url, database: DB });
  captures.push(c);
  return c;
}

async function connect(): Promise<mysql.Connection> {
  return mysql.createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: true });
}

/** Every change after `after`, in pages of `page`. */
async function drain(c: MysqlCapture, after: string, page = 1000, t = T, s = ITEMS) {
  const changes: ChangeEvent[] = [];
  let pos = after;
  for (;;) {
    const b: ChangeBatch = await c.readChanges(t, s, pos, page);
    changes.push(...b.changes);
    if (b.truncatedAt) return { changes, position: b.position, truncatedAt: b.truncatedAt };
    if (b.changes.length === 0) return { changes, position: b.position };
    expect(b.position > pos).toBe(true);
    pos = b.position;
  }
}

const ops = (cs: ChangeEvent[]) => cs.map((c) => `${c.op}:${c.key}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function asRoot(sql: string): Promise<unknown> {
  const root = await mysql.createConnection(server.url);
  try {
    return (await root.query(sql))[0];
  } finally {
    await root.end();
  }
}

/**
 * From now on the next commit waits `ms` after its binlog write before InnoDB
 * makes it visible: semi-synchronous replication waiting AFTER_SYNC for a
 * replica's ack that never comes (there is none). The window every commit
 * has, made long enough to test.
 */
async function holdNextCommit(ms: number): Promise<void> {
  await asRoot('SET GLOBAL rpl_semi_sync_master_enabled = OFF');
  await asRoot(
    `SET GLOBAL rpl_semi_sync_master_timeout = ${ms}, rpl_semi_sync_master_wait_point = 'AFTER_SYNC', rpl_semi_sync_master_enabled = ON`,
  );
}

async function releaseCommits(): Promise<void> {
  await asRoot('SET GLOBAL rpl_semi_sync_master_enabled = OFF');
}

/** Commits an insert whose commit is held (see holdNextCommit); resolves once it is in the binlog. */
async function heldInsert(
  id: number,
  ms: number,
): Promise<{ committed: Promise<unknown>; end(): Promise<void> }> {
  await holdNextCommit(ms);
  const writer = await connect();
  const committed = writer.query('INSERT INTO items VALUES (?, ?)', [id, 'held']);
  // In the binlog, not yet visible.
  await sleep(300);
  return {
    committed,
    end: async () => {
      await committed.catch(() => {});
      await writer.end();
      await releaseCommits();
    },
  };
}

beforeAll(async () => {
  server = await startMariaDbServer();
  url = server.url.replace(/\/mysql$/, `/${DB}`);
  const root = await mysql.createConnection(server.url);
  await root.query(`CREATE DATABASE ${DB}`);
  await root.query(`CREATE TABLE ${DB}.items (id BIGINT PRIMARY KEY, v VARCHAR(50))`);
  await root.query(`CREATE TABLE ${DB}.other (id INT PRIMARY KEY, v VARCHAR(50))`);
  await root.end();
  app = await connect();
}, 120_000);

afterAll(async () => {
  for (const c of captures) await c.close().catch(() => {});
  await app?.end().catch(() => {});
  server?.stop();
});

describe('MariaDB binlog capture', () => {
  it('reports inserts, updates and deletes with their keys, in commit order, positions ascending', async () => {
    const c = capture();
    expect(await c.captureStatus(T, ITEMS)).toMatchObject({ installed: true, method: 'cdc' });
    await c.installCapture(T, ITEMS);
    const start = await c.currentPosition(T, ITEMS);
    await c.startCapture(T, ITEMS);
    await app.query("INSERT INTO items VALUES (1, 'a')");
    await app.query("INSERT INTO items VALUES (9007199254740993, 'big')");
    await app.query("UPDATE items SET v = 'b' WHERE id = 1");
    await app.query("INSERT INTO other VALUES (1, 'not watched')");
    await app.query('DELETE FROM items WHERE id = 9007199254740993');
    // One transaction, several rows and statements.
    await app.query('BEGIN');
    await app.query("INSERT INTO items VALUES (2, 'x'), (3, 'y'), (4, 'z')");
    await app.query("UPDATE items SET v = 'w' WHERE id IN (2, 3)");
    await app.query('UPDATE items SET id = 40 WHERE id = 4');
    await app.query('COMMIT');
    const { changes } = await drain(c, start);
    expect(ops(changes)).toEqual([
      'insert:1',
      'insert:9007199254740993',
      'update:1',
      'delete:9007199254740993',
      'insert:2',
      'insert:3',
      'insert:4',
      'update:2',
      'update:3',
      // A key that moves is the old key's delete and the new key's insert.
      'delete:4',
      'insert:40',
    ]);
    const positions = changes.map((x) => x.position);
    expect([...positions].sort()).toEqual(positions);
    expect(new Set(positions).size).toBe(positions.length);
    for (const x of changes) expect(x.at).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    // From any position on, only what came after it.
    for (let i = 0; i < changes.length; i++) {
      const rest = await drain(c, positions[i]!, 3);
      expect(ops(rest.changes)).toEqual(ops(changes.slice(i + 1)));
    }
  });

  it('resumes in a new capture object from any position, inside a transaction too', async () => {
    const c1 = capture();
    const start = await c1.currentPosition(T, ITEMS);
    await c1.startCapture(T, ITEMS);
    await app.query('BEGIN');
    await app.query("INSERT INTO items VALUES (100, 'a'), (101, 'b'), (102, 'c')");
    await app.query('COMMIT');
    await app.query("INSERT INTO items VALUES (103, 'd')");
    const first = await c1.readChanges(T, ITEMS, start, 2);
    expect(ops(first.changes)).toEqual(['insert:100', 'insert:101']);
    await c1.pruneChanges(T, ITEMS, first.position);
    await c1.close();
    // A process started afresh, asked for what follows the saved position (mid-transaction).
    const c2 = capture();
    const rest = await drain(c2, first.position);
    expect(ops(rest.changes)).toEqual(['insert:102', 'insert:103']);
    expect(rest.changes[0]!.position > first.position).toBe(true);
  });

  it("skips tandem's own writes (a session that ran OWN_WRITES_SQL), and moves past them", async () => {
    const c = capture();
    const own = await connect();
    for (const sql of OWN_WRITES_SQL) await own.query(sql);
    const start = await c.currentPosition(T, ITEMS);
    await own.query("INSERT INTO items VALUES (200, 'own')");
    await app.query("INSERT INTO items VALUES (201, 'user')");
    await own.query("UPDATE items SET v = 'own2' WHERE id = 201");
    await own.query('DELETE FROM items WHERE id = 200');
    const { changes, position } = await drain(c, start);
    expect(ops(changes)).toEqual(['insert:201']);
    // The log's tail is own writes only: the read still catches up, and the position moves past them.
    const [[end]] = (await app.query('SHOW MASTER STATUS')) as unknown as [[{ Position: number }]];
    expect(Number(position.split(':')[1])).toBeGreaterThanOrEqual(Number(end.Position));
    await own.end();
  });

  it('reports TRUNCATE as truncatedAt, after the changes before it', async () => {
    const c = capture();
    const start = await c.currentPosition(T, ITEMS);
    await app.query("INSERT INTO items VALUES (300, 'a')");
    await app.query('TRUNCATE TABLE items');
    await app.query("INSERT INTO items VALUES (301, 'b')");
    const b = await c.readChanges(T, ITEMS, start, 100);
    expect(ops(b.changes)).toEqual(['insert:300']);
    expect(b.truncatedAt).toBeDefined();
    expect(b.truncatedAt! > b.position).toBe(true);
    const after = await drain(c, b.truncatedAt!);
    expect(ops(after.changes)).toEqual(['insert:301']);
  });

  it('loses nothing across binlog rotation (FLUSH BINARY LOGS) mid-stream', async () => {
    const c = capture();
    const start = await c.currentPosition(T, ITEMS);
    await c.startCapture(T, ITEMS);
    await app.query("INSERT INTO items VALUES (400, 'a')");
    const one = await c.readChanges(T, ITEMS, start, 100);
    expect(ops(one.changes)).toEqual(['insert:400']);
    await app.query('FLUSH BINARY LOGS');
    await app.query("INSERT INTO items VALUES (401, 'b')");
    await app.query('FLUSH BINARY LOGS');
    await app.query("UPDATE items SET v = 'c' WHERE id = 400");
    const rest = await drain(c, one.position);
    expect(ops(rest.changes)).toEqual(['insert:401', 'update:400']);
    // The file number leads the position: a later file sorts after.
    expect(rest.changes[1]!.position.slice(0, 10) > one.position.slice(0, 10)).toBe(true);
    // And a fresh object resumes across the rotation.
    const again = await drain(capture(), one.position);
    expect(ops(again.changes)).toEqual(['insert:401', 'update:400']);
  });

  it('loses nothing when the server is killed and started again mid-stream', async () => {
    const c = capture();
    const start = await c.currentPosition(T, ITEMS);
    await c.startCapture(T, ITEMS);
    await app.query("INSERT INTO items VALUES (500, 'a')");
    const one = await c.readChanges(T, ITEMS, start, 100);
    expect(ops(one.changes)).toEqual(['insert:500']);
    await app.query("INSERT INTO items VALUES (501, 'b')");
    await app.end();
    await server.restart();
    app = await connect();
    await app.query("INSERT INTO items VALUES (502, 'c')");
    const rest = await drain(c, one.position);
    expect(ops(rest.changes)).toEqual(['insert:501', 'insert:502']);
  }, 120_000);

  it("moves an idle table's position on while other tables change", async () => {
    const c = capture();
    const start = await c.currentPosition(T, ITEMS);
    const idle = await c.readChanges(T, ITEMS, start, 100);
    expect(idle.changes).toEqual([]);
    await app.query("INSERT INTO other VALUES (600, 'x')");
    const later = await c.readChanges(T, ITEMS, idle.position, 100);
    expect(later.changes).toEqual([]);
    expect(later.position > idle.position).toBe(true);
    // And a table inserted into after that position is still read from it.
    await app.query("INSERT INTO items VALUES (600, 'y')");
    expect(ops((await c.readChanges(T, ITEMS, later.position, 100)).changes)).toEqual(['insert:600']);
  });

  it('returns a change to a read made right after its commit returned', async () => {
    const c = capture();
    let pos = await c.currentPosition(T, ITEMS);
    await c.startCapture(T, ITEMS);
    for (let i = 0; i < 30; i++) {
      await app.query('INSERT INTO items VALUES (?, ?)', [700 + i, 'x']);
      const b = await c.readChanges(T, ITEMS, pos, 100);
      expect(ops(b.changes)).toEqual([`insert:${700 + i}`]);
      pos = b.position;
    }
  });

  it('reports a row only once a plain read sees it (the binlog is written before InnoDB commits)', async () => {
    const c = capture();
    let pos = await c.currentPosition(T, ITEMS);
    await c.startCapture(T, ITEMS);
    const reader = await connect();
    const writers = await Promise.all([1, 2, 3, 4].map(() => connect()));
    const until = Date.now() + 4000;
    let next = 10_000;
    const writing = Promise.all(
      writers.map(async (w) => {
        while (Date.now() < until) await w.query("INSERT INTO items VALUES (?, 'v')", [next++]);
      }),
    );
    let seen = 0;
    const missing: string[] = [];
    let done = false;
    void writing.then(() => {
      done = true;
    });
    while (!done) {
      const b = await c.readChanges(T, ITEMS, pos, 200);
      pos = b.position;
      const keys = b.changes.map((x) => x.key);
      if (keys.length === 0) continue;
      seen += keys.length;
      const [rows] = (await reader.query('SELECT id FROM items WHERE id IN (?)', [keys])) as unknown as [
        { id: string }[],
      ];
      const found = new Set(rows.map((r) => String(r.id)));
      for (const k of keys) if (!found.has(k)) missing.push(k);
    }
    await writing;
    expect(seen).toBeGreaterThan(500);
    expect(missing).toEqual([]);
    await reader.end();
    for (const w of writers) await w.end();
  }, 60_000);

  it('starts at a position no commit still invisible lies before (the first sync misses nothing)', async () => {
    const c = capture();
    const held = await heldInsert(800, 3000);
    try {
      const start = await c.currentPosition(T, ITEMS);
      await c.startCapture(T, ITEMS);
      // The first sync's full scan, right after: the held row is not visible yet.
      const [scan] = (await app.query('SELECT id FROM items WHERE id = 800')) as unknown as [unknown[]];
      expect(scan).toEqual([]);
      await held.committed;
      // So capture must report it: it lies after the start position.
      const { changes } = await drain(c, start);
      expect(ops(changes)).toContain('insert:800');
    } finally {
      await held.end();
    }
  }, 30_000);

  it('returns a change only once a plain read sees it, however long its commit takes', async () => {
    const c = capture();
    const start = await c.currentPosition(T, ITEMS);
    await c.startCapture(T, ITEMS);
    const held = await heldInsert(810, 2500);
    try {
      const b = await c.readChanges(T, ITEMS, start, 100);
      expect(ops(b.changes)).toEqual(['insert:810']);
      const [rows] = (await app.query('SELECT id FROM items WHERE id = 810')) as unknown as [unknown[]];
      expect(rows).toHaveLength(1);
    } finally {
      await held.end();
    }
  }, 30_000);

  it('fails the read, never returns the change, when its commit stays invisible too long', async () => {
    const c = capture();
    const start = await c.currentPosition(T, ITEMS);
    await c.startCapture(T, ITEMS);
    const was = limits.visibleMs;
    limits.visibleMs = 500;
    const held = await heldInsert(820, 3000);
    try {
      await expect(c.readChanges(T, ITEMS, start, 100)).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    } finally {
      limits.visibleMs = was;
      await held.end();
    }
    // Once visible, the next read returns it.
    expect(ops((await c.readChanges(T, ITEMS, start, 100)).changes)).toEqual(['insert:820']);
  }, 30_000);

  it('stops with CAPTURE_UNAVAILABLE, never skips, at a transaction zongji cannot decode', async () => {
    await app.query('CREATE TABLE drift (id INT PRIMARY KEY, v VARCHAR(20), w VARCHAR(20))');
    const D = { name: 'drift' };
    const DRIFT: TableSpec = { ...spec('drift'), columns: ['id', 'v', 'w'] };
    const c = capture();
    const start = await c.currentPosition(D, DRIFT);
    await app.query("INSERT INTO drift VALUES (1, 'a', 'b')");
    // zongji reads column names from INFORMATION_SCHEMA when it meets the table map: the
    // 3-column row above no longer matches the table, and zongji drops its rows.
    await app.query('ALTER TABLE drift DROP COLUMN w');
    await app.query("INSERT INTO drift VALUES (2, 'c')");
    const outcomes: string[] = [];
    for (let i = 0; i < 2; i++) {
      try {
        outcomes.push(ops((await c.readChanges(D, DRIFT, start, 100)).changes).join(' '));
      } catch (err) {
        outcomes.push(err instanceof TandemError ? err.code : String(err));
        if (err instanceof TandemError) expect(err.fix).toContain('binlog_row_metadata = FULL');
      }
    }
    expect(outcomes).toEqual(['CAPTURE_UNAVAILABLE', 'CAPTURE_UNAVAILABLE']);
    // Another table is not held up once the broken one is no longer captured.
    await c.removeCapture(D, DRIFT);
    await app.query("INSERT INTO items VALUES (830, 'after')");
    expect(ops((await drain(c, start)).changes)).toContain('insert:830');
  }, 60_000);

  it('refuses a compressed binlog (log_bin_compress) with the my.cnf line', async () => {
    await asRoot('SET GLOBAL log_bin_compress = ON');
    try {
      const status = await capture().captureStatus(T, ITEMS);
      expect(status.installed).toBe(false);
      expect(status.detail).toContain('log_bin_compress = OFF');
    } finally {
      await asRoot('SET GLOBAL log_bin_compress = OFF');
    }
  });

  it("runs its SQL in UTC and tandem's sql_mode, whatever the server's (NO_BACKSLASH_ESCAPES)", async () => {
    const [globals] = (await asRoot('SELECT @@GLOBAL.sql_mode AS m, @@GLOBAL.time_zone AS tz')) as {
      m: string;
      tz: string;
    }[];
    await app.query('CREATE TABLE quoted (id VARCHAR(40) PRIMARY KEY, v VARCHAR(20))');
    await asRoot(
      "SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES'), time_zone = '+05:00'",
    );
    // A user of its own: a capture stream (and its SQL connection) of its own, opened under these globals.
    await asRoot("CREATE USER IF NOT EXISTS esc@'%' IDENTIFIED BY 'pw'");
    await asRoot("GRANT ALL PRIVILEGES ON *.* TO esc@'%'");
    const escUrl = `mysql://esc:pw@127.0.0.1:${server.port}/${DB}`;
    const sql = new CaptureSql(escUrl);
    const c = new MysqlCapture({ url: escUrl, database: DB });
    captures.push(c);
    const Q = { name: 'quoted' };
    const QUOTED: TableSpec = { ...spec('quoted'), kinds: { id: 'text', v: 'text' } };
    const key = "a'b\\c";
    try {
      // The MySQL visibility path sends key values in its SQL, escaped by mysql2.
      await sql.waitUnlocked(DB, 'quoted', 'id', 'text', [key, "x') OR 1=1 -- "]);
      const [session] = await sql.rows<{ m: string; tz: string }>(
        'SELECT @@SESSION.sql_mode AS m, @@SESSION.time_zone AS tz',
      );
      expect(session!.tz).toBe('+00:00');
      expect(session!.m).not.toContain('NO_BACKSLASH_ESCAPES');
      const start = await c.currentPosition(Q, QUOTED);
      await app.query('INSERT INTO quoted VALUES (?, ?)', [key, 'v']);
      expect(ops((await drain(c, start, 100, Q, QUOTED)).changes)).toEqual([`insert:${key}`]);
    } finally {
      await sql.close();
      await asRoot(`SET GLOBAL sql_mode = '${globals!.m}', time_zone = '${globals!.tz}'`);
    }
  }, 30_000);

  it('says what is missing when the server cannot be captured', async () => {
    const root = await mysql.createConnection(server.url);
    await root.query("CREATE USER IF NOT EXISTS plain@'%' IDENTIFIED BY 'pw'");
    await root.query(`GRANT SELECT ON ${DB}.* TO plain@'%'`);
    const c = new MysqlCapture({ url: `mysql://plain:pw@127.0.0.1:${server.port}/${DB}`, database: DB });
    captures.push(c);
    const status = await c.captureStatus(T, ITEMS);
    expect(status.installed).toBe(false);
    expect(status.detail).toContain('GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.*');
    await expect(c.installCapture(T, ITEMS)).rejects.toMatchObject({ code: 'CAPTURE_UNAVAILABLE' });
    await root.end();
  });
});

// ------------------------------------------------------------ MySQL event sequences (no MySQL server here)

/** A zongji-shaped event (the fields binlog-stream.ts reads); `size` excludes the header and checksum. */
function ev(
  type: string,
  nextPosition: number,
  size: number,
  fields: Record<string, unknown> = {},
): AnyEvent {
  return { getTypeName: () => type, nextPosition, size, timestamp: 1_700_000_000_000, ...fields };
}

/** `size` of an event that starts at `from` and ends at `to`, checksum on. */
const span = (from: number, to: number) => to - from - 19 - 4;

function mysqlStream(): BinlogStream {
  // Never connects: events are fed by hand.
  const s = new BinlogStream('mysql://root@127.0.0.1:1/db', 'test');
  s.watch('db', 't', 'id', 'integer', '0000000003:000000000004:0000000000');
  s.feedEvent(ev('Rotate', 0, 20, { binlogName: 'binlog.000003', position: 4 }));
  s.feedEvent(ev('Format', 126, span(4, 126)));
  s.feedEvent(ev('PreviousGtids', 197, span(126, 197)));
  return s;
}

const tableMap = {
  7: { parentSchema: 'db', tableName: 't', columnSchemas: [{ COLUMN_NAME: 'id', COLUMN_TYPE: 'int(11)' }] },
};

describe('binlog event handling, MySQL sequences (synthetic events, no server)', () => {
  it('ends a DDL group (GTID, then one Query that is not BEGIN) at its Query, on an idle server', () => {
    const s = mysqlStream();
    s.feedEvent(ev('Gtid', 276, span(197, 276), { gtid: 'uuid:1' }));
    s.feedEvent(
      ev('Query', 400, span(276, 400), { query: 'CREATE TABLE t2 (id INT PRIMARY KEY)', schema: 'db' }),
    );
    // Nothing follows but heartbeats: the group must be over, so the read position moves.
    s.feedEvent(ev('Heartbeat', 400, 20, { binlogName: 'binlog.000003' }));
    expect(s.readTo).toEqual({ file: 3, offset: 400 });
    expect(s.failed).toBeNull();
  });

  it('keeps a BEGIN … COMMIT and an XA START … XA PREPARE group open until its end', () => {
    const s = mysqlStream();
    s.feedEvent(ev('AnonymousGtid', 276, span(197, 276)));
    s.feedEvent(ev('Query', 350, span(276, 350), { query: 'BEGIN' }));
    s.feedEvent(ev('TableMap', 400, span(350, 400), { tableId: 7 }));
    s.feedEvent(ev('WriteRows', 450, span(400, 450), { tableId: 7, tableMap, rows: [{ id: 5 }] }));
    s.feedEvent(ev('Heartbeat', 450, 20, { binlogName: 'binlog.000003' }));
    // Still inside: a heartbeat does not move the read point into a transaction.
    expect(s.readTo).toEqual({ file: 3, offset: 197 });
    s.feedEvent(ev('Xid', 481, span(450, 481)));
    expect(s.readTo).toEqual({ file: 3, offset: 481 });
    s.feedEvent(ev('Gtid', 560, span(481, 560), { gtid: 'uuid:2' }));
    s.feedEvent(ev('Query', 620, span(560, 620), { query: "XA START X'01',X'',1" }));
    s.feedEvent(ev('TableMap', 670, span(620, 670), { tableId: 7 }));
    s.feedEvent(ev('WriteRows', 720, span(670, 720), { tableId: 7, tableMap, rows: [{ id: 6 }] }));
    s.feedEvent(ev('Query', 780, span(720, 780), { query: "XA END X'01',X'',1" }));
    expect(s.readTo).toEqual({ file: 3, offset: 481 });
    s.feedEvent(ev('XaPrepare', 830, span(780, 830)));
    expect(s.readTo).toEqual({ file: 3, offset: 830 });
    const feed = s.feeds.get('db.t')!;
    const events = feed.entries.flatMap((e) => ('event' in e ? [`${e.event.op}:${e.event.key}`] : []));
    expect(events).toEqual(['insert:5', 'insert:6']);
    expect(s.failed).toBeNull();
  });

  it('stops with CAPTURE_UNAVAILABLE at a compressed transaction (TransactionPayload), never passing it', () => {
    const s = mysqlStream();
    s.feedEvent(ev('Gtid', 276, span(197, 276), { gtid: 'uuid:1' }));
    s.feedEvent(ev('TransactionPayload', 900, span(276, 900)));
    s.feedEvent(ev('Heartbeat', 900, 20, { binlogName: 'binlog.000003' }));
    expect(s.failed).toMatchObject({ code: 'CAPTURE_UNAVAILABLE' });
    expect((s.failed as TandemError).fix).toContain('binlog_transaction_compression = OFF');
    expect(s.readTo).toEqual({ file: 3, offset: 197 });
  });
});
