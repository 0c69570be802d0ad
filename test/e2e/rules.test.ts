/**
 * SPEC §4.1 (rules for both modes) through the real CLI, on the External ID
 * setup of harness.ts: app.db products.sku (left) ↔ crm.db items.code (right).
 * Scope, echoes, replays, canonical comparison and quarantine here; conflicts
 * and deletes in rules-conflicts.test.ts and rules-deletes.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  byExt,
  byId,
  content,
  contents,
  DIRECTIONS,
  dumpDb,
  errorsJson,
  expectNoWrites,
  expectQuiet,
  extConfigWith,
  extSchema,
  insert,
  items,
  LEFT,
  pass,
  RIGHT,
  remove,
  runOnce,
  statusJson,
  update,
  writes,
} from './ext-helpers.js';
import { type Workspace, workspace } from './harness.js';
import { linked, start } from './rules-helpers.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspace();
});
afterEach(() => ws.cleanup());

describe('scope (filter)', () => {
  const scoped = () =>
    start(ws, {
      schema: extSchema({ extraLeft: ', active INTEGER NOT NULL DEFAULT 1' }),
      config: extConfigWith({ left: ', filter: "active = 1"' }),
    });

  it('a record leaving scope is unlinked: the other side is neither updated nor deleted', () => {
    scoped();
    const x = linked(ws, 'X', 'orig', 5);
    const y = linked(ws, 'Y', 'other', 6);
    update(ws, LEFT, x.left, { active: 0, title: 'left scope' });
    let r = runOnce(ws);
    expect(writes(r.sync())).toBe(0);
    expect(byId(ws, RIGHT, x.right)).toEqual({ id: x.right, ext: 'X', title: 'orig', price: 5 });

    // Unlinked for good: edits on either side stay where they are made; nothing is recreated.
    update(ws, LEFT, x.left, { title: 'out of scope edit' });
    update(ws, RIGHT, x.right, { title: 'right edit' });
    r = runOnce(ws);
    expect(writes(r.sync())).toBe(0);
    expect(byId(ws, LEFT, x.left)!.title).toBe('out of scope edit');
    expect(byId(ws, RIGHT, x.right)!.title).toBe('right edit');
    expect(items(ws, LEFT)).toHaveLength(2);
    expect(items(ws, RIGHT)).toHaveLength(2);
    const rec = pass(ws, 'reconcile');
    expect(rec.code).toBe(0);
    expect(writes(rec.sync())).toBe(0);
    expect(errorsJson(ws)).toEqual([]);

    // The in-scope pair is unaffected.
    update(ws, LEFT, y.left, { title: 'still synced' });
    runOnce(ws);
    expect(byId(ws, RIGHT, y.right)!.title).toBe('still synced');
  });

  it('a record entering scope is treated as new: created on the other side', () => {
    scoped();
    const id = insert(ws, LEFT, { ext: 'S-1', title: 'hidden', price: 1 });
    update(ws, LEFT, id, { active: 0 });
    let r = runOnce(ws);
    expect(writes(r.sync())).toBe(0);
    expect(items(ws, RIGHT)).toEqual([]);

    update(ws, LEFT, id, { active: 1, title: 'visible' });
    r = runOnce(ws);
    expect(r.sync().created).toEqual({ left: 0, right: 1 });
    expect(items(ws, RIGHT).map(content)).toEqual([{ ext: 'S-1', title: 'visible', price: 1 }]);
  });

  it('a record that left scope and comes back meets its old partner as new (first meeting, no duplicate)', () => {
    scoped();
    const x = linked(ws, 'X', 'orig', 5);
    update(ws, LEFT, x.left, { active: 0 });
    runOnce(ws);
    update(ws, RIGHT, x.right, { price: 7 });
    runOnce(ws);
    update(ws, LEFT, x.left, { active: 1 });
    const r = runOnce(ws);
    expect(r.sync().created).toEqual({ left: 0, right: 0 });
    expect(items(ws, LEFT)).toHaveLength(1);
    expect(items(ws, RIGHT)).toHaveLength(1);
    // Linked again: edits flow.
    update(ws, RIGHT, x.right, { title: 'back in step' });
    runOnce(ws);
    expect(byId(ws, LEFT, x.left)!.title).toBe('back in step');
  });
});

// ==================================================================== echoes and replays

describe('no echoes', () => {
  it.each(DIRECTIONS)(
    '$dir: one user change → exactly one write on the other side, none back',
    ({ A, B }) => {
      start(ws);
      const x = linked(ws, 'E-1', 'one', 1);
      const y = linked(ws, 'E-2', 'two', 2);
      const aId = A === LEFT ? x.left : x.right;
      const bId = A === LEFT ? x.right : x.left;
      update(ws, A, aId, { title: 'changed', price: '3.5' });
      const r = runOnce(ws);
      expect(r.sync().updated).toEqual({ [A.side]: 0, [B.side]: 1 });
      expect(r.sync().created).toEqual({ left: 0, right: 0 });
      expect(r.sync().deleted).toEqual({ left: 0, right: 0 });
      expect(content(byId(ws, B, bId))).toEqual({ ext: 'E-1', title: 'changed', price: 3.5 });
      expectQuiet(ws);
      expectQuiet(ws);
      expect(content(byId(ws, LEFT, y.left))).toEqual(content(byId(ws, RIGHT, y.right)));
    },
  );

  it('an update that sets the value already there writes nothing', () => {
    start(ws);
    const x = linked(ws, 'E-1', 'same', 1);
    ws.exec('app.db', `UPDATE products SET title = title, price = price WHERE id = ${x.left}`);
    const r = runOnce(ws);
    expectNoWrites(r.sync());
  });
});

describe('replaying', () => {
  it('a second run --once, and a reconcile after a sync, change nothing', () => {
    start(ws);
    const a = linked(ws, 'R-1', 'one', 1);
    linked(ws, 'R-2', 'two', 2, RIGHT);
    const gone = linked(ws, 'R-3', 'three', 3);
    // A mixed batch of changes on both sides.
    insert(ws, LEFT, { ext: 'R-4', title: 'four', price: 4 });
    insert(ws, RIGHT, { ext: 'R-5', title: 'five', price: '5.25' });
    update(ws, RIGHT, a.right, { title: 'one edited' });
    remove(ws, LEFT, gone.left);
    const first = runOnce(ws);
    expect(writes(first.sync())).toBe(4);

    const snapshot = () => ({ app: dumpDb(ws, 'app.db'), crm: dumpDb(ws, 'crm.db') });
    const after = snapshot();
    expect(contents(ws, LEFT)).toEqual(contents(ws, RIGHT));
    const linkedBefore = statusJson(ws).syncs[0]!.linked;

    expectQuiet(ws);
    expect(snapshot()).toEqual(after);

    const rec = pass(ws, 'reconcile');
    expect(rec.code, rec.raw.stderr).toBe(0);
    expectNoWrites(rec.sync());
    expect(rec.sync().quarantined).toBe(0);
    expect(snapshot()).toEqual(after);
    expect(statusJson(ws).syncs[0]!.linked).toBe(linkedBefore);

    // And a pass after the reconcile still finds nothing to do.
    expectQuiet(ws);
    expect(snapshot()).toEqual(after);
  });
});

describe('values are compared canonically', () => {
  it('a decimal NUMERIC 19.9 and a TEXT 19.90 are in step; changes flow without echoes', () => {
    start(ws, {
      schema: {
        app: 'CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, title TEXT, price NUMERIC, updated_at TEXT);',
        crm: 'CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT UNIQUE, title TEXT, price TEXT, updated_at TEXT);',
      },
    });
    const l = insert(ws, LEFT, { ext: 'P-1', title: 't', price: '19.90' });
    const r = insert(ws, RIGHT, { ext: 'P-1', title: 't', price: '19.90' });
    expect(byId(ws, LEFT, l)!.price).toBe(19.9); // NUMERIC affinity stored it as a number
    const first = runOnce(ws);
    expectNoWrites(first.sync());
    expect(first.sync().conflicts).toBe(0);
    expect(byId(ws, RIGHT, r)!.price).toBe('19.90');

    // A record created from the left lands as exact decimal text.
    insert(ws, LEFT, { ext: 'P-2', title: 't', price: '0.10' });
    runOnce(ws);
    expect(byExt(ws, RIGHT, 'P-2')[0]!.price).toBe('0.1');

    update(ws, RIGHT, r, { price: '21.50' });
    let p = runOnce(ws);
    expect(p.sync().updated).toEqual({ left: 1, right: 0 });
    expect(byId(ws, LEFT, l)!.price).toBe(21.5);
    expect(byId(ws, RIGHT, r)!.price).toBe('21.50');
    expectQuiet(ws);

    update(ws, LEFT, l, { price: 20 });
    p = runOnce(ws);
    expect(p.sync().updated).toEqual({ left: 0, right: 1 });
    expect(byId(ws, RIGHT, r)!.price).toBe('20');
    expectQuiet(ws);
  });

  it('timestamps, JSON, booleans and decimals that mean the same are in step across type systems', () => {
    ws.exec(
      'app.db',
      `CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, amount DECIMAL(10,2), seen DATETIME, doc JSON, flag BOOLEAN);
       INSERT INTO products (sku, amount, seen, doc, flag) VALUES ('V-1', '5.00', '2024-01-02 03:04:05', '{"b":1,"a":[1,2]}', 1);`,
    );
    ws.exec(
      'crm.db',
      `CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT UNIQUE, amount TEXT, seen TIMESTAMP, doc JSON, flag TEXT);
       INSERT INTO items (code, amount, seen, doc, flag) VALUES ('V-1', '5', '2024-01-02T05:04:05+02:00', '{"a":[1,2],"b":1}', 'true');`,
    );
    ws.writeConfig(extConfigWith({ fields: '[amount, seen, doc, flag]' }));
    const before = { app: dumpDb(ws, 'app.db'), crm: dumpDb(ws, 'crm.db') };
    const r = runOnce(ws);
    expectNoWrites(r.sync());
    expect(r.sync().conflicts).toBe(0);
    expect({ app: dumpDb(ws, 'app.db'), crm: dumpDb(ws, 'crm.db') }).toEqual(before);
    expect(statusJson(ws).syncs[0]!.linked).toBe(1);
    expectQuiet(ws);
  });
});

// ==================================================================== quarantine, not stop

describe('quarantine, not stop', () => {
  const strict = () =>
    start(ws, {
      schema: {
        app: 'CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, title TEXT, price NUMERIC, updated_at TEXT);',
        crm: `CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT UNIQUE, title TEXT NOT NULL,
                price NUMERIC CHECK (price >= 0), updated_at TEXT);`,
      },
    });

  it("creates the target refuses are quarantined with SQLite's message; the rest of the batch lands", () => {
    strict();
    insert(ws, LEFT, { ext: 'OK-1', title: 'fine', price: 1 });
    const noTitle = insert(ws, LEFT, { ext: 'BAD-1', title: null, price: 1 });
    const negative = insert(ws, LEFT, { ext: 'BAD-2', title: 'neg', price: -1 });
    insert(ws, LEFT, { ext: 'OK-2', title: 'fine too', price: 2 });
    const r = runOnce(ws, 4);
    expect(r.sync().created).toEqual({ left: 0, right: 2 });
    expect(contents(ws, RIGHT).map((c) => c.ext)).toEqual(['OK-1', 'OK-2']);

    const errs = errorsJson(ws);
    expect(errs).toHaveLength(2);
    const byId_ = Object.fromEntries(errs.map((e) => [e.identity, e]));
    expect(byId_['BAD-1']).toMatchObject({ reason: 'write_failed', side: 'right' });
    expect(byId_['BAD-1']!.message).toContain('NOT NULL constraint failed: items.title');
    expect(byId_['BAD-2']).toMatchObject({ reason: 'write_failed', side: 'right' });
    expect(byId_['BAD-2']!.message).toContain('CHECK constraint failed');
    expect(statusJson(ws).syncs[0]!.quarantined).toBe(2);

    // Fixing the source records lets them through.
    update(ws, LEFT, noTitle, { title: 'now titled' });
    update(ws, LEFT, negative, { price: 3 });
    runOnce(ws, 0);
    expect(contents(ws, RIGHT)).toEqual(contents(ws, LEFT));
    expect(errorsJson(ws)).toEqual([]);
  });

  it('an update the target refuses is quarantined on that side; other updates in the batch land', () => {
    strict();
    const p = linked(ws, 'P', 'p', 1);
    const q = linked(ws, 'Q', 'q', 1);
    update(ws, LEFT, p.left, { price: -5 });
    update(ws, LEFT, q.left, { title: 'q2' });
    runOnce(ws, 4);
    expect(byId(ws, RIGHT, q.right)!.title).toBe('q2');
    expect(byId(ws, RIGHT, p.right)!.price).toBe(1);
    const errs = errorsJson(ws);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({
      reason: 'write_failed',
      side: 'right',
      key: String(p.right),
      identity: 'P',
    });
    expect(errs[0]!.message).toContain('CHECK constraint failed');
  });
});
