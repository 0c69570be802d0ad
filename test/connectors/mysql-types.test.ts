/**
 * MySQL/MariaDB types without loss, against the private MariaDB: each type is
 * written through the connector from canonical values, read back (by key and
 * by scan) as the same canonical values, checked as the server stored it
 * through a separate connection, and written again from what was read to show
 * that a second pass has nothing to change. Values a column cannot hold are
 * refused with the server's own message, never cut.
 *
 * The last block feeds the converter the shapes a binlog row image carries
 * (numbers, wrapped UNSIGNED, widened FLOAT, ENUM indexes, SET bitmasks) and
 * checks they give the same canonical values as the reads.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TableSpec } from '../../src/connectors/connector.js';
import { MysqlConnector } from '../../src/connectors/mysql/connector.js';
import { keyText, toCanonical } from '../../src/connectors/mysql/convert.js';
import type { Canonical, ColumnKind } from '../../src/core/types.js';
import { createMariaDbDatabase, type MariaDbDatabase } from '../support/mariadb-database.js';

let db: MariaDbDatabase;
let c: MysqlConnector;

beforeEach(async () => {
  db = await createMariaDbDatabase();
  c = MysqlConnector.open(db.url);
});
afterEach(async () => {
  await c.close();
  await db.drop();
});

async function specOf(table: string): Promise<TableSpec> {
  const info = await c.introspect(table);
  if (!info) throw new Error(`no table ${table}`);
  return {
    table,
    key: info.primaryKey[0]!,
    columns: info.columns.map((col) => col.name),
    kinds: Object.fromEntries(info.columns.map((col) => [col.name, col.kind])),
  };
}

/** What the server holds, through the application's connection (as text, in UTC). */
async function stored(table: string, column: string): Promise<unknown[]> {
  const [rows] = await db.app.query({
    sql: `SELECT \`${column}\` FROM ${table} ORDER BY id`,
    rowsAsArray: true,
  });
  return (rows as unknown[][]).map((r) => r[0]);
}

interface Case {
  type: string;
  kind: ColumnKind;
  values: Canonical[];
  /** What the server's own text of each value is (checked through the app connection). */
  raw?: unknown[];
  /** Values the column must refuse, each with a part of the server's message. */
  refused?: Array<[Canonical, RegExp]>;
}

const CASES: Case[] = [
  {
    type: 'TINYINT(1)',
    kind: 'boolean',
    values: [true, false],
    raw: [1, 0],
  },
  {
    type: 'INT',
    kind: 'integer',
    values: ['-2147483648', '2147483647', '0'],
    refused: [['2147483648', /Out of range value for column 'v'/]],
  },
  {
    type: 'INT UNSIGNED',
    kind: 'integer',
    values: ['4294967295', '0'],
    refused: [['-1', /Out of range value for column 'v'/]],
  },
  {
    type: 'BIGINT',
    kind: 'integer',
    values: ['-9223372036854775808', '9223372036854775807', '9007199254740993'],
    raw: ['-9223372036854775808', '9223372036854775807', '9007199254740993'],
    refused: [['9223372036854775808', /Out of range value for column 'v'/]],
  },
  {
    type: 'BIGINT UNSIGNED',
    kind: 'integer',
    values: ['18446744073709551615', '9223372036854775808'],
    raw: ['18446744073709551615', '9223372036854775808'],
    refused: [['-1', /Out of range value for column 'v'/]],
  },
  {
    type: 'DECIMAL(65,30)',
    kind: 'decimal',
    values: [
      '12345678901234567890123456789012345.123456789012345678901234567891',
      '-0.000000000000000000000000000001',
      '42',
    ],
    raw: [
      '12345678901234567890123456789012345.123456789012345678901234567891',
      '-0.000000000000000000000000000001',
      '42.000000000000000000000000000000',
    ],
  },
  { type: 'FLOAT', kind: 'float', values: ['1.1', '0.1234567', '-2.5', '16777216'] },
  { type: 'DOUBLE', kind: 'float', values: ['0.1', '0.30000000000000004', '-123456789.125'] },
  {
    type: 'CHAR(3)',
    kind: 'text',
    values: ['abc', 'é', ''],
    refused: [['abcd', /Data too long for column 'v'/]],
  },
  {
    type: 'VARCHAR(5)',
    kind: 'text',
    values: ['héllo', ' pad ', '🌍'],
    refused: [['toolong', /Data too long for column 'v'/]],
  },
  {
    type: 'TINYTEXT',
    kind: 'text',
    values: ['x'.repeat(255)],
    refused: [['x'.repeat(256), /Data too long for column 'v'/]],
  },
  { type: 'TEXT', kind: 'text', values: ['line\nbreak', 'it\'s "quoted" \\ back'] },
  {
    type: 'DATE',
    kind: 'date',
    values: ['2024-02-29', '1000-01-01', '9999-12-31'],
    raw: ['2024-02-29', '1000-01-01', '9999-12-31'],
    refused: [['2023-02-29', /Incorrect date value/]],
  },
  {
    type: 'DATETIME(6)',
    kind: 'timestamp',
    values: ['2024-01-02T03:04:05.123456Z', '1000-01-01T00:00:00Z'],
    raw: ['2024-01-02 03:04:05.123456', '1000-01-01 00:00:00.000000'],
  },
  {
    type: 'TIMESTAMP(6) NULL',
    kind: 'timestamp',
    values: ['2024-07-01T12:00:00.5Z', '1970-01-01T00:00:01Z'],
    // The application session is UTC too (mariadb-database.ts): the stored instant, in UTC.
    raw: ['2024-07-01 12:00:00.500000', '1970-01-01 00:00:01.000000'],
    refused: [['1960-01-01T00:00:00Z', /Incorrect datetime value/]],
  },
  {
    type: 'TIME(6)',
    kind: 'time',
    values: ['13:14:15.5', '00:00:00', '-838:59:59', '100:00:00.000001'],
    raw: ['13:14:15.500000', '00:00:00.000000', '-838:59:59.000000', '100:00:00.000001'],
  },
  {
    type: 'JSON',
    kind: 'json',
    values: ['{"a":[1,{"c":3,"d":2}],"b":1}', '[]', '"x"', '1.5'],
    refused: [['{not json', /CONSTRAINT `t.v` failed/]],
  },
  { type: 'BLOB', kind: 'bytes', values: ['\\x00ff10', '\\x', '\\xdeadbeef'] },
  { type: 'VARBINARY(4)', kind: 'bytes', values: ['\\x00ff'], refused: [['\\x0102030405', /Data too long/]] },
  { type: 'BINARY(4)', kind: 'bytes', values: ['\\x00ff0010'] },
  {
    type: "ENUM('small','large')",
    kind: 'text',
    values: ['small', 'large'],
    refused: [['medium', /Data truncated for column 'v'/]],
  },
  {
    type: "SET('x','y','z')",
    kind: 'text',
    values: ['x,z', '', 'y'],
    refused: [['w', /Data truncated for column 'v'/]],
  },
];

describe('mysql types round-trip without loss', () => {
  for (const t of CASES) {
    it(`${t.type}: ${t.values.length} values back unchanged${t.refused ? ', the impossible refused' : ''}`, async () => {
      await db.exec(`CREATE TABLE t (id BIGINT AUTO_INCREMENT PRIMARY KEY, v ${t.type})`);
      const spec = await specOf('t');
      expect(spec.kinds.v).toBe(t.kind);
      const all = [...t.values, null];
      const results = await c.write(
        spec,
        all.map((v, i) => ({ op: 'insert', ref: i, values: { v } })),
      );
      expect(
        results.every((r) => r.ok),
        JSON.stringify(results),
      ).toBe(true);
      const keys = results.map((r) => (r as { key: string }).key);
      const byKey = new Map((await c.readByKeys(spec, keys)).map((r) => [r.key, r.values.v]));
      expect(keys.map((k) => byKey.get(k))).toEqual(all);
      expect((await c.scan(spec, null, 100)).map((r) => r.values.v)).toEqual(all);
      if (t.raw) expect(await stored('t', 'v')).toEqual([...t.raw, null]);

      // A second pass: writing what was read changes nothing on the server.
      const [before] = await db.app.query({ sql: 'CHECKSUM TABLE t EXTENDED', rowsAsArray: true });
      const again = await c.write(
        spec,
        keys.map((key, i) => ({ op: 'update', ref: i, key, values: { v: byKey.get(key) ?? null } })),
      );
      expect(again.every((r) => r.ok)).toBe(true);
      const [after] = await db.app.query({ sql: 'CHECKSUM TABLE t EXTENDED', rowsAsArray: true });
      expect(after).toEqual(before);

      for (const [value, message] of t.refused ?? []) {
        const [r] = await c.write(spec, [{ op: 'insert', ref: 99, values: { v: value } }]);
        expect(r?.ok, `${String(value)} should be refused`).toBe(false);
        expect((r as { message: string }).message).toMatch(message);
      }
      // Nothing refused was written, cut or otherwise.
      expect(await c.count(spec)).toBe(all.length);
    });
  }

  it('TINYINT(1) holding another number reads as that number, not as true', async () => {
    await db.exec('CREATE TABLE t (id BIGINT AUTO_INCREMENT PRIMARY KEY, v TINYINT(1))');
    await db.exec('INSERT INTO t (v) VALUES (7), (1), (0)');
    const spec = await specOf('t');
    expect((await c.scan(spec, null, 10)).map((r) => r.values.v)).toEqual(['7', true, false]);
  });

  it('TIMESTAMP is written and read in UTC whatever the server and application zones', async () => {
    await db.exec('CREATE TABLE t (id BIGINT AUTO_INCREMENT PRIMARY KEY, v TIMESTAMP(6) NULL)');
    await db.exec("SET time_zone = '+05:00'");
    await db.exec("INSERT INTO t (v) VALUES ('2024-01-02 08:04:05')");
    const spec = await specOf('t');
    expect((await c.scan(spec, null, 10))[0]?.values.v).toBe('2024-01-02T03:04:05Z');
    await c.write(spec, [{ op: 'insert', ref: 1, values: { v: '2024-06-01T00:00:00Z' } }]);
    expect(await stored('t', 'v')).toEqual(['2024-01-02 08:04:05.000000', '2024-06-01 05:00:00.000000']);
  });

  it('an integer key beyond 2^53 and an UNSIGNED BIGINT key read, scan and update exactly', async () => {
    await db.exec('CREATE TABLE t (id BIGINT UNSIGNED PRIMARY KEY, n INT)');
    await db.exec(
      'INSERT INTO t VALUES (18446744073709551615, 1), (18446744073709551614, 2), (9007199254740993, 3)',
    );
    const spec = await specOf('t');
    const page = await c.scan(spec, '9007199254740993', 10);
    expect(page.map((r) => r.key)).toEqual(['18446744073709551614', '18446744073709551615']);
    await c.write(spec, [{ op: 'update', ref: 1, key: '18446744073709551614', values: { n: '20' } }]);
    const got = await c.readByKeys(spec, ['18446744073709551615', '18446744073709551614']);
    expect(Object.fromEntries(got.map((r) => [r.key, r.values.n]))).toEqual({
      '18446744073709551615': '1',
      '18446744073709551614': '20',
    });
  });
});

describe('mysql converter: binlog shapes give the same canonical values as reads', () => {
  it('integers: numbers, bigints, and UNSIGNED values a signed reader wrapped', () => {
    expect(keyText(42, 'integer')).toBe('42');
    expect(keyText(9007199254740993n, 'integer')).toBe('9007199254740993');
    expect(keyText('-9223372036854775808', 'integer', 'bigint(20)')).toBe('-9223372036854775808');
    expect(keyText(-1n, 'integer', 'bigint(20) unsigned')).toBe('18446744073709551615');
    expect(keyText(-1, 'integer', 'int(10) unsigned')).toBe('4294967295');
    expect(keyText(-1, 'integer', 'int(11)')).toBe('-1');
    expect(keyText(null, 'integer')).toBeNull();
  });

  it('FLOAT widened to a double reads as its single-precision text; DOUBLE as is', () => {
    expect(toCanonical(Math.fround(1.1), 'float', 'float')).toBe('1.1');
    expect(toCanonical(Math.fround(0.1234567), 'float', 'float')).toBe('0.1234567');
    expect(toCanonical(0.30000000000000004, 'float', 'double')).toBe('0.30000000000000004');
  });

  it('ENUM index and SET bitmask become their members; strings stay', () => {
    expect(toCanonical(2, 'text', "enum('small','large')")).toBe('large');
    expect(toCanonical(5, 'text', "set('x','y','z')")).toBe('x,z');
    expect(toCanonical(0, 'text', "set('x','y','z')")).toBe('');
    expect(toCanonical('x,z', 'text', "set('x','y','z')")).toBe('x,z');
    expect(toCanonical(1, 'text', "enum('it''s','b')")).toBe("it's");
  });

  it('dates, times, JSON, bytes and booleans in their other shapes', () => {
    expect(toCanonical(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 250)), 'timestamp')).toBe(
      '2024-01-02T03:04:05.25Z',
    );
    expect(toCanonical(1704164645.5, 'timestamp', 'timestamp(6)')).toBe('2024-01-02T03:04:05.5Z');
    expect(toCanonical('2024-01-02 03:04:05.000000', 'timestamp')).toBe('2024-01-02T03:04:05Z');
    expect(toCanonical('-838:59:59.000000', 'time')).toBe('-838:59:59');
    expect(toCanonical({ b: 1, a: [2] }, 'json')).toBe('{"a":[2],"b":1}');
    expect(toCanonical(Buffer.from('{"b":1,"a":2}'), 'json')).toBe('{"a":2,"b":1}');
    expect(toCanonical(Buffer.from([0, 255]), 'bytes')).toBe('\\x00ff');
    expect(toCanonical(1, 'boolean', 'tinyint(1)')).toBe(true);
    expect(toCanonical('0', 'boolean', 'tinyint(1)')).toBe(false);
    expect(toCanonical(Buffer.from([1]), 'boolean', 'bit(1)')).toBe(true);
  });
});
