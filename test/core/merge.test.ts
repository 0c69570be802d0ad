/**
 * The three-way merge, case by case: fields changed on one side or both,
 * conflicts settled per field by each policy, value maps, one-way and
 * `null: skip` fields, and the values and base of a create. The guarantees
 * the engine builds on are properties in merge-properties.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { ConflictPolicy } from '../../src/config/model.js';
import { fingerprint } from '../../src/core/fingerprint.js';
import { type Base, conflictWinner, createValues, type MergeInput, merge } from '../../src/core/merge.js';
import type { FieldModel } from '../../src/core/model.js';
import type { Row, Side } from '../../src/core/types.js';
import { fields } from './fields.js';
import { baseOf, noWrites } from './merge-helpers.js';

function input(
  fs: FieldModel[],
  left: Row,
  right: Row,
  base: Base | null,
  extra: Partial<MergeInput> = {},
): MergeInput {
  return { fields: fs, left, right, base, policy: 'left-wins', leftAt: null, rightAt: null, ...extra };
}

describe('merge: unit', () => {
  const fs = fields({ left: 'email' }, { left: 'name', right: 'full_name' });

  it('records in step need nothing, and the base is their fingerprints', () => {
    const l = { email: 'a@x', name: 'Ann' };
    const r = { email: 'a@x', full_name: 'Ann' };
    const m = merge(input(fs, l, r, null));
    expect(m.writes).toEqual(noWrites);
    expect(m.base).toEqual(baseOf(fs, l, r));
    expect(m.conflicts).toEqual([]);
  });

  it('a change on one side flows to the other', () => {
    const l0 = { email: 'a@x', name: 'Ann' };
    const r0 = { email: 'a@x', full_name: 'Ann' };
    const base = baseOf(fs, l0, r0);
    const m = merge(input(fs, { ...l0, name: 'Anne' }, { ...r0, email: 'b@x' }, base, { policy: 'manual' }));
    expect(m.writes).toEqual({ left: { email: 'b@x' }, right: { full_name: 'Anne' } });
    expect(m.conflicts).toEqual([]);
    expect(m.held).toBe(false);
    expect(m.base).toEqual({
      email: [fingerprint('b@x'), fingerprint('b@x')],
      'name:full_name': [fingerprint('Anne'), fingerprint('Anne')],
    });
  });

  it('both sides changed to the same value: nothing to write, no conflict', () => {
    const base = baseOf(fs, { email: 'a', name: 'n' }, { email: 'a', full_name: 'n' });
    const m = merge(
      input(fs, { email: 'b', name: 'n' }, { email: 'b', full_name: 'n' }, base, { policy: 'manual' }),
    );
    expect(m.writes).toEqual(noWrites);
    expect(m.conflicts).toEqual([]);
  });

  describe('conflicts are settled per field by the policy', () => {
    const base = baseOf(fs, { email: 'a', name: 'n' }, { email: 'a', full_name: 'n' });
    const l = { email: 'L', name: 'n' };
    const r = { email: 'R', full_name: 'n' };
    it.each<[ConflictPolicy, Partial<MergeInput>, Side | 'held']>([
      ['left-wins', {}, 'left'],
      ['right-wins', {}, 'right'],
      ['system-of-record', { sor: 'right' }, 'right'],
      ['system-of-record', { sor: 'left' }, 'left'],
      ['newest-wins', { leftAt: '2024-01-01T00:00:01Z', rightAt: '2024-01-01T00:00:02Z' }, 'right'],
      ['newest-wins', { leftAt: '2024-01-01T00:00:02Z', rightAt: '2024-01-01T00:00:01Z' }, 'left'],
      ['newest-wins', { leftAt: '2024-01-01T00:00:01Z', rightAt: '2024-01-01T00:00:01Z' }, 'left'],
      ['newest-wins', { leftAt: null, rightAt: '2024-01-01T00:00:01Z' }, 'right'],
      ['newest-wins', { leftAt: null, rightAt: null }, 'left'],
      ['manual', {}, 'held'],
    ])('%s %j → %s', (policy, extra, winner) => {
      const m = merge(input(fs, l, r, base, { policy, ...extra }));
      expect(m.conflicts).toEqual([{ field: 'email', left: 'L', right: 'R', winner }]);
      if (winner === 'held') {
        expect(m.held).toBe(true);
        expect(m.writes).toEqual(noWrites);
      } else if (winner === 'left') expect(m.writes).toEqual({ left: {}, right: { email: 'L' } });
      else expect(m.writes).toEqual({ left: { email: 'R' }, right: {} });
    });
  });

  it('first meeting: every differing field is a conflict settled by the policy', () => {
    const m = merge(
      input(fs, { email: 'L', name: 'same' }, { email: 'R', full_name: 'same' }, null, {
        policy: 'right-wins',
      }),
    );
    expect(m.writes).toEqual({ left: { email: 'R' }, right: {} });
    expect(m.conflicts.map((c) => c.field)).toEqual(['email']);
  });

  it('conflictWinner', () => {
    expect(conflictWinner('system-of-record', undefined, null, null)).toBe('left');
    expect(conflictWinner('newest-wins', undefined, '2024-01-01T00:00:00Z', null)).toBe('left');
  });

  it('one-way fields always flow their way, even when only the other side changed', () => {
    const fs1 = fields({ left: 'notes', direction: 'left-to-right' });
    const base = baseOf(fs1, { notes: 'a' }, { notes: 'a' });
    const m = merge(input(fs1, { notes: 'a' }, { notes: 'edited on right' }, base, { policy: 'right-wins' }));
    expect(m.writes).toEqual({ left: {}, right: { notes: 'a' } });
  });

  it('null: skip — a null never overwrites', () => {
    const fs1 = fields({ left: 'phone', null: 'skip' });
    const base = baseOf(fs1, { phone: '1' }, { phone: '1' });
    const m = merge(input(fs1, { phone: null }, { phone: '1' }, base));
    expect(m.writes).toEqual(noWrites);
  });

  it('null: skip — replaying the skipped null does not write the other value back (no echo)', () => {
    // Left cleared the phone; `null: skip` keeps right's '1'. Seeing the same records again
    // (a replay, or any later look at this record) must not copy '1' back over left's null.
    const fs1 = fields({ left: 'phone', null: 'skip' });
    const base = baseOf(fs1, { phone: '1' }, { phone: '1' });
    for (const extra of [
      { policy: 'right-wins' as const },
      { policy: 'system-of-record' as const, sor: 'right' as const },
    ]) {
      const first = merge(input(fs1, { phone: null }, { phone: '1' }, base, extra));
      expect(first.writes).toEqual(noWrites);
      const again = merge(input(fs1, { phone: null }, { phone: '1' }, first.base, extra));
      expect(again.writes, JSON.stringify(extra)).toEqual(noWrites);
    }
  });

  it('a value the other side cannot hold is reported, not written', () => {
    const fs1 = fields({ left: 'qty', leftKind: 'text', rightKind: 'integer' });
    const m = merge(input(fs1, { qty: 'lots' }, { qty: '1' }, baseOf(fs1, { qty: '1' }, { qty: '1' })));
    expect(m.writes).toEqual(noWrites);
    expect(m.invalid).toEqual([expect.objectContaining({ side: 'right', field: 'qty', value: 'lots' })]);
  });

  it('a many-to-one value map: a change that is still in step writes nothing', () => {
    const fs1 = fields({
      left: 'status',
      right: 'state',
      values: { active: 'A', enabled: 'A', inactive: 'I' },
    });
    const base = baseOf(fs1, { status: 'active' }, { state: 'A' });
    const m = merge(input(fs1, { status: 'enabled' }, { state: 'A' }, base));
    expect(m.writes).toEqual(noWrites);
    const back = merge(input(fs1, { status: 'enabled' }, { state: 'I' }, m.base));
    expect(back.writes).toEqual({ left: { status: 'inactive' }, right: {} });
  });

  describe('createValues', () => {
    const fs1 = fields(
      { left: 'email' },
      { left: 'status', right: 'state', values: { active: 'A' } },
      { left: 'notes', direction: 'left-to-right' },
    );

    it('maps every field and gives the base of the new pair', () => {
      const row = { email: 'a@x', status: 'active', notes: 'n' };
      const cv = createValues(fs1, 'left', row);
      expect(cv.values).toEqual({ email: 'a@x', state: 'A', notes: 'n' });
      expect(cv.invalid).toEqual([]);
      // Merging the new pair with that base writes nothing (no echo of the create).
      const m = merge(input(fs1, row, cv.values, cv.base.toBase(), { policy: 'right-wins' }));
      expect(m.writes).toEqual(noWrites);
    });

    it('one-way fields are not created against their direction', () => {
      const cv = createValues(fs1, 'right', { email: 'a@x', state: 'A', notes: 'n' });
      expect(cv.values).toEqual({ email: 'a@x', status: 'active' });
      expect(cv.base.toBase().notes).toEqual([fingerprint(null), fingerprint('n')]);
    });

    it('reports values the target cannot hold', () => {
      const fs2 = fields(
        { left: 'qty', leftKind: 'integer', rightKind: 'integer' },
        { left: 'x', rightKind: 'integer' },
      );
      const cv = createValues(fs2, 'left', { qty: '1', x: 'abc' });
      expect(cv.invalid).toEqual([expect.objectContaining({ side: 'right', field: 'x' })]);
    });
  });
});
