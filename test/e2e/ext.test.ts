/**
 * SPEC §4.3 (External ID mode), row by row, through the real CLI, in both
 * directions: A is the side the user acts on, B the other side.
 * Setup (harness.ts): app.db products.sku (left) ↔ crm.db items.code (right),
 * fields title and price, default policies (newest-wins, no updated_at column).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  byExt,
  byId,
  content,
  contents,
  DIRECTIONS,
  errorsJson,
  expectNoWrites,
  expectQuiet,
  extSchema,
  insert,
  items,
  remove,
  runOnce,
  setupExt,
  traceJson,
  update,
  writes,
} from './ext-helpers.js';
import { type Workspace, workspace } from './harness.js';

describe.each(DIRECTIONS)('External ID mode, $dir', ({ A, B }) => {
  let ws: Workspace;
  beforeEach(() => {
    ws = workspace();
  });
  afterEach(() => ws.cleanup());

  /** Schema + config, and a first pass over empty tables so later changes come through capture. */
  const start = (opts: Parameters<typeof setupExt>[1] = {}) => {
    setupExt(ws, opts);
    const first = runOnce(ws);
    expectNoWrites(first.sync());
  };

  /** A linked pair made on A: returns the local ids on both sides. */
  const linked = (ext: string, title = `t-${ext}`, price: number | string = 10) => {
    const a = insert(ws, A, { ext, title, price });
    runOnce(ws);
    const rows = byExt(ws, B, ext);
    expect(rows).toHaveLength(1);
    return { a, b: rows[0]!.id };
  };

  // ---------------------------------------------------------------- create

  it('create with external_id set: created on the other side with the same external_id, nothing comes back', () => {
    start();
    insert(ws, A, { ext: 'SKU-1', title: 'Teapot', price: '19.5' });
    const r = runOnce(ws);
    expect(r.sync().created).toEqual({ [A.side]: 0, [B.side]: 1 });
    expect(r.sync().updated).toEqual({ left: 0, right: 0 });
    expect(items(ws, B).map(content)).toEqual([{ ext: 'SKU-1', title: 'Teapot', price: 19.5 }]);
    expect(items(ws, A)).toHaveLength(1);
    expectQuiet(ws);
    expect(errorsJson(ws)).toEqual([]);
  });

  it('create with external_id set before the first pass is created on the other side too', () => {
    setupExt(ws);
    insert(ws, A, { ext: 'SKU-1', title: 'Teapot', price: 3 });
    insert(ws, A, { ext: 'SKU-2', title: 'Kettle', price: 4 });
    const r = runOnce(ws);
    expect(r.sync().created[B.side]).toBe(2);
    expect(contents(ws, B)).toEqual(contents(ws, A));
    expectQuiet(ws);
  });

  it('create when the other side already has that external_id: linked, not duplicated (no timestamps: left wins)', () => {
    setupExt(ws);
    // Met at the first (full) pass…
    insert(ws, A, { ext: 'M-1', title: `${A.side} title`, price: 5 });
    insert(ws, B, { ext: 'M-1', title: `${B.side} title`, price: 5 });
    const first = runOnce(ws);
    expect(first.sync().created).toEqual({ left: 0, right: 0 });
    // …and met in a later pass, through change capture.
    insert(ws, A, { ext: 'M-2', title: `${A.side} title`, price: 6 });
    insert(ws, B, { ext: 'M-2', title: `${B.side} title`, price: 6 });
    const second = runOnce(ws);
    expect(second.sync().created).toEqual({ left: 0, right: 0 });

    for (const s of [A, B]) {
      expect(items(ws, s).map(content)).toEqual([
        { ext: 'M-1', title: 'left title', price: 5 },
        { ext: 'M-2', title: 'left title', price: 6 },
      ]);
    }
    expectQuiet(ws);
    // They are linked: an edit on B now flows to A.
    update(ws, B, byExt(ws, B, 'M-2')[0]!.id, { title: 'edited' });
    runOnce(ws);
    expect(byExt(ws, A, 'M-2')[0]!.title).toBe('edited');
    const t = traceJson(ws, 'products', 'M-2');
    expect(t.link).not.toBeNull();
    expect(t.history.some((h) => /first meeting|link/i.test(h.action))).toBe(true);
  });

  it('first meeting settles conflicting fields by the configured policy (right-wins)', () => {
    start({ extra: '    conflicts: right-wins\n' });
    // The right side's record has title 'right title' and price 2, whichever side A is.
    insert(ws, A, { ext: 'M-1', title: `${A.side} title`, price: A.side === 'right' ? 2 : 1 });
    insert(ws, B, { ext: 'M-1', title: `${B.side} title`, price: B.side === 'right' ? 2 : 1 });
    runOnce(ws);
    for (const s of [A, B])
      expect(items(ws, s).map(content)).toEqual([{ ext: 'M-1', title: 'right title', price: 2 }]);
    expectQuiet(ws);
  });

  it('create without external_id is ignored until one is set; then created with its current values', () => {
    start();
    const a = insert(ws, A, { ext: null, title: 'draft', price: 1 });
    let r = runOnce(ws);
    expect(writes(r.sync())).toBe(0);
    expect(items(ws, B)).toEqual([]);
    expect(errorsJson(ws)).toEqual([]);

    update(ws, A, a, { title: 'draft 2' });
    r = runOnce(ws);
    expect(writes(r.sync())).toBe(0);
    expect(items(ws, B)).toEqual([]);

    update(ws, A, a, { ext: 'NEW-1' });
    r = runOnce(ws);
    expect(r.sync().created[B.side]).toBe(1);
    expect(items(ws, B).map(content)).toEqual([{ ext: 'NEW-1', title: 'draft 2', price: 1 }]);
    expect(items(ws, A)).toHaveLength(1);
    expectQuiet(ws);
  });

  it('create without external_id, later set to one the other side has just made: linked to it (first meeting)', () => {
    start();
    const a = insert(ws, A, { ext: null, title: 'mine', price: 1 });
    runOnce(ws);
    expect(items(ws, B)).toEqual([]);
    insert(ws, B, { ext: 'K-9', title: 'theirs', price: 1 });
    update(ws, A, a, { ext: 'K-9' });
    const r = runOnce(ws);
    expect(r.sync().created).toEqual({ left: 0, right: 0 });
    expect(items(ws, A)).toHaveLength(1);
    expect(items(ws, B)).toHaveLength(1);
    expect(byId(ws, A, a)!.ext).toBe('K-9');
    // Linked: an edit on A reaches B's record.
    update(ws, A, a, { price: 2 });
    runOnce(ws);
    expect(byExt(ws, B, 'K-9')[0]!.price).toBe(2);
  });

  // ---------------------------------------------------------------- update

  it('update flows to the other side matched by external_id; exactly one write, none back', () => {
    start();
    const { a, b } = linked('U-1', 'old', 10);
    update(ws, A, a, { title: 'new', price: '12.25' });
    const r = runOnce(ws);
    expect(r.sync().updated).toEqual({ [A.side]: 0, [B.side]: 1 });
    expect(r.sync().created).toEqual({ left: 0, right: 0 });
    expect(content(byId(ws, B, b))).toEqual({ ext: 'U-1', title: 'new', price: 12.25 });
    expectQuiet(ws);
  });

  // ---------------------------------------------------------------- rename

  it('external_id changed on a linked record: the other side is renamed (no delete, no new record)', () => {
    start();
    const { a, b } = linked('OLD', 'kept', 10);
    linked('BYSTANDER');
    update(ws, A, a, { ext: 'NEW' });
    const r = runOnce(ws);
    expect(r.sync().deleted).toEqual({ left: 0, right: 0 });
    expect(r.sync().created).toEqual({ left: 0, right: 0 });
    expect(byId(ws, B, b)).toEqual({ id: b, ext: 'NEW', title: 'kept', price: 10 });
    expect(byExt(ws, B, 'OLD')).toEqual([]);
    expect(byExt(ws, A, 'OLD')).toEqual([]);
    expect(items(ws, B)).toHaveLength(2);
    expect(items(ws, A)).toHaveLength(2);
    expectQuiet(ws);

    // The link follows the new id: a later edit on either side still flows.
    update(ws, B, b, { title: 'after rename' });
    runOnce(ws);
    expect(byId(ws, A, a)!.title).toBe('after rename');
    expect(errorsJson(ws)).toEqual([]);
    expect(traceJson(ws, 'products', 'NEW').link).not.toBeNull();
  });

  it('rename to an external_id the other side already has: external_id_collision, exit 4, nothing changed there', () => {
    start();
    // B's X becomes a detached record (its partner's id was cleared): it keeps X on B.
    const x = linked('X', 'x', 1);
    update(ws, A, x.a, { ext: null });
    runOnce(ws);
    expect(byId(ws, B, x.b)!.ext).toBe('X');
    // Now A renames another linked record to X, which B already has.
    const z = linked('Z', 'z', 2);
    update(ws, A, z.a, { ext: 'X' });
    const r = runOnce(ws, 4);
    expect(writes(r.sync())).toBe(0);
    const errs = errorsJson(ws);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({
      sync: 'products',
      side: A.side,
      key: String(z.a),
      reason: 'external_id_collision',
    });
    expect(byId(ws, B, z.b)).toEqual({ id: z.b, ext: 'Z', title: 'z', price: 2 });
    expect(byId(ws, B, x.b)).toEqual({ id: x.b, ext: 'X', title: 'x', price: 1 });
    expect(items(ws, B)).toHaveLength(2);
    // Still held on the next pass.
    runOnce(ws, 4);

    // Renaming to a free value settles it: B's record follows, the entry clears.
    update(ws, A, z.a, { ext: 'W' });
    runOnce(ws, 0);
    expect(byId(ws, B, z.b)).toEqual({ id: z.b, ext: 'W', title: 'z', price: 2 });
    expect(errorsJson(ws)).toEqual([]);
  });

  it('rename racing a new record with the same external_id on the other side: external_id_collision, exit 4', () => {
    start();
    const z = linked('Z', 'z', 2);
    update(ws, A, z.a, { ext: 'Y' });
    const newB = insert(ws, B, { ext: 'Y', title: 'born on B', price: 3 });
    runOnce(ws, 4);
    const errs = errorsJson(ws);
    // Both are held: the renamed record (its new value is taken on B) and B's new record
    // (A already has a record carrying Y, linked to Z) — neither is written anywhere.
    expect(errs.filter((e) => e.reason === 'external_id_collision')).toEqual([
      expect.objectContaining({ side: A.side, key: String(z.a) }),
      expect.objectContaining({ side: B.side, key: String(newB) }),
    ]);
    // Nothing renamed, deleted or overwritten on B; A never gets two records with Y.
    expect(byId(ws, B, z.b)).toEqual({ id: z.b, ext: 'Z', title: 'z', price: 2 });
    expect(byId(ws, B, newB)).toEqual({ id: newB, ext: 'Y', title: 'born on B', price: 3 });
    expect(byExt(ws, A, 'Y')).toHaveLength(1);
    expect(byExt(ws, A, 'Y')[0]!.id).toBe(z.a);

    // Renaming A's record to a free value settles both: the rename follows on B, and B's
    // new Y record (waiting on that value) is created on A.
    update(ws, A, z.a, { ext: 'W' });
    runOnce(ws, 0);
    expect(byId(ws, B, z.b)).toEqual({ id: z.b, ext: 'W', title: 'z', price: 2 });
    expect(byExt(ws, A, 'Y')).toEqual([expect.objectContaining({ ext: 'Y', title: 'born on B', price: 3 })]);
    expect(errorsJson(ws)).toEqual([]);
  });

  // ---------------------------------------------------------------- clear

  it('external_id cleared on a linked record: both detached, never changed, deleted or recreated', () => {
    start();
    const { a, b } = linked('C-1', 'orig', 7);
    update(ws, A, a, { ext: null });
    let r = runOnce(ws);
    expect(writes(r.sync())).toBe(0);
    expect(byId(ws, A, a)).toEqual({ id: a, ext: null, title: 'orig', price: 7 });
    expect(byId(ws, B, b)).toEqual({ id: b, ext: 'C-1', title: 'orig', price: 7 });

    // Edits on either side no longer flow.
    update(ws, A, a, { title: 'A edit' });
    update(ws, B, b, { title: 'B edit', price: 8 });
    r = runOnce(ws);
    expect(writes(r.sync())).toBe(0);
    expect(byId(ws, A, a)).toEqual({ id: a, ext: null, title: 'A edit', price: 7 });
    expect(byId(ws, B, b)).toEqual({ id: b, ext: 'C-1', title: 'B edit', price: 8 });
    expect(items(ws, A)).toHaveLength(1); // B's C-1 is not recreated on A
    expect(items(ws, B)).toHaveLength(1);

    // Not even by a full compare, and it is not reported anywhere as an error.
    const full = ws.tandem('reconcile', '--json');
    expect(full.code, full.stderr).toBe(0);
    expect(items(ws, A)).toHaveLength(1);
    expect(errorsJson(ws)).toEqual([]);

    // Deleting the detached A record does not delete B's.
    remove(ws, A, a);
    runOnce(ws);
    expect(byId(ws, B, b)).toEqual({ id: b, ext: 'C-1', title: 'B edit', price: 8 });
    expect(items(ws, A)).toHaveLength(0);
  });

  it('after clearing, setting a new external_id makes the record new: created on the other side', () => {
    start();
    const { a, b } = linked('C-1', 'orig', 7);
    update(ws, A, a, { ext: null });
    runOnce(ws);
    update(ws, A, a, { ext: 'C-2', title: 'reborn' });
    const r = runOnce(ws);
    expect(r.sync().created).toEqual({ [A.side]: 0, [B.side]: 1 });
    expect(byId(ws, B, b)).toEqual({ id: b, ext: 'C-1', title: 'orig', price: 7 });
    expect(byExt(ws, B, 'C-2').map(content)).toEqual([{ ext: 'C-2', title: 'reborn', price: 7 }]);
    expectQuiet(ws);
  });

  it('after clearing, setting the old external_id again meets the old partner as new (first meeting)', () => {
    start();
    const { a, b } = linked('C-1', 'orig', 7);
    update(ws, A, a, { ext: null });
    runOnce(ws);
    update(ws, A, a, { ext: 'C-1' });
    runOnce(ws);
    expect(items(ws, A)).toHaveLength(1);
    expect(items(ws, B)).toHaveLength(1);
    update(ws, A, a, { title: 'linked again' });
    runOnce(ws);
    expect(byId(ws, B, b)!.title).toBe('linked again');
  });

  // ---------------------------------------------------------------- duplicates

  it('two new records on one side with one external_id: all quarantined duplicate_external_id until fixed', () => {
    start({ schema: extSchema({ unique: false }) });
    const d1 = insert(ws, A, { ext: 'DUP', title: 'one', price: 1 });
    const d2 = insert(ws, A, { ext: 'DUP', title: 'two', price: 2 });
    let r = runOnce(ws, 4);
    expect(writes(r.sync())).toBe(0);
    expect(items(ws, B)).toEqual([]);
    let errs = errorsJson(ws);
    expect(errs.map((e) => [e.reason, e.side, e.key, e.identity]).sort()).toEqual(
      [
        ['duplicate_external_id', A.side, String(d1), 'DUP'],
        ['duplicate_external_id', A.side, String(d2), 'DUP'],
      ].sort(),
    );
    // Still held while nothing is fixed, even when one of them is edited.
    update(ws, A, d1, { title: 'one edited' });
    r = runOnce(ws, 4);
    expect(items(ws, B)).toEqual([]);
    expect(errorsJson(ws)).toHaveLength(2);

    // Fixed: each gets its own value; both sync, the quarantine empties.
    update(ws, A, d2, { ext: 'DUP-2' });
    r = runOnce(ws, 0);
    expect(contents(ws, B)).toEqual([
      { ext: 'DUP', title: 'one edited', price: 1 },
      { ext: 'DUP-2', title: 'two', price: 2 },
    ]);
    errs = errorsJson(ws);
    expect(errs).toEqual([]);
    expectQuiet(ws);
  });

  it('a second record joining a linked external_id: all of them quarantined; removing it lets the link sync again', () => {
    start({ schema: extSchema({ unique: false }) });
    const { a, b } = linked('L-1', 'linked', 1);
    const intruder = insert(ws, A, { ext: 'L-1', title: 'intruder', price: 99 });
    update(ws, A, a, { title: 'edited while duplicated' });
    runOnce(ws, 4);
    const errs = errorsJson(ws);
    expect(errs.every((e) => e.reason === 'duplicate_external_id' && e.side === A.side)).toBe(true);
    expect(errs.map((e) => e.key).sort()).toEqual([String(a), String(intruder)].sort());
    // Neither was synced: B keeps its record as it was, and only one.
    expect(byId(ws, B, b)).toEqual({ id: b, ext: 'L-1', title: 'linked', price: 1 });
    expect(items(ws, B)).toHaveLength(1);

    remove(ws, A, intruder);
    runOnce(ws, 0);
    expect(byId(ws, B, b)).toEqual({ id: b, ext: 'L-1', title: 'edited while duplicated', price: 1 });
    expect(items(ws, B)).toHaveLength(1);
    expect(errorsJson(ws)).toEqual([]);
  });

  // ---------------------------------------------------------------- delete

  it('delete propagates: the record with that external_id is deleted on the other side', () => {
    start();
    const { a, b } = linked('D-1');
    const keep = linked('D-2');
    remove(ws, A, a);
    const r = runOnce(ws);
    expect(r.sync().deleted).toEqual({ [A.side]: 0, [B.side]: 1 });
    expect(byId(ws, B, b)).toBeUndefined();
    expect(byId(ws, B, keep.b)).toBeDefined();
    expectQuiet(ws);
    expect(traceJson(ws, 'products', 'D-1').history.some((h) => /delet/i.test(h.action))).toBe(true);
  });

  it('deleting an unlinked record does nothing on the other side', () => {
    start();
    insert(ws, B, { ext: null, title: 'B without id', price: 1 });
    const noId = insert(ws, A, { ext: null, title: 'A without id', price: 1 });
    runOnce(ws);
    const before = items(ws, B);
    remove(ws, A, noId);
    // Made and deleted between two passes: never linked.
    const ghost = insert(ws, A, { ext: 'GHOST', title: 'g', price: 1 });
    remove(ws, A, ghost);
    const r = runOnce(ws);
    expect(writes(r.sync())).toBe(0);
    expect(items(ws, B)).toEqual(before);
    expect(errorsJson(ws)).toEqual([]);
  });

  // ---------------------------------------------------------------- exact strings

  it("external ids match as exact strings: 'SKU-a' and 'SKU-A' are different records", () => {
    start();
    insert(ws, A, { ext: 'SKU-a', title: 'lower', price: 1 });
    insert(ws, B, { ext: 'SKU-A', title: 'upper', price: 2 });
    insert(ws, B, { ext: ' SKU-a', title: 'leading space', price: 3 });
    const r = runOnce(ws);
    expect(r.sync().created).toEqual({ [A.side]: 2, [B.side]: 1 });
    const expected = [
      { ext: ' SKU-a', title: 'leading space', price: 3 },
      { ext: 'SKU-A', title: 'upper', price: 2 },
      { ext: 'SKU-a', title: 'lower', price: 1 },
    ].sort((x, y) => x.ext.localeCompare(y.ext));
    expect(contents(ws, A)).toEqual(expected);
    expect(contents(ws, B)).toEqual(expected);

    // An edit to one touches only its exact match.
    update(ws, A, byExt(ws, A, 'SKU-a')[0]!.id, { title: 'lower edited' });
    runOnce(ws);
    expect(byExt(ws, B, 'SKU-a')[0]!.title).toBe('lower edited');
    expect(byExt(ws, B, 'SKU-A')[0]!.title).toBe('upper');
    expect(byExt(ws, B, ' SKU-a')[0]!.title).toBe('leading space');
  });
});
