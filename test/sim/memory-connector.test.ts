/**
 * The in-memory connector the simulation runs on keeps the Connector contract
 * the engine relies on (the parts the SQL conformance suite checks for real
 * databases): positions sort as strings, engine writes are not captured, rows
 * fail one by one, tokens are stored with their insert.
 */
import { describe, expect, it } from 'vitest';
import type { TableSpec } from '../../src/connectors/connector.js';
import { MemoryConnector, MemoryDatabase } from './memory-connector.js';

function setup(opts: ConstructorParameters<typeof MemoryConnector>[1] = {}) {
  let t = 0;
  const db = new MemoryDatabase('m', () => new Date(Date.UTC(2024, 0, 1, 0, 0, ++t)).toISOString());
  db.createTable({
    name: 'items',
    key: 'id',
    columns: [
      { name: 'id', kind: 'integer' },
      { name: 'code', kind: 'text' },
      { name: 'flag', kind: 'boolean' },
      { name: 'n', kind: 'integer' },
    ],
    unique: ['code'],
  });
  const spec: TableSpec = {
    table: 'items',
    key: 'id',
    columns: ['id', 'code', 'flag', 'n'],
    kinds: { id: 'integer', code: 'text', flag: 'boolean', n: 'integer' },
  };
  return { db, spec, c: new MemoryConnector(db, opts) };
}

describe('MemoryConnector', () => {
  it('reads by keys, by column (exact text), and scans in key order', async () => {
    const { db, spec, c } = setup();
    for (let i = 0; i < 12; i++) db.insert('items', { code: `C${i}`, flag: i % 2 === 0, n: String(i) });
    expect((await c.readByKeys(spec, ['3', '99', '3'])).map((r) => r.values.code)).toEqual(['C2']);
    expect((await c.readByColumn(spec, 'code', ['C5', 'c5'])).map((r) => r.key)).toEqual(['6']);
    expect((await c.readByColumn(spec, 'flag', ['true'])).length).toBe(6);
    // Integer keys scan numerically: 2 < 10.
    const page1 = await c.scan(spec, null, 5);
    expect(page1.map((r) => r.key)).toEqual(['1', '2', '3', '4', '5']);
    const page3 = await c.scan(spec, '10', 5);
    expect(page3.map((r) => r.key)).toEqual(['11', '12']);
    expect(await c.count(spec)).toBe(12);
  });

  it("captures user changes, not the engine's; positions sort as strings and never go back", async () => {
    const { db, spec, c } = setup();
    const start = await c.currentPosition(spec);
    const k = db.insert('items', { code: 'A' });
    db.update('items', k, { n: '1' });
    await c.write(spec, [
      { op: 'update', ref: 1, key: k, values: { n: '2' } },
      { op: 'insert', ref: 2, values: { code: 'B' } },
    ]);
    db.delete('items', k);
    const batch = await c.readChanges(spec, start, 10);
    expect(batch.changes.map((e) => `${e.op}:${e.key}`)).toEqual(['insert:1', 'update:1', 'delete:1']);
    const positions = batch.changes.map((e) => e.position);
    expect([...positions].sort()).toEqual(positions);
    expect(positions.every((p) => p.length === 20)).toBe(true);
    expect(batch.position).toBe(positions[2]);
    // Paging, then pruning: the position stays where it was.
    const first = await c.readChanges(spec, start, 1);
    expect(first.changes.length).toBe(1);
    expect((await c.readChanges(spec, first.position, 10)).changes.length).toBe(2);
    await c.pruneChanges(spec, batch.position);
    expect(db.logLength('items')).toBe(0);
    expect(await c.currentPosition(spec)).toBe(batch.position);
    expect((await c.readChanges(spec, batch.position, 10)).changes).toEqual([]);
  });

  it('captures engine writes too when asked (a system without echo suppression)', async () => {
    const { db, spec, c } = setup();
    db.captureEngineWrites = true;
    const start = await c.currentPosition(spec);
    await c.write(spec, [{ op: 'insert', ref: 1, values: { code: 'B' } }]);
    expect((await c.readChanges(spec, start, 10)).changes.map((e) => e.op)).toEqual(['insert']);
  });

  it('isolates each row: a refused row fails alone (failure hook and unique constraint)', async () => {
    const { db, spec, c } = setup({
      failRow: (_t, op) =>
        op.op === 'update' && op.values.n === 'bad' ? 'CHECK constraint failed' : undefined,
    });
    const k = db.insert('items', { code: 'A' });
    const res = await c.write(spec, [
      { op: 'update', ref: 1, key: k, values: { n: 'bad' } },
      { op: 'insert', ref: 2, values: { code: 'A' } },
      { op: 'insert', ref: 3, values: { code: 'B' } },
      { op: 'update', ref: 4, key: '999', values: { n: '1' } },
      { op: 'delete', ref: 5, key: '998' },
    ]);
    expect(res.map((r) => r.ok)).toEqual([false, false, true, true, true]);
    expect(res[0]).toMatchObject({ message: 'CHECK constraint failed' });
    expect(res[1]).toMatchObject({ message: expect.stringContaining('UNIQUE') });
    expect(res[2]).toMatchObject({ ok: true });
    expect(db.get('items', k)!.n).toBeNull();
  });

  it('stores a write receipt with the rows, until forgotten', async () => {
    const { spec, c } = setup();
    const [r] = await c.write(spec, [{ op: 'insert', ref: 1, values: { code: 'T' } }], 'tok-1');
    expect(r!.ok).toBe(true);
    expect(await c.readReceipts(spec, ['tok-1', 'tok-2'])).toEqual(
      new Map([['tok-1', { ok: [1], keys: { 1: '1' } }]]),
    );
    await c.forgetReceipts(spec, ['tok-1']);
    expect((await c.readReceipts(spec, ['tok-1'])).size).toBe(0);
    // A refused insert is not in the receipt.
    const { spec: s2, c: c2 } = setup({ failRow: () => 'nope' });
    await c2.write(s2, [{ op: 'insert', ref: 1, values: { code: 'T' } }], 'tok-9');
    expect(await c2.readReceipts(s2, ['tok-9'])).toEqual(new Map([['tok-9', { ok: [], keys: {} }]]));
  });

  it('introspects what it was given', async () => {
    const { c } = setup();
    const info = await c.introspect('items');
    expect(info?.primaryKey).toEqual(['id']);
    expect(info?.columns.map((x) => `${x.name}:${x.kind}`)).toEqual([
      'id:integer',
      'code:text',
      'flag:boolean',
      'n:integer',
    ]);
    expect(await c.introspect('nope')).toBeNull();
  });
});
