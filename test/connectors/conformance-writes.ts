/**
 * The conformance suite's writes (batches, refusals, receipts, beforeCommit)
 * and type round trips; registered by `connectorConformance` (conformance.ts).
 */
import { expect } from 'vitest';
import type { WriteOp } from '../../src/connectors/connector.js';
import type { Canonical, ColumnKind } from '../../src/core/types.js';
import type { Suite } from './conformance.js';

/** Values each kind must store and read back unchanged, in canonical form. */
const ROUND_TRIPS: Array<{ title: string; kind: ColumnKind; values: Canonical[]; expected?: Canonical[] }> = [
  {
    title: 'round-trip: integer (beyond 2^53, int64 bounds)',
    kind: 'integer',
    values: ['0', '-1', '9007199254740993', '-9223372036854775808', '9223372036854775807'],
  },
  { title: 'round-trip: decimal', kind: 'decimal', values: ['0', '12.5', '-0.001', '1234567.89', '42'] },
  {
    title: 'round-trip: decimal with 29 significant digits',
    kind: 'decimal',
    values: ['12345678901234567890.123456789'],
  },
  { title: 'round-trip: float', kind: 'float', values: ['0.1', '-2.5', '0.0000001', '123456789.125'] },
  { title: 'round-trip: boolean', kind: 'boolean', values: [true, false] },
  { title: 'round-trip: date', kind: 'date', values: ['2024-02-29', '1970-01-01'] },
  {
    title: 'round-trip: timestamp with microseconds',
    kind: 'timestamp',
    values: ['2024-01-02T03:04:05.123456Z', '1999-12-31T23:59:59Z'],
  },
  { title: 'round-trip: time', kind: 'time', values: ['13:14:15.5', '00:00:00'] },
  {
    title: 'round-trip: json reads back with sorted keys',
    kind: 'json',
    values: ['{"b":1,"a":[1,{"d":2,"c":3}]}', '[]', '"x"'],
    expected: ['{"a":[1,{"c":3,"d":2}],"b":1}', '[]', '"x"'],
  },
  { title: 'round-trip: bytes', kind: 'bytes', values: ['\\x00ff10', '\\xdeadbeef'] },
  {
    title: 'round-trip: unicode text',
    kind: 'text',
    values: ['héllo wörld 🌍 日本語', '', 'it\'s "quoted"', 'SKU-a', ' padded '],
  },
];

export function writeTests(s: Suite): void {
  s.test('write: a refused row (NOT NULL) fails alone with the database message', async () => {
    await s.fresh('w_t', `id ${s.d.autoKey}, name ${s.d.keyText} NOT NULL, qty ${s.d.integer}`);
    // Keys from the table's own generator (1 and 2 on a new table in every system): explicit keys
    // would leave PostgreSQL's identity sequence behind them, and the insert below would collide.
    await s.ctx.exec("INSERT INTO w_t (name, qty) VALUES ('one', 1), ('two', 2)");
    const spec = await s.specOf('w_t');
    const results = await s.c.write(spec, [
      { op: 'insert', ref: 10, values: { name: 'new', qty: '3' } },
      { op: 'insert', ref: 11, values: { name: null, qty: '4' } },
      { op: 'update', ref: 12, key: '1', values: { name: 'uno' } },
      { op: 'delete', ref: 13, key: '2' },
    ]);
    expect(results.map((r) => r.ref)).toEqual([10, 11, 12, 13]);
    const newKey = s.okKey(results[0]);
    expect(results[1]).toMatchObject({ ref: 11, ok: false });
    expect((results[1] as { message: string }).message).toMatch(/null/i);
    expect((results[1] as { message: string }).message).toMatch(/name/);
    expect(s.okKey(results[2])).toBe('1');
    expect(s.okKey(results[3])).toBe('2');
    const rows = await s.c.scan(spec, null, 100);
    expect(rows.map((r) => [r.key, r.values.name, r.values.qty])).toEqual([
      ['1', 'uno', '1'],
      [newKey, 'new', '3'],
    ]);
  });

  s.test('write: CHECK and UNIQUE violations fail alone', async () => {
    await s.fresh('wc_t', `id ${s.d.autoKey}, code ${s.d.keyText}, qty ${s.d.integer} CHECK (qty >= 0)`);
    await s.ctx.exec('CREATE UNIQUE INDEX wc_t_code ON wc_t (code)');
    const spec = await s.specOf('wc_t');
    const results = await s.c.write(spec, [
      { op: 'insert', ref: 1, values: { code: 'a', qty: '1' } },
      { op: 'insert', ref: 2, values: { code: 'b', qty: '-1' } },
      { op: 'insert', ref: 3, values: { code: 'a', qty: '2' } },
      { op: 'insert', ref: 4, values: { code: 'c', qty: '3' } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, false, true]);
    expect((results[1] as { message: string }).message).toMatch(/check/i);
    expect((results[2] as { message: string }).message).toMatch(/unique|duplicate/i);
    const rows = await s.c.scan(spec, null, 100);
    expect(rows.map((r) => r.values.code)).toEqual(['a', 'c']);
  });

  s.test('write: insert returns the key the database assigned', async () => {
    await s.fresh('wk_t', `id ${s.d.autoKey}, name ${s.d.text}`);
    const spec = await s.specOf('wk_t');
    const results = await s.c.write(spec, [
      { op: 'insert', ref: 1, values: { name: 'a' } },
      { op: 'insert', ref: 2, values: { name: 'b' } },
      { op: 'insert', ref: 3, values: { id: '9007199254740993', name: 'explicit' } },
    ]);
    const keys = results.map(s.okKey);
    expect(keys[2]).toBe('9007199254740993');
    for (const k of keys) expect(k).toMatch(/^\d+$/);
    const got = await s.c.readByKeys(spec, keys);
    expect(Object.fromEntries(got.map((r) => [r.key, r.values.name]))).toEqual({
      [keys[0]!]: 'a',
      [keys[1]!]: 'b',
      [keys[2]!]: 'explicit',
    });
  });

  s.test('write: update and delete of a missing key are ok (idempotent)', async () => {
    await s.fresh('wi_t', `id ${s.d.autoKey}, name ${s.d.text}`);
    const spec = await s.specOf('wi_t');
    const results = await s.c.write(spec, [
      { op: 'update', ref: 1, key: '404', values: { name: 'x' } },
      { op: 'delete', ref: 2, key: '404' },
    ]);
    expect(results).toEqual([
      { ref: 1, ok: true, key: '404' },
      { ref: 2, ok: true, key: '404' },
    ]);
    expect(await s.c.count(spec)).toBe(0);
  });

  s.test('write: a text key is matched exactly on update and delete', async () => {
    await s.fresh('wx_t', `code ${s.d.csText} NOT NULL PRIMARY KEY, name ${s.d.text}`);
    await s.ctx.exec("INSERT INTO wx_t (code, name) VALUES ('SKU-a', 'lower'), ('SKU-A', 'upper')");
    const spec = await s.specOf('wx_t');
    await s.c.write(spec, [
      { op: 'update', ref: 1, key: 'SKU-a', values: { name: 'changed' } },
      { op: 'delete', ref: 2, key: 'sku-a' },
    ]);
    const rows = await s.c.readByKeys(spec, ['SKU-a', 'SKU-A']);
    expect(Object.fromEntries(rows.map((r) => [r.key, r.values.name]))).toEqual({
      'SKU-a': 'changed',
      'SKU-A': 'upper',
    });
  });

  s.test('write: a receipt records what landed, in the same transaction, and can be forgotten', async () => {
    await s.fresh('wt_t', `id ${s.d.autoKey}, name ${s.d.keyText} NOT NULL`);
    const spec = await s.specOf('wt_t');
    const results = await s.c.write(
      spec,
      [
        { op: 'insert', ref: 1, values: { name: 'a' } },
        { op: 'insert', ref: 2, values: { name: null } },
        { op: 'insert', ref: 3, values: { name: 'c' } },
      ],
      'rcpt-1',
    );
    const keyA = s.okKey(results[0]);
    expect(results[1]?.ok).toBe(false);
    const keyC = s.okKey(results[2]);
    const found = await s.c.readReceipts(spec, ['rcpt-1', 'rcpt-never']);
    expect([...found.keys()]).toEqual(['rcpt-1']);
    expect(found.get('rcpt-1')).toEqual({ ok: [1, 3], keys: { 1: keyA, 3: keyC } });
    await s.c.forgetReceipts(spec, ['rcpt-1']);
    expect((await s.c.readReceipts(spec, ['rcpt-1'])).size).toBe(0);
  });

  s.test(
    'write: a forgotten receipt is not read again, is gone after the next batch, and none is left at close',
    async () => {
      await s.fresh('wf_t', `id ${s.d.autoKey}, name ${s.d.keyText}`);
      const spec = await s.specOf('wf_t');
      const insert = (name: string): WriteOp[] => [{ op: 'insert', ref: 1, values: { name } }];
      await s.c.write(spec, insert('a'), 'rcpt-1');
      await s.c.forgetReceipts(spec, ['rcpt-1']);
      expect((await s.c.readReceipts(spec, ['rcpt-1'])).size).toBe(0);
      // Deleted by now, or with the next batch's receipt, in that batch's transaction.
      await s.c.write(spec, insert('b'), 'rcpt-2');
      expect(await s.ctx.storedReceipts()).toEqual(['rcpt-2']);
      await s.c.forgetReceipts(spec, ['rcpt-2']);
      const failing = s.c.write(spec, insert('c'), 'rcpt-3', {
        beforeCommit: () => Promise.reject(new Error('state not saved')),
      });
      await expect(failing).rejects.toThrow('state not saved');
      expect(await s.ctx.storedReceipts()).not.toContain('rcpt-3');
      expect((await s.c.readReceipts(spec, ['rcpt-2', 'rcpt-3'])).size).toBe(0);
      await s.c.close();
      expect(await s.ctx.storedReceipts()).toEqual([]);
    },
  );

  s.test('write: commits only after beforeCommit, and nothing at all when it fails', async () => {
    await s.fresh('wc_t', `id ${s.d.autoKey}, name ${s.d.text}`);
    const spec = await s.specOf('wc_t');
    const insert = (name: string): WriteOp[] => [{ op: 'insert', ref: 1, values: { name } }];
    let waited = 0;
    const kept = await s.c.write(spec, insert('kept'), 'rcpt-ok', {
      beforeCommit: async () => {
        await new Promise((r) => setTimeout(r, 20));
        waited++;
      },
    });
    expect(waited).toBe(1);
    s.okKey(kept[0]);
    const refused = s.c.write(spec, insert('lost'), 'rcpt-no', {
      beforeCommit: () => Promise.reject(new Error('the intent could not be saved')),
    });
    await expect(refused).rejects.toThrow('the intent could not be saved');
    const rows = await s.c.scan(spec, null, 10);
    expect(rows.map((r) => r.values.name)).toEqual(['kept']);
    expect([...(await s.c.readReceipts(spec, ['rcpt-ok', 'rcpt-no'])).keys()]).toEqual(['rcpt-ok']);
  });

  s.test('write: a large batch lands in one call', async () => {
    await s.fresh('wb_t', `id ${s.d.autoKey}, name ${s.d.text}`);
    const spec = await s.specOf('wb_t');
    const ops: WriteOp[] = Array.from({ length: 2500 }, (_, i) => ({
      op: 'insert',
      ref: i,
      values: { name: `n${i}` },
    }));
    const results = await s.c.write(spec, ops);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(results.map((r) => (r as { key: string }).key)).size).toBe(2500);
    expect(await s.c.count(spec)).toBe(2500);
    const read = await s.c.readByKeys(
      spec,
      results.map((r) => (r as { key: string }).key),
    );
    expect(read.length).toBe(2500);
  });

  // ------------------------------------------------------------ round trips

  for (const { title, kind, values, expected } of ROUND_TRIPS) {
    s.test(title, async () => {
      await s.fresh('rt_t', `id ${s.d.autoKey}, v ${s.d.kinds[kind]}`);
      const spec = await s.specOf('rt_t');
      expect(spec.kinds.v).toBe(kind);
      const all = [...values, null];
      const results = await s.c.write(
        spec,
        all.map((v, i) => ({ op: 'insert', ref: i, values: { v } })),
      );
      const keys = results.map(s.okKey);
      const read = new Map((await s.c.readByKeys(spec, keys)).map((r) => [r.key, r.values.v]));
      expect(keys.map((k) => read.get(k))).toEqual([...(expected ?? values), null]);
      // The scan path uses the same converter.
      const scanned = await s.c.scan(spec, null, 100);
      expect(scanned.map((r) => r.values.v)).toEqual([...(expected ?? values), null]);
    });
  }
}
