/**
 * SPEC §4.1 deletes through the real CLI: `ignore`, newest-wins against an
 * edit, and the delete guard, on the External ID setup of harness.ts (see rules.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  byExt,
  byId,
  content,
  contents,
  DIRECTIONS,
  errorsJson,
  expectQuiet,
  extConfigWith,
  insertMany,
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

/** Between two edits whose order newest-wins must see. */
const ORDER_GAP_MS = 200;

describe('deletes', () => {
  it('deletes: ignore — the surviving record is detached: left alone, never recreated, not an orphan', () => {
    start(ws, { config: extConfigWith({ extra: '    deletes: ignore\n' }) });
    const x = linked(ws, 'X', 'x', 1);
    const y = linked(ws, 'Y', 'y', 2);
    remove(ws, LEFT, x.left);
    remove(ws, RIGHT, y.right);
    let r = runOnce(ws);
    expect(writes(r.sync())).toBe(0);
    expect(byId(ws, RIGHT, x.right)).toEqual({ id: x.right, ext: 'X', title: 'x', price: 1 });
    expect(byId(ws, LEFT, y.left)).toEqual({ id: y.left, ext: 'Y', title: 'y', price: 2 });

    // Edits on the survivors do not bring them back on the side that deleted them.
    update(ws, RIGHT, x.right, { title: 'x edited' });
    update(ws, LEFT, y.left, { title: 'y edited' });
    r = runOnce(ws);
    expect(writes(r.sync())).toBe(0);
    const rec = pass(ws, 'reconcile');
    expect(rec.code, rec.raw.stderr).toBe(0);
    expect(writes(rec.sync())).toBe(0);
    expect(byExt(ws, LEFT, 'X')).toEqual([]);
    expect(byExt(ws, RIGHT, 'Y')).toEqual([]);
    expect(errorsJson(ws)).toEqual([]);
    expect(statusJson(ws).syncs[0]!.quarantined).toBe(0);
  });

  it('per-direction deletes {left-to-right: propagate, right-to-left: ignore}', () => {
    start(ws, {
      config: extConfigWith({ extra: '    deletes: { left-to-right: propagate, right-to-left: ignore }\n' }),
    });
    const x = linked(ws, 'X');
    const y = linked(ws, 'Y', 'y', 2);
    remove(ws, LEFT, x.left);
    remove(ws, RIGHT, y.right);
    const r = runOnce(ws);
    expect(r.sync().deleted).toEqual({ left: 0, right: 1 });
    expect(byId(ws, RIGHT, x.right)).toBeUndefined();
    expect(byId(ws, LEFT, y.left)).toEqual({ id: y.left, ext: 'Y', title: 'y', price: 2 });
    update(ws, LEFT, y.left, { title: 'y edited' });
    runOnce(ws);
    expect(byExt(ws, RIGHT, 'Y')).toEqual([]);
    expect(errorsJson(ws)).toEqual([]);
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('newest-wins: an update made after a delete on the other side wins (the record is recreated)', async () => {
    start(ws);
    const x = linked(ws, 'X', 'x', 1);
    remove(ws, LEFT, x.left);
    // Change times come from each database file's clock reading; a wide gap keeps their order
    // certain on a loaded machine (this once failed on CI with 30 ms, cause not pinned down).
    await sleep(ORDER_GAP_MS);
    update(ws, RIGHT, x.right, { title: 'updated later' });
    runOnce(ws);
    expect(content(byId(ws, RIGHT, x.right))).toEqual({ ext: 'X', title: 'updated later', price: 1 });
    expect(byExt(ws, LEFT, 'X').map(content)).toEqual([{ ext: 'X', title: 'updated later', price: 1 }]);
    // Linked again: a later delete propagates.
    remove(ws, RIGHT, x.right);
    runOnce(ws);
    expect(byExt(ws, LEFT, 'X')).toEqual([]);
  });

  it('newest-wins: a delete made after an update on the other side wins', async () => {
    start(ws);
    const x = linked(ws, 'X', 'x', 1);
    update(ws, RIGHT, x.right, { title: 'updated first' });
    await sleep(ORDER_GAP_MS);
    remove(ws, LEFT, x.left);
    runOnce(ws);
    expect(byExt(ws, RIGHT, 'X')).toEqual([]);
    expect(byExt(ws, LEFT, 'X')).toEqual([]);
    expectQuiet(ws);
  });

  describe.each(DIRECTIONS)('delete guard, deletes $dir', ({ A, B }) => {
    it('40 linked, 20 deleted: exit 5, nothing deleted, paused until retry --deletes', () => {
      start(ws);
      insertMany(ws, A, 40);
      runOnce(ws);
      expect(items(ws, B)).toHaveLength(40);
      ws.exec(A.db, `DELETE FROM ${A.table} WHERE id % 2 = 0`);
      expect(items(ws, A)).toHaveLength(20);

      let r = runOnce(ws, 5);
      expect(r.sync().deleted).toEqual({ left: 0, right: 0 });
      expect(items(ws, B)).toHaveLength(40);
      let st = statusJson(ws).syncs[0]!;
      expect(st.state).toBe('paused');
      expect(st.reason).toContain('retry --deletes');

      // Held again by the next pass until confirmed.
      r = runOnce(ws, 5);
      expect(items(ws, B)).toHaveLength(40);

      expect(ws.tandem('retry', '--deletes').code).toBe(0);
      r = runOnce(ws, 0);
      expect(r.sync().deleted).toEqual({ [A.side]: 0, [B.side]: 20 });
      expect(contents(ws, B)).toEqual(contents(ws, A));
      st = statusJson(ws).syncs[0]!;
      expect(st.state).toBe('ok');
      expect(st.linked).toBe(20);
      expectQuiet(ws);
    });
  });

  it('delete_guard: off lets a large delete through', () => {
    start(ws, { config: extConfigWith({ extra: '    delete_guard: off\n' }) });
    insertMany(ws, LEFT, 40);
    runOnce(ws);
    ws.exec('app.db', 'DELETE FROM products WHERE id % 2 = 0');
    const r = runOnce(ws, 0);
    expect(r.sync().deleted).toEqual({ left: 0, right: 20 });
    expect(items(ws, RIGHT)).toHaveLength(20);
    expect(statusJson(ws).syncs[0]!.state).toBe('ok');
  });

  it('the default guard lets deletes under min_rows through (6 of 10 linked)', () => {
    start(ws);
    insertMany(ws, LEFT, 10);
    runOnce(ws);
    ws.exec('app.db', 'DELETE FROM products WHERE id <= 6');
    const r = runOnce(ws, 0);
    expect(r.sync().deleted).toEqual({ left: 0, right: 6 });
    expect(items(ws, RIGHT)).toHaveLength(4);
  });
});

// ==================================================================== values
