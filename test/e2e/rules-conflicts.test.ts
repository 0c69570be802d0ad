/**
 * SPEC §4.1 conflicts through the real CLI, per policy, on the External ID
 * setup of harness.ts (see rules.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  byExt,
  byId,
  content,
  errorsJson,
  expectQuiet,
  extConfigWith,
  insert,
  LEFT,
  RIGHT,
  runOnce,
  traceJson,
  update,
} from './ext-helpers.js';
import { type Workspace, workspace } from './harness.js';
import { linked, start } from './rules-helpers.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspace();
});
afterEach(() => ws.cleanup());

// ==================================================================== conflicts

describe('conflicts', () => {
  /** Edits the same linked record on both sides in one window. */
  function both(
    l: { left: number; right: number },
    left: Record<string, unknown>,
    right: Record<string, unknown>,
  ) {
    update(ws, LEFT, l.left, left);
    update(ws, RIGHT, l.right, right);
  }

  it('newest-wins with updated_at columns: the later change wins per field, a tie goes to left', () => {
    start(ws, {
      config: extConfigWith({ left: ', updated_at: updated_at', right: ', updated_at: updated_at' }),
    });
    const later = linked(ws, 'N-1', 'base', 1);
    const earlier = linked(ws, 'N-2', 'base', 1);
    const tie = linked(ws, 'N-3', 'base', 1);
    const zoned = linked(ws, 'N-4', 'base', 1);
    both(
      later,
      { title: 'L', updated_at: '2030-01-01T10:00:00Z' },
      { title: 'R', updated_at: '2030-01-01T11:00:00Z' },
    );
    both(
      earlier,
      { title: 'L', updated_at: '2030-01-01T11:00:00Z' },
      { title: 'R', updated_at: '2030-01-01T10:00:00Z' },
    );
    both(
      tie,
      { title: 'L', updated_at: '2030-01-01T10:00:00Z' },
      { title: 'R', updated_at: '2030-01-01T10:00:00Z' },
    );
    // 11:00+02:00 is 09:00Z: earlier than the left's 10:00Z, though it sorts later as text.
    both(
      zoned,
      { title: 'L', updated_at: '2030-01-01T10:00:00Z' },
      { title: 'R', updated_at: '2030-01-01T11:00:00+02:00' },
    );
    const r = runOnce(ws);
    expect(r.sync().conflicts).toBe(4);
    const title = (ext: string) => [byExt(ws, LEFT, ext)[0]!.title, byExt(ws, RIGHT, ext)[0]!.title];
    expect(title('N-1')).toEqual(['R', 'R']);
    expect(title('N-2')).toEqual(['L', 'L']);
    expect(title('N-3')).toEqual(['L', 'L']);
    expect(title('N-4')).toEqual(['L', 'L']);
    expectQuiet(ws);
    // Every conflict is recorded and visible in trace.
    const t = traceJson(ws, 'products', 'N-1');
    const c = t.history.find((h) => h.action === 'conflict' || /conflict/i.test(h.action));
    expect(c, JSON.stringify(t.history)).toBeDefined();
    expect(JSON.stringify(c)).toContain('title');
  });

  it('newest-wins at a first meeting: the later updated_at wins each differing field', () => {
    start(ws, {
      config: extConfigWith({ left: ', updated_at: updated_at', right: ', updated_at: updated_at' }),
    });
    insert(ws, LEFT, { ext: 'M-1', title: 'L', price: 1, updated_at: '2030-01-01T10:00:00Z' });
    insert(ws, RIGHT, { ext: 'M-1', title: 'R', price: 2, updated_at: '2030-01-01T11:00:00Z' });
    insert(ws, LEFT, { ext: 'M-2', title: 'L', price: 1, updated_at: '2030-01-01T12:00:00Z' });
    insert(ws, RIGHT, { ext: 'M-2', title: 'R', price: 2, updated_at: '2030-01-01T11:00:00Z' });
    const r = runOnce(ws);
    expect(r.sync().created).toEqual({ left: 0, right: 0 });
    for (const s of [LEFT, RIGHT]) {
      expect(byExt(ws, s, 'M-1').map(content)).toEqual([{ ext: 'M-1', title: 'R', price: 2 }]);
      expect(byExt(ws, s, 'M-2').map(content)).toEqual([{ ext: 'M-2', title: 'L', price: 1 }]);
    }
  });

  it('newest-wins merges field by field: a field changed on one side only is kept', () => {
    start(ws, {
      config: extConfigWith({ left: ', updated_at: updated_at', right: ', updated_at: updated_at' }),
    });
    const p = linked(ws, 'F-1', 'base', 1);
    both(
      p,
      { price: 2, updated_at: '2030-01-01T11:00:00Z' },
      { title: 'right title', updated_at: '2030-01-01T10:00:00Z' },
    );
    runOnce(ws);
    expect(content(byId(ws, LEFT, p.left))).toEqual({ ext: 'F-1', title: 'right title', price: 2 });
    expect(content(byId(ws, RIGHT, p.right))).toEqual({ ext: 'F-1', title: 'right title', price: 2 });
  });

  it('newest-wins with no updated_at column: the later change as capture saw it wins', async () => {
    start(ws);
    const p1 = linked(ws, 'T-1', 'base', 1);
    const p2 = linked(ws, 'T-2', 'base', 1);
    update(ws, RIGHT, p1.right, { title: 'R first' });
    update(ws, LEFT, p2.left, { title: 'L first' });
    await new Promise((r) => setTimeout(r, 30));
    update(ws, LEFT, p1.left, { title: 'L later' });
    update(ws, RIGHT, p2.right, { title: 'R later' });
    // The winner follows the times capture stamped, read back here: a machine whose wall
    // clock steps back between the edits (a fresh VM syncing its clock) changes which
    // edit is later, not the rule. Ties go to left (SPEC §4.1).
    const winner = (p: { left: number; right: number }, l: string, r: string) =>
      capturedAt(RIGHT, p.right) > capturedAt(LEFT, p.left) ? r : l;
    const w1 = winner(p1, 'L later', 'R first');
    const w2 = winner(p2, 'L first', 'R later');
    runOnce(ws);
    expect([byId(ws, LEFT, p1.left)!.title, byId(ws, RIGHT, p1.right)!.title]).toEqual([w1, w1]);
    expect([byId(ws, LEFT, p2.left)!.title, byId(ws, RIGHT, p2.right)!.title]).toEqual([w2, w2]);
  });

  /** The time capture stamped on the last change to row `id` of `s`. */
  function capturedAt(s: typeof LEFT, id: number): string {
    const rows = ws.all<{ changed_at: string }>(
      s.db,
      'SELECT changed_at FROM _tandem_changes WHERE table_name = ? AND CAST(key AS TEXT) = ? ORDER BY seq DESC LIMIT 1',
      s.table,
      String(id),
    );
    expect(rows, `a captured change for ${s.table} id ${id}`).toHaveLength(1);
    return rows[0]!.changed_at;
  }

  it.each([
    ['left-wins', 'L'],
    ['right-wins', 'R'],
  ])('%s: the %s value wins a conflict on both sides', (policy, winner) => {
    start(ws, { config: extConfigWith({ extra: `    conflicts: ${policy}\n` }) });
    const p = linked(ws, 'W-1', 'base', 1);
    both(p, { title: 'L' }, { title: 'R' });
    const r = runOnce(ws);
    expect(r.sync().conflicts).toBe(1);
    expect(byId(ws, LEFT, p.left)!.title).toBe(winner);
    expect(byId(ws, RIGHT, p.right)!.title).toBe(winner);
    expectQuiet(ws);
    expect(traceJson(ws, 'products', 'W-1').history.some((h) => /conflict/i.test(h.action))).toBe(true);
  });

  it('manual: the record is held with both values in errors until retry after an edit', () => {
    start(ws, { config: extConfigWith({ extra: '    conflicts: manual\n' }) });
    const p = linked(ws, 'H-1', 'base', 1);
    const other = linked(ws, 'H-2', 'base', 1);
    both(p, { title: 'left value' }, { title: 'right value' });
    update(ws, LEFT, other.left, { title: 'flows anyway' });
    runOnce(ws, 4);
    // Held: neither side written; the rest of the sync goes on.
    expect(byId(ws, LEFT, p.left)!.title).toBe('left value');
    expect(byId(ws, RIGHT, p.right)!.title).toBe('right value');
    expect(byId(ws, RIGHT, other.right)!.title).toBe('flows anyway');
    const errs = errorsJson(ws);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ sync: 'products', reason: 'conflict', identity: 'H-1' });
    expect(JSON.stringify(errs[0])).toContain('left value');
    expect(JSON.stringify(errs[0])).toContain('right value');
    // The human listing shows both values too.
    const human = ws.tandem('errors');
    expect(human.stdout).toContain('left value');
    expect(human.stdout).toContain('right value');

    // Still held on the next pass.
    runOnce(ws, 4);
    expect(byId(ws, LEFT, p.left)!.title).toBe('left value');
    expect(byId(ws, RIGHT, p.right)!.title).toBe('right value');

    // The operator edits one side to the value wanted, then retries: settled.
    update(ws, RIGHT, p.right, { title: 'agreed' });
    const ids = errorsJson(ws).map((e) => String(e.id));
    expect(ws.tandem('retry', ...ids).code).toBe(0);
    runOnce(ws, 0);
    expect(byId(ws, LEFT, p.left)!.title).toBe('agreed');
    expect(byId(ws, RIGHT, p.right)!.title).toBe('agreed');
    expect(errorsJson(ws)).toEqual([]);
    expectQuiet(ws);
  });

  it('manual: a retry without an edit keeps it held with both values; an edit and a retry then settle it', () => {
    start(ws, { config: extConfigWith({ extra: '    conflicts: manual\n' }) });
    const p = linked(ws, 'H-1', 'base', 1);
    both(p, { title: 'left value' }, { title: 'right value' });
    runOnce(ws, 4);
    expect(ws.tandem('retry', '--all').code).toBe(0);
    runOnce(ws, 4);
    expect(byId(ws, LEFT, p.left)!.title).toBe('left value');
    expect(byId(ws, RIGHT, p.right)!.title).toBe('right value');
    const errs = errorsJson(ws);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ reason: 'conflict', identity: 'H-1' });
    expect(JSON.stringify(errs[0])).toContain('left value');
    expect(JSON.stringify(errs[0])).toContain('right value');

    update(ws, LEFT, p.left, { title: 'agreed' });
    expect(ws.tandem('retry', '--all').code).toBe(0);
    runOnce(ws, 0);
    expect(byId(ws, RIGHT, p.right)!.title).toBe('agreed');
    expect(errorsJson(ws)).toEqual([]);
  });
});

// ==================================================================== deletes
