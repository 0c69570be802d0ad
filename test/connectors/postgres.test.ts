/**
 * PostgreSQL connector: the shared conformance suite against the private
 * PostgreSQL 15 the tests start (scripts/pg-server.mjs), one fresh
 * database per test, plus what only PostgreSQL has.
 *
 * The "application" is a separate node-postgres connection, as another
 * process would be.
 */
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TableSpec } from '../../src/connectors/connector.js';
import { PostgresConnector } from '../../src/connectors/postgres/connector.js';
import { limits } from '../../src/connectors/postgres/stream.js';
import { TandemError } from '../../src/core/errors.js';
import { createPgDatabase, storedReceipts } from '../support/pg-database.js';
import { connectorConformance } from './conformance.js';

interface Fixture {
  /** The test's own database. */
  name: string;
  url: string;
  connector: PostgresConnector;
  app: pg.Client;
  exec(sql: string): Promise<void>;
  cleanup(): Promise<void>;
  storedReceipts(): Promise<string[]>;
}

/** A database of its own (test/support/pg-database.ts). */
async function openFixture(): Promise<Fixture> {
  const db = await createPgDatabase();
  const connector = PostgresConnector.open(db.url);
  return {
    name: db.name,
    url: db.url,
    connector,
    app: db.app,
    exec: async (sql) => {
      await db.app.query(sql);
    },
    cleanup: async () => {
      await connector.close();
      await db.drop();
    },
    storedReceipts: () => storedReceipts(db.app),
  };
}

connectorConformance('postgres', { open: openFixture });

async function specOf(c: PostgresConnector, table: string, key?: string): Promise<TableSpec> {
  const info = await c.introspect(table);
  if (!info) throw new Error(`no table ${table}`);
  return {
    table,
    key: key ?? info.primaryKey[0]!,
    columns: info.columns.map((col) => col.name),
    kinds: Object.fromEntries(info.columns.map((col) => [col.name, col.kind])),
  };
}

describe('postgres connector', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await openFixture();
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('refuses an unreachable server with CONNECT_FAILED, a fix, and no password in the message', async () => {
    const c = PostgresConnector.open('postgres://someone:secret@127.0.0.1:1/nowhere');
    const err = await c.introspect('t').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TandemError);
    expect((err as TandemError).code).toBe('CONNECT_FAILED');
    expect((err as TandemError).message).not.toContain('secret');
    expect((err as TandemError).fix).toMatch(/pg_hba/);
    expect(c.description).toBe('postgres://someone:***@127.0.0.1:1/nowhere');
    await c.close();
  });

  it('maps catalog types to kinds, domains by their base type, arrays and enums as text', async () => {
    await f.exec("CREATE TYPE mood AS ENUM ('sad', 'happy')");
    await f.exec('CREATE DOMAIN positive AS numeric(10,2) CHECK (VALUE > 0)');
    await f.exec(
      `CREATE TABLE k (id int PRIMARY KEY, a smallint, b real, c varchar(10), d char(3), e uuid, g mood,
        h positive, i int[], j timestamp, l timestamptz, m timetz, n json, o interval)`,
    );
    const info = await f.connector.introspect('k');
    expect(Object.fromEntries(info!.columns.map((c) => [c.name, c.kind]))).toEqual({
      id: 'integer',
      a: 'integer',
      b: 'float',
      c: 'text',
      d: 'text',
      e: 'text',
      g: 'text',
      h: 'decimal',
      i: 'text',
      j: 'timestamp',
      l: 'timestamp',
      m: 'text',
      n: 'json',
      o: 'text',
    });
    expect(info!.columns.find((c) => c.name === 'c')?.nativeType).toBe('character varying(10)');
  });

  it('finds a quoted mixed-case table, a schema-qualified one, and one with a dot in its name', async () => {
    await f.exec('CREATE TABLE "Customers" (id int PRIMARY KEY, name text)');
    await f.exec('CREATE SCHEMA sales');
    await f.exec('CREATE TABLE sales.orders (id int PRIMARY KEY)');
    await f.exec('CREATE TABLE "odd.name" (id int PRIMARY KEY)');
    expect((await f.connector.introspect('Customers'))?.primaryKey).toEqual(['id']);
    expect(await f.connector.introspect('customers')).toBeNull();
    expect((await f.connector.introspect('sales.orders'))?.name).toBe('sales.orders');
    expect((await f.connector.introspect('odd.name'))?.primaryKey).toEqual(['id']);
  });

  it('sees a case-insensitive unique index through a nondeterministic collation', async () => {
    await f.exec("CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)");
    await f.exec('CREATE TABLE u (id int PRIMARY KEY, a text UNIQUE, b text COLLATE ci UNIQUE)');
    const info = await f.connector.introspect('u');
    const ci = Object.fromEntries(info!.uniqueIndexes.map((ix) => [ix.columns.join(), ix.caseInsensitive]));
    expect(ci).toEqual({ id: false, a: false, b: true });
  });

  it('reads timestamps in UTC whatever the server zone, and keeps exact numerics and int8', async () => {
    await f.exec(`ALTER DATABASE ${f.name} SET TimeZone = 'America/New_York'`);
    await f.exec('CREATE TABLE v (id bigint PRIMARY KEY, at timestamptz, n numeric, b bytea, arr int[])');
    await f.exec(
      "INSERT INTO v VALUES (9223372036854775807, '2024-01-02 03:04:05.5+02', 123456789012345678901234567890.000100, '\\x00ff', '{1,2,NULL}')",
    );
    const spec = await specOf(f.connector, 'v');
    const [row] = await f.connector.scan(spec, null, 10);
    expect(row).toEqual({
      key: '9223372036854775807',
      inScope: true,
      values: {
        id: '9223372036854775807',
        at: '2024-01-02T01:04:05.5Z',
        n: '123456789012345678901234567890.0001',
        b: '\\x00ff',
        arr: '{1,2,NULL}',
      },
    });
    // What was read, written back, is the same value.
    await f.connector.write(spec, [{ op: 'update', ref: 1, key: row!.key, values: row!.values }]);
    expect((await f.connector.readByKeys(spec, [row!.key]))[0]).toEqual(row);
  });

  it('matches an identity that is no number against an integer column as no match, not an error', async () => {
    await f.exec('CREATE TABLE x (id int PRIMARY KEY, ext bigint UNIQUE)');
    await f.exec('INSERT INTO x VALUES (1, 42)');
    const spec = await specOf(f.connector, 'x');
    expect(await f.connector.readByColumn(spec, 'ext', ['ABC-1', '42', '99999999999999999999'])).toHaveLength(
      1,
    );
    expect(await f.connector.readByKeys(spec, ['nope', '1'])).toHaveLength(1);
  });

  it('a row a trigger skips fails alone; the rows around it land with their keys', async () => {
    await f.exec('CREATE TABLE s (id serial PRIMARY KEY, name text)');
    await f.exec(
      `CREATE FUNCTION skip_x() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.name = 'x' THEN RETURN NULL; END IF; RETURN NEW; END $$`,
    );
    await f.exec('CREATE TRIGGER skip BEFORE INSERT ON s FOR EACH ROW EXECUTE FUNCTION skip_x()');
    const spec = await specOf(f.connector, 's');
    const results = await f.connector.write(spec, [
      { op: 'insert', ref: 1, values: { name: 'a' } },
      { op: 'insert', ref: 2, values: { name: 'x' } },
      { op: 'insert', ref: 3, values: { name: 'c' } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect((results[1] as { message: string }).message).toMatch(/no value in key column id/);
    const rows = await f.app.query('SELECT id, name FROM s ORDER BY id');
    expect(rows.rows.map((r) => [String(r.id), r.name])).toEqual([
      [(results[0] as { key: string }).key, 'a'],
      [(results[2] as { key: string }).key, 'c'],
    ]);
  });

  it('a connection that breaks while a batch waits to commit fails the write: nothing lands, and the next write works', async () => {
    await f.exec('CREATE TABLE w (id int PRIMARY KEY, name text)');
    const spec = await specOf(f.connector, 'w');
    const write = f.connector.write(
      spec,
      [{ op: 'insert', ref: 1, values: { id: '1', name: 'a' } }],
      undefined,
      {
        // While the engine saves the batch's intent, the server ends tandem's sessions.
        beforeCommit: async () => {
          await f.app.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
          );
          await new Promise((r) => setTimeout(r, 200));
        },
      },
    );
    await expect(write).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    expect((await f.app.query('SELECT count(*)::int AS n FROM w')).rows[0].n).toBe(0);
    const again = await f.connector.write(spec, [{ op: 'insert', ref: 1, values: { id: '2', name: 'b' } }]);
    expect(again.map((r) => r.ok)).toEqual([true]);
    expect((await f.app.query('SELECT id FROM w')).rows).toEqual([{ id: 2 }]);
  });

  it('reads ahead over more changes than it holds in memory, then from the start again', async () => {
    // As the delete guard's count does before a pass applies anything: nothing is saved meanwhile.
    limits.maxHeld = 500;
    try {
      await f.exec('CREATE TABLE big (id int PRIMARY KEY, name text)');
      const spec = await specOf(f.connector, 'big');
      await f.connector.installCapture(spec);
      const start = await f.connector.currentPosition(spec);
      await f.exec("INSERT INTO big SELECT i, 'n' FROM generate_series(1, 2000) i");
      const seen: string[] = [];
      let pos = start;
      for (;;) {
        const b = await f.connector.readChanges(spec, pos, 300);
        if (b.changes.length === 0) break;
        seen.push(...b.changes.map((c) => c.key));
        pos = b.position;
      }
      expect(seen).toHaveLength(2000);
      expect(new Set(seen).size).toBe(2000);
      const again = await f.connector.readChanges(spec, start, 300);
      expect(again.changes.map((c) => c.key)).toEqual(seen.slice(0, 300));
    } finally {
      limits.maxHeld = 200_000;
    }
  });

  it('says CAPTURE_UNAVAILABLE with the fix when the slot was dropped behind its back; installCapture makes it again', async () => {
    await f.exec('CREATE TABLE c (id int PRIMARY KEY, name text)');
    const spec = await specOf(f.connector, 'c');
    await f.connector.installCapture(spec);
    const start = await f.connector.currentPosition(spec);
    await f.exec(
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '${f.name}'`,
    );
    const err = await f.connector.readChanges(spec, start, 10).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CAPTURE_UNAVAILABLE' });
    expect((err as TandemError).fix).toMatch(/tandem reconcile/);
    expect((await f.connector.captureStatus(spec)).installed).toBe(false);
    await f.connector.installCapture(spec);
    const again = await f.connector.currentPosition(spec);
    await f.exec("INSERT INTO c VALUES (1, 'a')");
    for (let i = 0; i < 50; i++) {
      const { changes } = await f.connector.readChanges(spec, again, 10);
      if (changes.length > 0) {
        expect(changes.map((c) => [c.op, c.key])).toEqual([['insert', '1']]);
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the insert was not captured after installCapture made the slot again');
  });

  it('captures a key change as delete + insert, big keys exactly, and commit times from the server', async () => {
    await f.exec('CREATE TABLE kc (id bigint PRIMARY KEY, name text)');
    const spec = await specOf(f.connector, 'kc');
    await f.connector.installCapture(spec);
    const start = await f.connector.currentPosition(spec);
    const before = Date.now();
    await f.exec("INSERT INTO kc VALUES (42, 'a'), (9223372036854775807, 'big')");
    await f.exec('UPDATE kc SET id = 43 WHERE id = 42');
    await f.exec("UPDATE kc SET name = 'z' WHERE id = 43");
    await f.exec('DELETE FROM kc WHERE id = 9223372036854775807');
    let changes: Awaited<ReturnType<typeof f.connector.readChanges>>['changes'] = [];
    for (let i = 0; i < 100 && changes.length < 6; i++) {
      changes = (await f.connector.readChanges(spec, start, 100)).changes;
      if (changes.length < 6) await new Promise((r) => setTimeout(r, 20));
    }
    expect(changes.map((e) => [e.op, e.key])).toEqual([
      ['insert', '42'],
      ['insert', '9223372036854775807'],
      ['delete', '42'],
      ['insert', '43'],
      ['update', '43'],
      ['delete', '9223372036854775807'],
    ]);
    for (const e of changes) {
      expect(Date.parse(e.at)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(e.at)).toBeLessThanOrEqual(Date.now() + 1000);
    }
    expect(changes.map((e) => e.position)).toEqual(changes.map((e) => e.position).sort());
  });

  it('captureStatus (what validate shows) names a missing right and the statement that grants it', async () => {
    const role = `plain_${f.name}`;
    await f.exec(`CREATE ROLE ${role} LOGIN`);
    await f.exec('CREATE TABLE p (id int PRIMARY KEY)');
    const asRole = PostgresConnector.open(f.url.replace('//postgres@', `//${role}@`));
    try {
      const spec = await specOf(asRole, 'p');
      const noReplication = await asRole.captureStatus(spec).catch((e: unknown) => e);
      expect(noReplication).toMatchObject({ code: 'CAPTURE_UNAVAILABLE' });
      expect((noReplication as TandemError).fix).toContain(`ALTER ROLE "${role}" REPLICATION`);
      await f.exec(`ALTER ROLE ${role} REPLICATION`);
      const notOwner = await asRole.captureStatus(spec).catch((e: unknown) => e);
      expect((notOwner as TandemError).fix).toContain(`ALTER TABLE "public"."p" OWNER TO "${role}"`);
      await f.exec(`ALTER TABLE p OWNER TO ${role}`);
      await f.exec(`GRANT CREATE ON DATABASE ${f.name} TO ${role}`);
      const ok = await asRole.captureStatus(spec);
      expect(ok.installed).toBe(false);
      expect(ok.detail).toMatch(/recognised by their fingerprints/);
      // And with those rights, capture sets up and runs without a superuser.
      await asRole.installCapture(spec);
      expect((await asRole.captureStatus(spec)).installed).toBe(true);
    } finally {
      await asRole.close();
      await f.exec(`DROP OWNED BY ${role}`);
      await f.exec('DROP TABLE IF EXISTS p');
      await f.exec(`DROP ROLE ${role}`);
    }
  });

  it('refuses a value too long for varchar(n) with the server message, never cutting it; the rest land', async () => {
    await f.exec('CREATE TABLE vc (id serial PRIMARY KEY, code varchar(3), tags int[])');
    const spec = await specOf(f.connector, 'vc');
    const results = await f.connector.write(spec, [
      { op: 'insert', ref: 1, values: { code: 'abc', tags: '{1,2}' } },
      { op: 'insert', ref: 2, values: { code: 'abcd', tags: null } },
      { op: 'insert', ref: 3, values: { code: 'q\'"', tags: '{}' } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect((results[1] as { message: string }).message).toMatch(/too long for type character varying\(3\)/);
    const rows = await f.app.query('SELECT code, tags::text FROM vc ORDER BY id');
    expect(rows.rows).toEqual([
      { code: 'abc', tags: '{1,2}' },
      { code: 'q\'"', tags: '{}' },
    ]);
  });

  it('updates many rows in one go; a refused one fails alone, a missing key is fine', async () => {
    await f.exec('CREATE TABLE up (id int PRIMARY KEY, n int CHECK (n < 100), name text)');
    await f.exec("INSERT INTO up SELECT i, i, 'x' FROM generate_series(1, 5) i");
    const spec = await specOf(f.connector, 'up');
    const results = await f.connector.write(spec, [
      { op: 'update', ref: 1, key: '1', values: { n: '10', name: 'a' } },
      { op: 'update', ref: 2, key: '2', values: { n: '200', name: 'b' } },
      { op: 'update', ref: 3, key: '3', values: { n: '30', name: "c'd" } },
      { op: 'update', ref: 4, key: '99', values: { n: '1', name: 'gone' } },
      { op: 'update', ref: 5, key: '4', values: { name: null } },
    ]);
    expect(results.map((r) => [r.ref, r.ok])).toEqual([
      [1, true],
      [2, false],
      [3, true],
      [4, true],
      [5, true],
    ]);
    expect((results[1] as { message: string }).message).toMatch(/check constraint/);
    const rows = await f.app.query('SELECT id, n, name FROM up ORDER BY id');
    expect(rows.rows).toEqual([
      { id: 1, n: 10, name: 'a' },
      { id: 2, n: 2, name: 'x' },
      { id: 3, n: 30, name: "c'd" },
      { id: 4, n: 4, name: null },
      { id: 5, n: 5, name: 'x' },
    ]);
  });

  it('reads a backlog in pages and still sees what arrives between them', async () => {
    await f.exec('CREATE TABLE bl (id int PRIMARY KEY)');
    const spec = await specOf(f.connector, 'bl');
    await f.connector.installCapture(spec);
    const start = await f.connector.currentPosition(spec);
    for (const k of [1, 2, 3]) await f.exec(`INSERT INTO bl VALUES (${k})`);
    let first = await f.connector.readChanges(spec, start, 2);
    for (let i = 0; i < 100 && first.changes.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      first = await f.connector.readChanges(spec, start, 2);
    }
    expect(first.changes.map((c) => c.key)).toEqual(['1', '2']);
    await f.exec('INSERT INTO bl VALUES (4)');
    const keys: string[] = [];
    let pos = first.position;
    for (let i = 0; i < 100 && keys.length < 2; i++) {
      const next = await f.connector.readChanges(spec, pos, 10);
      keys.push(...next.changes.map((c) => c.key));
      pos = next.position;
      if (keys.length < 2) await new Promise((r) => setTimeout(r, 20));
    }
    expect(keys).toEqual(['3', '4']);
  });

  it('fails the whole batch with SCHEMA_DRIFT, writing nothing, when a column is gone', async () => {
    await f.exec('CREATE TABLE d (id int PRIMARY KEY, name text)');
    const spec = await specOf(f.connector, 'd');
    const write = f.connector.write(spec, [
      { op: 'insert', ref: 1, values: { id: '1', name: 'a' } },
      { op: 'insert', ref: 2, values: { id: '2', gone: 'b' } },
    ]);
    await expect(write).rejects.toMatchObject({ code: 'SCHEMA_DRIFT' });
    expect(await f.connector.count(spec)).toBe(0);
  });
});
