/**
 * SQLite connector: the shared conformance suite on real database files, plus
 * what only SQLite has (trigger capture details, affinity, URL forms).
 *
 * The "application" is a second better-sqlite3 connection to the same file,
 * as another process would be: its changes must be captured, ours must not.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TableSpec, WriteOp, WriteResult } from '../../src/connectors/connector.js';
import { SqliteConnector } from '../../src/connectors/sqlite/connector.js';
import { sqliteKind } from '../../src/connectors/sqlite/types.js';
import { TandemError } from '../../src/core/errors.js';
import { connectorConformance } from './conformance.js';

interface Fixture {
  dir: string;
  file: string;
  connector: SqliteConnector;
  app: Database.Database;
  exec(sql: string): Promise<void>;
  cleanup(): Promise<void>;
  storedReceipts(): Promise<string[]>;
}

function openFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-sqlite-'));
  const file = join(dir, 'test.db');
  const connector = SqliteConnector.open(`sqlite:${file}`, { create: true });
  const app = new Database(file);
  app.pragma('busy_timeout = 5000');
  return {
    dir,
    file,
    connector,
    app,
    exec: async (sql) => {
      app.exec(sql);
    },
    cleanup: async () => {
      await connector.close();
      app.close();
      rmSync(dir, { recursive: true, force: true });
    },
    storedReceipts: async () => {
      const made = app.prepare("SELECT 1 FROM sqlite_master WHERE name = '_tandem_created'").get();
      if (!made) return [];
      const rows = app.prepare('SELECT token FROM _tandem_created ORDER BY token').all() as {
        token: string;
      }[];
      return rows.map((r) => r.token);
    },
  };
}

connectorConformance('sqlite', {
  open: async () => openFixture(),
  skips: {
    'round-trip: decimal with 29 significant digits':
      'a SQLite DECIMAL/NUMERIC column has NUMERIC affinity and keeps ~15 significant digits; ' +
      'the connector refuses such a value (the row is quarantined) rather than store a different one',
  },
});

/** A spec for every column of `table`, kinds from introspection. */
async function specOf(c: SqliteConnector, table: string, key?: string, filter?: string): Promise<TableSpec> {
  const info = await c.introspect(table);
  if (!info) throw new Error(`no table ${table}`);
  const spec: TableSpec = {
    table,
    key: key ?? info.primaryKey[0]!,
    columns: info.columns.map((col) => col.name),
    kinds: Object.fromEntries(info.columns.map((col) => [col.name, col.kind])),
  };
  if (filter) spec.filter = filter;
  return spec;
}

describe('sqlite declared types', () => {
  it('maps declared types to kinds', () => {
    const cases: Record<string, string> = {
      INTEGER: 'integer',
      int: 'integer',
      BIGINT: 'integer',
      'UNSIGNED BIG INT': 'integer',
      INT8: 'integer',
      REAL: 'float',
      FLOAT: 'float',
      'DOUBLE PRECISION': 'float',
      NUMERIC: 'decimal',
      'DECIMAL(10,2)': 'decimal',
      'decimal( 38, 9 )': 'decimal',
      BOOLEAN: 'boolean',
      bool: 'boolean',
      DATE: 'date',
      DATETIME: 'timestamp',
      TIMESTAMP: 'timestamp',
      TIME: 'time',
      JSON: 'json',
      JSONB: 'json',
      BLOB: 'bytes',
      TEXT: 'text',
      'VARCHAR(255)': 'text',
      'CHARACTER(20)': 'text',
      CLOB: 'text',
      '': 'text',
      WHATEVER: 'text',
    };
    for (const [declared, kind] of Object.entries(cases))
      expect([declared, sqliteKind(declared)]).toEqual([declared, kind]);
  });
});

describe('sqlite connector', () => {
  let f: Fixture;
  beforeEach(() => {
    f = openFixture();
  });
  afterEach(async () => {
    await f.cleanup();
  });

  describe('open', () => {
    it('refuses a missing file with CONNECT_FAILED and a fix', () => {
      const missing = join(f.dir, 'nope', 'missing.db');
      let error: unknown;
      try {
        SqliteConnector.open(`sqlite:${missing}`);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(TandemError);
      expect((error as TandemError).code).toBe('CONNECT_FAILED');
      expect((error as TandemError).message).toContain(missing);
      expect((error as TandemError).fix).toBeTruthy();
      expect(existsSync(missing)).toBe(false);
    });

    it('creates the file and its directory with { create: true }', async () => {
      const file = join(f.dir, 'sub', 'new.db');
      const c = SqliteConnector.open(`sqlite://${file}`, { create: true });
      expect(existsSync(file)).toBe(true);
      expect(c.description).toBe(`sqlite:${file}`);
      await c.close();
    });

    it('opens sqlite::memory:', async () => {
      const c = SqliteConnector.open('sqlite::memory:');
      expect(await c.introspect('anything')).toBeNull();
      await c.close();
    });

    it('reports a file that is not a database', () => {
      const junk = join(f.dir, 'junk.db');
      writeFileSync(junk, 'this is not a database, just some text that is long enough to have a header');
      expect(() => SqliteConnector.open(`sqlite:${junk}`)).toThrow(/CONNECT_FAILED|not a database/);
      try {
        SqliteConnector.open(`sqlite:${junk}`);
      } catch (err) {
        expect((err as TandemError).code).toBe('CONNECT_FAILED');
      }
    });

    it('refuses a URL without a file', () => {
      expect(() => SqliteConnector.open('sqlite:')).toThrow(/names no file/);
    });

    it('refuses a URL of another system', () => {
      expect(() => SqliteConnector.open('postgres://x@y/z')).toThrow(TandemError);
    });

    it('puts the database in WAL mode', () => {
      expect(f.app.pragma('journal_mode', { simple: true })).toBe('wal');
    });
  });

  describe('introspection', () => {
    it('reports [] as the primary key of a rowid table without one', async () => {
      f.app.exec('CREATE TABLE plain (a TEXT, b INTEGER)');
      const info = await f.connector.introspect('plain');
      expect(info?.primaryKey).toEqual([]);
    });

    it('sees NOCASE from the column or the index, and an index that overrides it', async () => {
      f.app.exec(
        'CREATE TABLE ci (id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE, b TEXT, c TEXT COLLATE NOCASE)',
      );
      f.app.exec('CREATE UNIQUE INDEX ci_a ON ci (a)');
      f.app.exec('CREATE UNIQUE INDEX ci_b ON ci (b COLLATE NOCASE)');
      f.app.exec('CREATE UNIQUE INDEX ci_c ON ci (c COLLATE BINARY)');
      f.app.exec('CREATE UNIQUE INDEX ci_expr ON ci (lower(b))');
      f.app.exec('CREATE UNIQUE INDEX ci_partial ON ci (b) WHERE b IS NOT NULL');
      const info = await f.connector.introspect('ci');
      const byName = Object.fromEntries(info!.uniqueIndexes.map((ix) => [ix.name, ix.caseInsensitive]));
      expect(byName).toEqual({ ci_a: true, ci_b: true, ci_c: false });
    });

    it('accepts main.x as a table name', async () => {
      f.app.exec(
        "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO things VALUES (1, 'a')",
      );
      const info = await f.connector.introspect('main.things');
      expect(info?.name).toBe('main.things');
      const spec = await specOf(f.connector, 'main.things');
      expect((await f.connector.readByKeys(spec, ['1']))[0]?.values.name).toBe('a');
      await f.connector.installCapture(spec);
      const start = await f.connector.currentPosition(spec);
      f.app.exec("INSERT INTO things VALUES (2, 'b')");
      expect((await f.connector.readChanges(spec, start, 10)).changes.map((e) => e.key)).toEqual(['2']);
    });
  });

  describe('values', () => {
    it('reads text with no zone as UTC and converts offsets', async () => {
      f.app.exec('CREATE TABLE ts (id INTEGER PRIMARY KEY, at DATETIME)');
      f.app.exec("INSERT INTO ts VALUES (1, '2024-01-02 03:04:05'), (2, '2024-01-02T05:04:05.500+02:00')");
      const rows = await f.connector.scan(await specOf(f.connector, 'ts'), null, 10);
      expect(rows.map((r) => r.values.at)).toEqual(['2024-01-02T03:04:05Z', '2024-01-02T03:04:05.5Z']);
    });

    it('keeps a stored value that does not fit its kind as its own text', async () => {
      f.app.exec(
        'CREATE TABLE odd (id INTEGER PRIMARY KEY, n INTEGER, at DATETIME, b BOOLEAN, j JSON, d DATE)',
      );
      f.app.exec("INSERT INTO odd VALUES (1, 'abc', 1700000000, 2, 'not json', '2024-01-02 10:00')");
      const spec = await specOf(f.connector, 'odd');
      const [row] = await f.connector.readByKeys(spec, ['1']);
      expect(row?.values).toEqual({
        id: '1',
        n: 'abc',
        at: '1700000000',
        b: '2',
        j: 'not json',
        d: '2024-01-02 10:00',
      });
      // Writing what was read stores the same thing again.
      await f.connector.write(spec, [{ op: 'update', ref: 1, key: '1', values: row!.values }]);
      expect((await f.connector.readByKeys(spec, ['1']))[0]?.values).toEqual(row!.values);
    });

    it('stores booleans as 1/0', async () => {
      f.app.exec('CREATE TABLE flags (id INTEGER PRIMARY KEY, on_ BOOLEAN)');
      const spec = await specOf(f.connector, 'flags');
      await f.connector.write(spec, [
        { op: 'insert', ref: 1, values: { id: '1', on_: true } },
        { op: 'insert', ref: 2, values: { id: '2', on_: false } },
      ]);
      expect(f.app.prepare('SELECT on_ FROM flags ORDER BY id').pluck().all()).toEqual([1, 0]);
    });

    it('refuses a decimal or integer SQLite cannot keep exactly, and lands the rest', async () => {
      f.app.exec('CREATE TABLE money (id INTEGER PRIMARY KEY, amount DECIMAL(38,9), n INTEGER)');
      const spec = await specOf(f.connector, 'money');
      const results = await f.connector.write(spec, [
        { op: 'insert', ref: 1, values: { amount: '12345678901234567890.123456789' } },
        { op: 'insert', ref: 2, values: { amount: '19.99' } },
        { op: 'insert', ref: 3, values: { n: '99999999999999999999' } },
      ]);
      expect(results.map((r) => r.ok)).toEqual([false, true, false]);
      expect((results[0] as { message: string }).message).toMatch(/amount.*significant digits.*TEXT/);
      expect((results[2] as { message: string }).message).toMatch(/n: integer .* 64-bit/);
      expect(await f.connector.count(spec)).toBe(1);
    });

    it('keeps exact decimals in a TEXT column only as text (kind text)', async () => {
      f.app.exec('CREATE TABLE exact (id INTEGER PRIMARY KEY, amount TEXT)');
      const spec = await specOf(f.connector, 'exact');
      const [r] = await f.connector.write(spec, [
        { op: 'insert', ref: 1, values: { amount: '12345678901234567890.123456789' } },
      ]);
      expect((await f.connector.readByKeys(spec, [(r as { key: string }).key]))[0]?.values.amount).toBe(
        '12345678901234567890.123456789',
      );
    });
  });

  describe('writes', () => {
    it('a row whose trigger rolls back the whole transaction fails alone; the others still land', async () => {
      f.app.exec('CREATE TABLE guarded (id INTEGER PRIMARY KEY, name TEXT)');
      f.app.exec(
        "CREATE TRIGGER guard BEFORE INSERT ON guarded WHEN NEW.name = 'forbidden' BEGIN SELECT RAISE(ROLLBACK, 'forbidden name'); END",
      );
      const spec = await specOf(f.connector, 'guarded');
      const results = await f.connector.write(spec, [
        { op: 'insert', ref: 1, values: { name: 'a' } },
        { op: 'insert', ref: 2, values: { name: 'forbidden' } },
        { op: 'insert', ref: 3, values: { name: 'c' } },
      ]);
      expect(results.map((r) => r.ok)).toEqual([true, false, true]);
      expect((results[1] as { message: string }).message).toBe('forbidden name');
      expect(f.app.prepare('SELECT name FROM guarded ORDER BY id').pluck().all()).toEqual(['a', 'c']);
    });

    it('leaves the writer flag at 0 after a write, and other connections never see 1', async () => {
      f.app.exec('CREATE TABLE w (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
      const spec = await specOf(f.connector, 'w');
      await f.connector.installCapture(spec);
      await f.connector.write(spec, [
        { op: 'insert', ref: 1, values: { name: 'a' } },
        { op: 'insert', ref: 2, values: { name: null } },
      ]);
      expect(f.app.prepare('SELECT active FROM _tandem_writer').pluck().all()).toEqual([0]);
    });

    it('fails the whole batch, writing nothing, when a column does not exist (schema drift)', async () => {
      f.app.exec('CREATE TABLE drift (id INTEGER PRIMARY KEY, name TEXT)');
      const spec = await specOf(f.connector, 'drift');
      const write = f.connector.write(spec, [
        { op: 'insert', ref: 1, values: { name: 'a' } },
        { op: 'insert', ref: 2, values: { gone: 'b' } },
      ]);
      await expect(write).rejects.toMatchObject({ code: 'SCHEMA_DRIFT' });
      expect(await f.connector.count(spec)).toBe(0);
    });

    it('reports the new key when an update changes the key', async () => {
      f.app.exec("CREATE TABLE rk (code TEXT PRIMARY KEY, name TEXT); INSERT INTO rk VALUES ('a', 'x')");
      const spec = await specOf(f.connector, 'rk');
      const [r] = await f.connector.write(spec, [{ op: 'update', ref: 1, key: 'a', values: { code: 'b' } }]);
      expect(r).toEqual({ ref: 1, ok: true, key: 'b' });
    });
  });

  describe('multi-row inserts (runs of inserts into a rowid table)', () => {
    /** Each landed op's key holds the name it was written with. */
    const expectKeysHoldTheirRows = (table: string, names: (string | null)[], results: WriteResult[]) => {
      const byKey = f.app.prepare(`SELECT name FROM ${table} WHERE id = ?`).pluck();
      results.forEach((r, i) => {
        if (r.ok) expect(byKey.get(Number(r.key))).toBe(names[i]);
      });
    };
    const inserts = (names: (string | null)[]): WriteOp[] =>
      names.map((name, i) => ({ op: 'insert', ref: i + 1, values: { name } }));

    it('gives every row of a long run the key SQLite would have, after the rows already there', async () => {
      f.app.exec("CREATE TABLE many (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO many VALUES (7, 'x')");
      const spec = await specOf(f.connector, 'many');
      const names = Array.from({ length: 123 }, (_, i) => `n${i}`);
      const results = await f.connector.write(spec, inserts(names));
      expect(results.map((r) => r.ok && r.key)).toEqual(names.map((_, i) => String(8 + i)));
      expectKeysHoldTheirRows('many', names, results);
      // The next row the application inserts follows on, as if tandem's had gone in one by one.
      expect(f.app.prepare("INSERT INTO many (name) VALUES ('app') RETURNING id").pluck().get()).toBe(131);
    });

    it('never reuses a rowid of an AUTOINCREMENT table, and moves its sqlite_sequence on', async () => {
      f.app.exec(
        'CREATE TABLE auto (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);' +
          "INSERT INTO auto (name) VALUES ('a'), ('b'), ('c'), ('d'); DELETE FROM auto WHERE id > 2",
      );
      const spec = await specOf(f.connector, 'auto');
      const results = await f.connector.write(spec, inserts(['e', 'f', 'g']));
      expect(results.map((r) => r.ok && r.key)).toEqual(['5', '6', '7']);
      expect(f.app.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'auto'").pluck().get()).toBe(7);
      expectKeysHoldTheirRows('auto', ['e', 'f', 'g'], results);
    });

    it("a row refused inside a run fails alone with SQLite's message; the others land under their keys", async () => {
      f.app.exec('CREATE TABLE strict_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
      const spec = await specOf(f.connector, 'strict_names');
      const names: (string | null)[] = Array.from({ length: 60 }, (_, i) => (i === 29 ? null : `n${i}`));
      const results = await f.connector.write(spec, inserts(names));
      expect(results.filter((r) => !r.ok)).toEqual([
        { ref: 30, ok: false, message: expect.stringContaining('NOT NULL constraint failed') },
      ]);
      expect(f.app.prepare('SELECT count(*) FROM strict_names').pluck().get()).toBe(59);
      expectKeysHoldTheirRows('strict_names', names, results);
    });

    it('a row a trigger silently skips (RAISE(IGNORE)) is reported not written; the others keep their keys', async () => {
      f.app.exec(
        'CREATE TABLE quiet (id INTEGER PRIMARY KEY, name TEXT);' +
          "CREATE TRIGGER quiet_skip BEFORE INSERT ON quiet WHEN NEW.name = 'skip' BEGIN SELECT RAISE(IGNORE); END",
      );
      const spec = await specOf(f.connector, 'quiet');
      const names = ['a', 'b', 'skip', 'd', 'e'];
      const results = await f.connector.write(spec, inserts(names));
      expect(results.map((r) => r.ok)).toEqual([true, true, false, true, true]);
      expect(f.app.prepare('SELECT name FROM quiet ORDER BY id').pluck().all()).toEqual(['a', 'b', 'd', 'e']);
      expectKeysHoldTheirRows('quiet', names, results);
    });
  });

  describe('trigger capture', () => {
    const triggers = (table: string): string[] =>
      f.app
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? ORDER BY name")
        .pluck()
        .all(table) as string[];

    it('installs three triggers, idempotently', async () => {
      f.app.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)');
      const spec = await specOf(f.connector, 'items');
      await f.connector.installCapture(spec);
      await f.connector.installCapture(spec);
      expect(triggers('items')).toEqual(['_tandem_items_del', '_tandem_items_ins', '_tandem_items_upd']);
      expect(await f.connector.captureStatus(spec)).toMatchObject({ installed: true, method: 'triggers' });
      const start = await f.connector.currentPosition(spec);
      f.app.exec("INSERT INTO items (name) VALUES ('a')");
      const { changes } = await f.connector.readChanges(spec, start, 10);
      expect(changes.map((e) => [e.op, e.key])).toEqual([['insert', '1']]);
    });

    it('captures a separate connection, including a key change as delete + insert', async () => {
      f.app.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)');
      const spec = await specOf(f.connector, 'items');
      await f.connector.installCapture(spec);
      const start = await f.connector.currentPosition(spec);
      const other = new Database(f.file);
      other.exec("INSERT INTO items (id, name) VALUES (42, 'a'), (9007199254740993, 'big')");
      other.exec('UPDATE items SET id = 43 WHERE id = 42');
      other.exec("UPDATE items SET name = 'z' WHERE id = 43");
      other.close();
      const { changes } = await f.connector.readChanges(spec, start, 100);
      expect(changes.map((e) => [e.op, e.key])).toEqual([
        ['insert', '42'],
        ['insert', '9007199254740993'],
        ['delete', '42'],
        ['insert', '43'],
        ['update', '43'],
      ]);
      // Change keys are the same text readByKeys and scan report.
      const read = await f.connector.readByKeys(
        spec,
        changes.map((e) => e.key),
      );
      expect(read.map((r) => r.key).sort()).toEqual(['43', '9007199254740993']);
      expect(changes.map((e) => e.position)).toEqual(changes.map((e) => e.position).sort());
      expect(changes[0]!.position).toMatch(/^\d{20}$/);
    });

    it('reinstalls the triggers for a new key column', async () => {
      f.app.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT UNIQUE, name TEXT)');
      const byId = await specOf(f.connector, 'items');
      const byCode = await specOf(f.connector, 'items', 'code');
      await f.connector.installCapture(byId);
      expect((await f.connector.captureStatus(byCode)).installed).toBe(false);
      await f.connector.installCapture(byCode);
      expect((await f.connector.captureStatus(byCode)).installed).toBe(true);
      const start = await f.connector.currentPosition(byCode);
      f.app.exec("INSERT INTO items (code, name) VALUES ('SKU-1', 'a')");
      const { changes } = await f.connector.readChanges(byCode, start, 10);
      expect(changes.map((e) => e.key)).toEqual(['SKU-1']);
    });

    it('skips changes of rows without a key but moves the position past them', async () => {
      f.app.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT UNIQUE)');
      const spec = await specOf(f.connector, 'items', 'code');
      await f.connector.installCapture(spec);
      const start = await f.connector.currentPosition(spec);
      f.app.exec('INSERT INTO items (code) VALUES (NULL)');
      const batch = await f.connector.readChanges(spec, start, 10);
      expect(batch.changes).toEqual([]);
      expect(batch.position > start).toBe(true);
    });

    it('keeps changes of other tables apart', async () => {
      f.app.exec('CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY)');
      const sa = await specOf(f.connector, 'a');
      const sb = await specOf(f.connector, 'b');
      await f.connector.installCapture(sa);
      await f.connector.installCapture(sb);
      f.app.exec('INSERT INTO a VALUES (1); INSERT INTO b VALUES (2); INSERT INTO a VALUES (3)');
      const zero = '0'.repeat(20);
      expect((await f.connector.readChanges(sa, zero, 10)).changes.map((e) => e.key)).toEqual(['1', '3']);
      expect((await f.connector.readChanges(sb, zero, 10)).changes.map((e) => e.key)).toEqual(['2']);
      await f.connector.pruneChanges(sa, await f.connector.currentPosition(sa));
      expect((await f.connector.readChanges(sb, zero, 10)).changes.map((e) => e.key)).toEqual(['2']);
    });

    it('teardown drops the shared tables only when no tandem trigger is left', async () => {
      f.app.exec('CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY)');
      const sa = await specOf(f.connector, 'a');
      const sb = await specOf(f.connector, 'b');
      await f.connector.installCapture(sa);
      await f.connector.installCapture(sb);
      await f.connector.write(sa, [{ op: 'insert', ref: 1, values: {} }], 't');
      const tandemTables = (): string[] =>
        f.app
          .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_tandem\\_%' ESCAPE '\\' ORDER BY name",
          )
          .pluck()
          .all() as string[];
      await f.connector.removeCapture(sa);
      await f.connector.teardown();
      expect(tandemTables()).toEqual(['_tandem_changes', '_tandem_created', '_tandem_writer']);
      await f.connector.removeCapture(sb);
      await f.connector.teardown();
      expect(tandemTables()).toEqual([]);
      expect(triggers('a')).toEqual([]);
      expect(await f.connector.currentPosition(sa)).toBe('0'.repeat(20));
    });
  });
});
