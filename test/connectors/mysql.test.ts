/**
 * MySQL/MariaDB connector: the shared conformance suite against the private
 * MariaDB the tests start (scripts/mariadb-server.mjs), one fresh database
 * per test, plus what only this connector has (URLs, table references,
 * errors, MariaDB's JSON alias).
 *
 * The "application" is a separate mysql2 connection, as another process would be.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TableSpec } from '../../src/connectors/connector.js';
import { MysqlConnector } from '../../src/connectors/mysql/connector.js';
import { openConnector } from '../../src/connectors/open.js';
import { TandemError } from '../../src/core/errors.js';
import { createMariaDbDatabase, type MariaDbDatabase } from '../support/mariadb-database.js';
import { connectorConformance } from './conformance.js';

interface Fixture {
  db: MariaDbDatabase;
  connector: MysqlConnector;
  exec(sql: string): Promise<void>;
  cleanup(): Promise<void>;
  storedReceipts(): Promise<string[]>;
}

async function openFixture(): Promise<Fixture> {
  const db = await createMariaDbDatabase();
  const connector = MysqlConnector.open(db.url);
  return {
    db,
    connector,
    exec: (sql) => db.exec(sql),
    cleanup: async () => {
      await connector.close();
      await db.drop();
    },
    storedReceipts: async () => {
      const [rows] = await db.app
        .query('SELECT token FROM _tandem_receipts ORDER BY token')
        .catch(() => [[] as { token: string }[]]);
      return (rows as { token: string }[]).map((r) => r.token);
    },
  };
}

connectorConformance('mysql', { open: openFixture });

async function specOf(c: MysqlConnector, table: string, key?: string): Promise<TableSpec> {
  const info = await c.introspect(table);
  if (!info) throw new Error(`no table ${table}`);
  return {
    table,
    key: key ?? info.primaryKey[0]!,
    columns: info.columns.map((col) => col.name),
    kinds: Object.fromEntries(info.columns.map((col) => [col.name, col.kind])),
  };
}

/** Tells the connector's writing session it talks to MySQL 8: no INSERT … RETURNING. */
function asMysql8(c: MysqlConnector): void {
  const writer = (c as unknown as { writer: { known: Map<string, unknown> } }).writer;
  writer.known.set('flavour', {
    mariadb: false,
    version: '8.0.36',
    returning: false,
    exactCollation: 'utf8mb4_bin',
  });
}

describe('mysql connector', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await openFixture();
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('refuses an unreachable server with CONNECT_FAILED, a fix, and no password in the message', async () => {
    const c = MysqlConnector.open('mysql://someone:secret@127.0.0.1:1/nowhere');
    const err = await c.introspect('t').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TandemError);
    expect((err as TandemError).code).toBe('CONNECT_FAILED');
    expect((err as TandemError).message).not.toContain('secret');
    expect((err as TandemError).fix).toMatch(/GRANT/);
    expect(c.description).toBe('mysql://someone:***@127.0.0.1:1/nowhere');
    await c.close();
  });

  it('opens mysql:// and mariadb:// URLs through openConnector', async () => {
    await f.exec('CREATE TABLE u_t (id BIGINT PRIMARY KEY)');
    for (const url of [f.db.url, f.db.url.replace(/^mysql:/, 'mariadb:')]) {
      const c = await openConnector(url, { changeDetection: 'auto', pollIntervalMs: 500 });
      expect(c.system).toBe('mysql');
      expect((await c.introspect('u_t'))?.primaryKey).toEqual(['id']);
      await c.close();
    }
  });

  it('reads db.table from another database, and a plain name from the URL database', async () => {
    const other = await createMariaDbDatabase();
    try {
      await other.exec('CREATE TABLE far_t (id BIGINT PRIMARY KEY, name VARCHAR(20))');
      await other.exec("INSERT INTO far_t VALUES (1, 'far')");
      await f.exec('CREATE TABLE far_t (id BIGINT PRIMARY KEY, name VARCHAR(20))');
      await f.exec("INSERT INTO far_t VALUES (1, 'near')");
      const far = await specOf(f.connector, `${other.name}.far_t`);
      const near = await specOf(f.connector, 'far_t');
      expect((await f.connector.readByKeys(far, ['1']))[0]?.values.name).toBe('far');
      expect((await f.connector.readByKeys(near, ['1']))[0]?.values.name).toBe('near');
      const written = await f.connector.write(
        far,
        [{ op: 'update', ref: 1, key: '1', values: { name: 'FAR' } }],
        'tok',
      );
      expect(written[0]?.ok).toBe(true);
      expect((await f.connector.readReceipts(far, ['tok'])).size).toBe(1);
      expect((await f.connector.readReceipts(near, ['tok'])).size).toBe(0);
      const [rows] = await other.app.query('SELECT name FROM far_t');
      expect(rows).toEqual([{ name: 'FAR' }]);
    } finally {
      await other.drop();
    }
  });

  it('a table with a dot in its name, and a missing table', async () => {
    await f.exec('CREATE TABLE `odd.name` (id BIGINT PRIMARY KEY)');
    expect((await f.connector.introspect('odd.name'))?.primaryKey).toEqual(['id']);
    expect(await f.connector.introspect('Odd.name')).toBeNull();
    expect(await f.connector.introspect('missing_t')).toBeNull();
  });

  it('introspect: MariaDB JSON (LONGTEXT with json_valid) is json; a plain LONGTEXT is text', async () => {
    await f.exec('CREATE TABLE j_t (id BIGINT PRIMARY KEY, doc JSON, body LONGTEXT)');
    const info = await f.connector.introspect('j_t');
    const cols = Object.fromEntries(info!.columns.map((c) => [c.name, c.kind]));
    expect(cols).toEqual({ id: 'integer', doc: 'json', body: 'text' });
  });

  it('introspect: a prefix unique index is not a unique index on the column; a *_ci one is case-insensitive', async () => {
    await f.exec(
      'CREATE TABLE ix_t (id BIGINT PRIMARY KEY, a VARCHAR(50) COLLATE utf8mb4_bin, b VARCHAR(50) COLLATE utf8mb4_unicode_ci, UNIQUE KEY a_prefix (a(5)), UNIQUE KEY b_u (b))',
    );
    const info = await f.connector.introspect('ix_t');
    expect(info!.uniqueIndexes.map((u) => u.name).sort()).toEqual(['PRIMARY', 'b_u']);
    expect(info!.uniqueIndexes.find((u) => u.name === 'b_u')?.caseInsensitive).toBe(true);
  });

  it('a write to a dropped column is SCHEMA_DRIFT, not a quarantined row', async () => {
    await f.exec('CREATE TABLE d_t (id BIGINT AUTO_INCREMENT PRIMARY KEY, a VARCHAR(10), b VARCHAR(10))');
    const spec = await specOf(f.connector, 'd_t');
    await f.exec('ALTER TABLE d_t DROP COLUMN b');
    const err = await f.connector
      .write(spec, [{ op: 'update', ref: 1, key: '1', values: { b: 'x' } }])
      .catch((e: unknown) => e);
    expect((err as TandemError).code).toBe('SCHEMA_DRIFT');
  });

  it('a mixed batch keeps op order: a refused insert in a group leaves its neighbours written', async () => {
    await f.exec('CREATE TABLE m_t (id BIGINT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(5) NOT NULL UNIQUE)');
    await f.exec("INSERT INTO m_t (code) VALUES ('dup')");
    const spec = await specOf(f.connector, 'm_t');
    const results = await f.connector.write(spec, [
      { op: 'insert', ref: 1, values: { code: 'a' } },
      { op: 'insert', ref: 2, values: { code: 'dup' } },
      { op: 'insert', ref: 3, values: { code: 'toolong' } },
      { op: 'insert', ref: 4, values: { code: 'b' } },
      { op: 'delete', ref: 5, key: '1' },
      { op: 'insert', ref: 6, values: { code: 'c' } },
    ]);
    expect(results.map((r) => [r.ref, r.ok])).toEqual([
      [1, true],
      [2, false],
      [3, false],
      [4, true],
      [5, true],
      [6, true],
    ]);
    expect((results[1] as { message: string }).message).toMatch(/Duplicate entry 'dup'/);
    expect((results[2] as { message: string }).message).toMatch(/Data too long for column 'code'/);
    const rows = await f.connector.scan(spec, null, 10);
    expect(rows.map((r) => r.values.code)).toEqual(['a', 'b', 'c']);
  });

  it('a text key in a *_ci column is updated and deleted exactly, trailing spaces included', async () => {
    await f.exec('CREATE TABLE ck_t (code VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, n INT)');
    await f.exec("INSERT INTO ck_t VALUES ('abc', 1), ('x ', 2)");
    const spec = await specOf(f.connector, 'ck_t');
    await f.connector.write(spec, [
      { op: 'update', ref: 1, key: 'ABC', values: { n: '10' } },
      { op: 'delete', ref: 2, key: 'x' },
    ]);
    const rows = await f.connector.scan(spec, null, 10);
    expect(rows.map((r) => [r.key, r.values.n])).toEqual([
      ['abc', '1'],
      ['x ', '2'],
    ]);
    expect((await f.connector.readByKeys(spec, ['ABC', 'x'])).length).toBe(0);
  });

  it('readByColumn on a column outside the spec still matches exactly', async () => {
    await f.exec(
      'CREATE TABLE oc_t (id BIGINT PRIMARY KEY, ext VARCHAR(20) COLLATE utf8mb4_general_ci, n INT)',
    );
    await f.exec("INSERT INTO oc_t VALUES (1, 'E-1', 5), (2, 'e-1', 6)");
    const spec = { ...(await specOf(f.connector, 'oc_t')), columns: ['id', 'n'] };
    const got = await f.connector.readByColumn(spec, 'ext', ['e-1']);
    expect(got).toEqual([{ key: '2', values: { id: '2', n: '6' }, inScope: true }]);
  });

  it('connects again after the server dropped its connections', async () => {
    await f.exec('CREATE TABLE k_t (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(10))');
    const spec = await specOf(f.connector, 'k_t');
    await f.connector.write(spec, [{ op: 'insert', ref: 1, values: { name: 'a' } }]);
    expect(await f.connector.count(spec)).toBe(1);
    const [ids] = await f.db.app.query({
      sql: 'SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
      values: [f.db.name],
      rowsAsArray: true,
    });
    expect((ids as unknown[][]).length).toBe(2);
    for (const [id] of ids as unknown[][]) await f.db.exec(`KILL CONNECTION ${Number(id)}`);
    await new Promise((r) => setTimeout(r, 100));
    expect(await f.connector.count(spec)).toBe(1);
    const [r] = await f.connector.write(spec, [{ op: 'insert', ref: 2, values: { name: 'b' } }]);
    expect(r?.ok).toBe(true);
    expect(await f.connector.count(spec)).toBe(2);
  });

  it('without RETURNING (the MySQL path): keys from the insert id, explicit keys as given, refusals alone', async () => {
    await f.exec(
      'CREATE TABLE nr_t (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, name VARCHAR(5) NOT NULL)',
    );
    const spec = await specOf(f.connector, 'nr_t');
    asMysql8(f.connector);
    const results = await f.connector.write(spec, [
      { op: 'insert', ref: 1, values: { name: 'a' } },
      { op: 'insert', ref: 2, values: { name: 'toolong' } },
      { op: 'insert', ref: 3, values: { name: 'c' } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    const explicit = await f.connector.write(spec, [
      { op: 'insert', ref: 4, values: { id: '18446744073709551615', name: 'max' } },
      { op: 'insert', ref: 5, values: { id: '100', name: 'x' } },
    ]);
    expect(explicit.map((r) => (r as { key: string }).key)).toEqual(['18446744073709551615', '100']);
    // Every row, not a map by name: a row written twice must show twice.
    const rows = await f.connector.scan(spec, null, 10);
    expect(rows.map((r) => [r.key, r.values.name])).toEqual([
      [(results[0] as { key: string }).key, 'a'],
      [(results[2] as { key: string }).key, 'c'],
      ['100', 'x'],
      ['18446744073709551615', 'max'],
    ]);
  });

  it('without RETURNING: a mixed batch whose second of three inserts is refused writes each other row once, linked', async () => {
    await f.exec('CREATE TABLE nm_t (id BIGINT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(5) NOT NULL UNIQUE)');
    await f.exec("INSERT INTO nm_t (code) VALUES ('dup'), ('gone')");
    const spec = await specOf(f.connector, 'nm_t');
    asMysql8(f.connector);
    const results = await f.connector.write(
      spec,
      [
        { op: 'insert', ref: 1, values: { code: 'a' } },
        { op: 'insert', ref: 2, values: { code: 'dup' } },
        { op: 'insert', ref: 3, values: { code: 'b' } },
        { op: 'delete', ref: 4, key: '2' },
        { op: 'update', ref: 5, key: '1', values: { code: 'dup2' } },
        { op: 'insert', ref: 6, values: { code: 'c' } },
      ],
      'tok',
    );
    expect(results.map((r) => [r.ref, r.ok])).toEqual([
      [1, true],
      [2, false],
      [3, true],
      [4, true],
      [5, true],
      [6, true],
    ]);
    expect((results[1] as { message: string }).message).toMatch(/Duplicate entry 'dup'/);
    const key = (n: number) => (results[n] as { key: string }).key;
    const rows = await f.connector.scan(spec, null, 10);
    expect(rows.map((r) => [r.key, r.values.code])).toEqual([
      ['1', 'dup2'],
      [key(0), 'a'],
      [key(2), 'b'],
      [key(5), 'c'],
    ]);
    const receipt = (await f.connector.readReceipts(spec, ['tok'])).get('tok');
    expect(receipt?.ok).toEqual([1, 3, 4, 5, 6]);
    expect(receipt?.keys).toMatchObject({ 1: key(0), 3: key(2), 6: key(5) });
  });

  it('without RETURNING: an insert whose key the server made by a DEFAULT (UUID()) fails alone and leaves no row', async () => {
    await f.exec(
      'CREATE TABLE nu_t (id CHAR(36) NOT NULL DEFAULT (UUID()) PRIMARY KEY, name VARCHAR(5) NOT NULL)',
    );
    const spec = await specOf(f.connector, 'nu_t');
    asMysql8(f.connector);
    const results = await f.connector.write(spec, [
      { op: 'insert', ref: 1, values: { name: 'a' } },
      { op: 'insert', ref: 2, values: { name: 'b' } },
      { op: 'insert', ref: 3, values: { id: 'given', name: 'c' } },
    ]);
    expect(results.map((r) => [r.ref, r.ok])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    const one = await f.connector.write(spec, [{ op: 'insert', ref: 4, values: { name: 'd' } }]);
    expect(one[0]?.ok).toBe(false);
    const rows = await f.connector.scan(spec, null, 10);
    expect(rows.map((r) => [r.key, r.values.name])).toEqual([['given', 'c']]);
    expect((results[0] as { message: string }).message).toMatch(/assigned no key.*not written/);
  });

  it('an explicit key 0 is stored as 0, not replaced by a new AUTO_INCREMENT value (both write paths)', async () => {
    await f.exec('CREATE TABLE z_t (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(5) NOT NULL)');
    await f.exec('CREATE TABLE z2_t (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(5) NOT NULL)');
    const spec = await specOf(f.connector, 'z_t');
    const [r] = await f.connector.write(spec, [{ op: 'insert', ref: 1, values: { id: '0', name: 'zero' } }]);
    expect(r).toEqual({ ref: 1, ok: true, key: '0' });
    expect((await f.connector.scan(spec, null, 10)).map((x) => [x.key, x.values.name])).toEqual([
      ['0', 'zero'],
    ]);
    const spec2 = await specOf(f.connector, 'z2_t');
    asMysql8(f.connector);
    const [r2] = await f.connector.write(spec2, [
      { op: 'insert', ref: 1, values: { id: '0', name: 'zero' } },
    ]);
    expect(r2).toEqual({ ref: 1, ok: true, key: '0' });
    expect((await f.connector.scan(spec2, null, 10)).map((x) => [x.key, x.values.name])).toEqual([
      ['0', 'zero'],
    ]);
  });

  it('refuses a non-transactional (MyISAM) table in introspect, with the ALTER TABLE that fixes it, and never writes to it', async () => {
    await f.exec(
      'CREATE TABLE my_t (id BIGINT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(5) NOT NULL) ENGINE=MyISAM',
    );
    const err = await f.connector.introspect('my_t').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TandemError);
    expect((err as TandemError).code).toBe('TABLE_UNSUPPORTED');
    expect((err as TandemError).exitCode).toBe(3);
    expect((err as TandemError).message).toMatch(/my_t.*MyISAM/);
    expect((err as TandemError).fix).toContain(`ALTER TABLE \`${f.db.name}\`.\`my_t\` ENGINE=InnoDB`);
    // A write (the table made MyISAM after the sync was set up) is refused whole: nothing lands.
    const spec: TableSpec = {
      table: 'my_t',
      key: 'id',
      columns: ['id', 'code'],
      kinds: { id: 'integer', code: 'text' },
    };
    const w = await f.connector
      .write(spec, [
        { op: 'insert', ref: 1, values: { code: 'a' } },
        { op: 'insert', ref: 2, values: { code: 'toolong' } },
      ])
      .catch((e: unknown) => e);
    expect((w as TandemError).code).toBe('TABLE_UNSUPPORTED');
    const [rows] = await f.db.app.query('SELECT code FROM my_t');
    expect(rows).toEqual([]);
    // InnoDB again: introspect and writes work.
    await f.exec('ALTER TABLE my_t ENGINE=InnoDB');
    expect((await f.connector.introspect('my_t'))?.primaryKey).toEqual(['id']);
    expect((await f.connector.write(spec, [{ op: 'insert', ref: 1, values: { code: 'a' } }]))[0]?.ok).toBe(
      true,
    );
  });

  it('consecutive updates of the same columns: the later of two to one key wins, text keys match exactly, a refused row fails alone', async () => {
    await f.exec(
      'CREATE TABLE up_t (code VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, n INT, s VARCHAR(3))',
    );
    await f.exec("INSERT INTO up_t VALUES ('a', 1, 'x'), ('B', 2, 'x'), ('c ', 3, 'x'), ('d', 4, 'x')");
    const spec = await specOf(f.connector, 'up_t');
    const results = await f.connector.write(spec, [
      { op: 'update', ref: 1, key: 'a', values: { n: '10', s: 'y' } },
      { op: 'update', ref: 2, key: 'b', values: { n: '20', s: 'y' } },
      { op: 'update', ref: 3, key: 'c ', values: { n: '30', s: 'y' } },
      { op: 'update', ref: 4, key: 'a', values: { n: '11', s: 'z' } },
      { op: 'update', ref: 5, key: 'd', values: { n: '40', s: 'long' } },
      { op: 'update', ref: 6, key: 'B', values: { n: '21', s: 'w' } },
      { op: 'update', ref: 7, key: 'd', values: { n: '41' } },
    ]);
    expect(results.map((r) => [r.ref, r.ok])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, false],
      [6, true],
      [7, true],
    ]);
    expect((results[4] as { message: string }).message).toMatch(/Data too long for column 's'/);
    const rows = await f.connector.scan(spec, null, 10);
    expect(rows.map((r) => [r.key, r.values.n, r.values.s])).toEqual([
      ['a', '11', 'z'],
      ['B', '21', 'w'],
      ['c ', '30', 'y'],
      ['d', '41', 'x'],
    ]);
  });
});
