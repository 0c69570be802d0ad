/**
 * The three-way merge's properties (fast-check), the guarantees the engine
 * builds on (SPEC §4.1, §5.1): no echoes on replay, determinism, convergence
 * under interleaved edits, one-sided changes flow, non-one-to-one value maps
 * converge. A failing property prints its seed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConflictPolicy } from '../../src/config/model.js';
import { inStep, mapValue } from '../../src/core/mapping.js';
import { type Base, type MergeResult, merge } from '../../src/core/merge.js';
import type { FieldModel } from '../../src/core/model.js';
import type { Canonical, Row, Side } from '../../src/core/types.js';
import { type FieldSpec, fields } from './fields.js';
import { baseOf, noWrites } from './merge-helpers.js';

const POLICIES: ConflictPolicy[] = ['system-of-record', 'newest-wins', 'left-wins', 'right-wins', 'manual'];
const AUTOMATIC: ConflictPolicy[] = POLICIES.filter((p) => p !== 'manual');

function apply(state: { left: Row; right: Row }, m: MergeResult): { left: Row; right: Row } {
  return { left: { ...state.left, ...m.writes.left }, right: { ...state.right, ...m.writes.right } };
}

/** Values drawn from a small alphabet so collisions with map keys and the base happen often. */
const TEXT = ['a', 'b', 'c', 'A', 'B', 'I'];
const BOOL_TEXT = ['true', 'false', 'yes', 'no', '1', '0'];

interface GenField {
  spec: FieldSpec;
  /** Values a user may write on each side of this field. */
  leftValues: Canonical[];
  rightValues: Canonical[];
}

/** A field that can never produce an invalid value: text↔text (maps, defaults) or boolean↔text. */
const genField = (name: string, opts: { nullSkip: boolean; oneWay: boolean }): fc.Arbitrary<GenField> =>
  fc.oneof(
    fc
      .record({
        values: fc.option(
          fc.dictionary(
            fc.constantFrom('a', 'b', 'c'),
            fc.constantFrom<Canonical>('A', 'B', 'I', 'a', null),
            { maxKeys: 3 },
          ),
          { nil: undefined },
        ),
        defaultRight: fc.option(fc.constantFrom('A', 'c'), { nil: undefined }),
        defaultLeft: fc.option(fc.constantFrom('a', 'I'), { nil: undefined }),
        direction: opts.oneWay
          ? fc.constantFrom('both', 'both', 'left-to-right', 'right-to-left')
          : fc.constant('both'),
        nullSkip: opts.nullSkip ? fc.boolean() : fc.constant(false),
      })
      .map(
        (r): GenField => ({
          spec: {
            left: name,
            right: `${name}_r`,
            direction: r.direction as FieldSpec['direction'],
            null: r.nullSkip ? 'skip' : 'clear',
            ...(r.values ? { values: r.values } : {}),
            ...(r.defaultLeft !== undefined || r.defaultRight !== undefined
              ? {
                  default: {
                    ...(r.defaultLeft !== undefined ? { left: r.defaultLeft } : {}),
                    ...(r.defaultRight !== undefined ? { right: r.defaultRight } : {}),
                  },
                }
              : {}),
          },
          leftValues: [null, ...TEXT],
          rightValues: [null, ...TEXT],
        }),
      ),
    fc.constant<GenField>({
      spec: { left: name, right: `${name}_r`, leftKind: 'boolean', rightKind: 'text' },
      leftValues: [null, true, false],
      rightValues: [null, ...BOOL_TEXT],
    }),
  );

const genFields = (opts: { nullSkip: boolean; oneWay: boolean }) =>
  fc
    .tuple(genField('f1', opts), genField('f2', opts), genField('f3', opts))
    .map((gs) => ({ gens: gs, models: fields(...gs.map((g) => g.spec)) }));

const rowFor = (gens: GenField[], side: Side): fc.Arbitrary<Row> =>
  fc
    .tuple(...gens.map((g) => fc.constantFrom(...(side === 'left' ? g.leftValues : g.rightValues))))
    .map((vs) => {
      const row: Row = {};
      gens.forEach((g, i) => {
        row[side === 'left' ? g.spec.left : g.spec.right!] = vs[i]!;
      });
      return row;
    });

const policyArb = (policies: ConflictPolicy[]) =>
  fc.record({
    policy: fc.constantFrom(...policies),
    sor: fc.constantFrom<Side>('left', 'right'),
    leftAt: fc.option(
      fc.integer({ min: 0, max: 5 }).map((n) => `2024-01-01T00:00:0${n}Z`),
      { nil: null },
    ),
    rightAt: fc.option(
      fc.integer({ min: 0, max: 5 }).map((n) => `2024-01-01T00:00:0${n}Z`),
      { nil: null },
    ),
  });

/** A case: fields, current rows, and a base (none, or the fingerprints of some earlier rows). */
const mergeCase = (opts: { nullSkip: boolean; oneWay: boolean }, policies: ConflictPolicy[]) =>
  genFields(opts).chain(({ gens, models }) =>
    fc.record({
      gens: fc.constant(gens),
      models: fc.constant(models),
      left: rowFor(gens, 'left'),
      right: rowFor(gens, 'right'),
      base: fc.option(
        fc.tuple(rowFor(gens, 'left'), rowFor(gens, 'right')).map(([l, r]) => baseOf(models, l, r)),
        { nil: null },
      ),
      p: policyArb(policies),
    }),
  );

function allInStep(fs: FieldModel[], left: Row, right: Row): string[] {
  return fs.filter((f) => !inStep(f, left[f.left] ?? null, right[f.right] ?? null)).map((f) => f.id);
}

describe('merge: properties', () => {
  it('(a) replay: merging again with the returned base after the writes landed writes nothing (no echoes)', () => {
    fc.assert(
      fc.property(mergeCase({ nullSkip: false, oneWay: true }, POLICIES), (c) => {
        const m1 = merge({ fields: c.models, left: c.left, right: c.right, base: c.base, ...c.p });
        expect(m1.invalid).toEqual([]);
        if (m1.held) return; // manual: nothing written, base not saved
        const s = apply(c, m1);
        const m2 = merge({ fields: c.models, left: s.left, right: s.right, base: m1.base, ...c.p });
        expect(m2.writes).toEqual(noWrites);
        expect(m2.conflicts).toEqual([]);
        expect(m2.held).toBe(false);
        expect(m2.base).toEqual(m1.base);
      }),
      { numRuns: 3000 },
    );
  });

  it('(a) replay with `null: skip` fields: a skipped null is not overwritten on the next look', () => {
    fc.assert(
      fc.property(mergeCase({ nullSkip: true, oneWay: false }, AUTOMATIC), (c) => {
        const m1 = merge({ fields: c.models, left: c.left, right: c.right, base: c.base, ...c.p });
        const s = apply(c, m1);
        const m2 = merge({ fields: c.models, left: s.left, right: s.right, base: m1.base, ...c.p });
        expect(m2.writes).toEqual(noWrites);
      }),
      { numRuns: 3000 },
    );
  });

  it('(b) duplicate / late delivery: merge is a function of (left, right, base); applying it twice changes nothing more', () => {
    fc.assert(
      fc.property(mergeCase({ nullSkip: true, oneWay: true }, POLICIES), (c) => {
        const i = { fields: c.models, left: c.left, right: c.right, base: c.base, ...c.p };
        const m1 = merge(i);
        const m2 = merge(structuredClone(i));
        expect(m2).toEqual(m1);
        // Inputs are not mutated.
        expect(merge(i)).toEqual(m1);
        const once = apply(c, m1);
        const twice = apply(once, m1);
        expect(twice).toEqual(once);
      }),
      { numRuns: 2000 },
    );
  });

  type Op = { kind: 'edit'; side: Side; field: number; value: number } | { kind: 'sync' };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('edit' as const),
        side: fc.constantFrom<Side>('left', 'right'),
        field: fc.nat(2),
        value: fc.nat(6),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'sync' as const }) },
  );

  /** Runs edits and syncs; returns the final state after one last sync. */
  function run(
    c: { gens: GenField[]; models: FieldModel[]; p: { policy: ConflictPolicy; sor: Side } },
    ops: Op[],
    start: { left: Row; right: Row; base: Base | null },
  ) {
    let state = { left: { ...start.left }, right: { ...start.right } };
    let base = start.base;
    let tick = 0;
    const at: Record<Side, string | null> = { left: null, right: null };
    const sync = () => {
      const m = merge({
        fields: c.models,
        left: state.left,
        right: state.right,
        base,
        policy: c.p.policy,
        sor: c.p.sor,
        leftAt: at.left,
        rightAt: at.right,
      });
      expect(m.invalid).toEqual([]);
      state = apply(state, m);
      base = m.base;
      return m;
    };
    for (const op of ops) {
      if (op.kind === 'sync') {
        sync();
        continue;
      }
      const g = c.gens[op.field]!;
      const values = op.side === 'left' ? g.leftValues : g.rightValues;
      const col = op.side === 'left' ? g.spec.left : g.spec.right!;
      state[op.side] = { ...state[op.side], [col]: values[op.value % values.length]! };
      at[op.side] = new Date(Date.UTC(2024, 0, 1, 0, 0, ++tick)).toISOString();
    }
    const last = sync();
    return { state, base, last };
  }

  it('(c) random interleavings of edits on both sides converge under every automatic policy', () => {
    fc.assert(
      fc.property(
        mergeCase({ nullSkip: false, oneWay: true }, AUTOMATIC),
        fc.array(opArb, { maxLength: 30 }),
        (c, ops) => {
          const { state, base } = run(c, ops, { left: c.left, right: c.right, base: c.base });
          expect(allInStep(c.models, state.left, state.right)).toEqual([]);
          // And stays there: another look writes nothing.
          const again = merge({
            fields: c.models,
            left: state.left,
            right: state.right,
            base,
            policy: c.p.policy,
            sor: c.p.sor,
            leftAt: null,
            rightAt: null,
          });
          expect(again.writes).toEqual(noWrites);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('(d) a field changed on one side only always flows to the other, and the changed side keeps its value', () => {
    fc.assert(
      fc.property(
        mergeCase({ nullSkip: false, oneWay: false }, POLICIES),
        fc.constantFrom<Side>('left', 'right'),
        fc.array(fc.tuple(fc.nat(2), fc.nat(6)), { minLength: 1, maxLength: 3 }),
        (c, side, edits) => {
          // Start in step: settle the generated pair first (a policy that holds falls back to left-wins).
          const policy = c.p.policy === 'manual' ? 'left-wins' : c.p.policy;
          const m0 = merge({ fields: c.models, left: c.left, right: c.right, base: c.base, ...c.p, policy });
          const s0 = apply(c, m0);
          const changed = { ...s0[side] };
          for (const [fi, vi] of edits) {
            const g = c.gens[fi]!;
            const values = side === 'left' ? g.leftValues : g.rightValues;
            changed[side === 'left' ? g.spec.left : g.spec.right!] = values[vi % values.length]!;
          }
          const left = side === 'left' ? changed : s0.left;
          const right = side === 'right' ? changed : s0.right;
          const m = merge({ fields: c.models, left, right, base: m0.base, ...c.p });
          expect(m.conflicts).toEqual([]);
          expect(m.held).toBe(false);
          expect(m.writes[side]).toEqual({});
          const s = apply({ left, right }, m);
          for (const f of c.models) {
            const v = (side === 'left' ? left[f.left] : right[f.right]) ?? null;
            if (v === null && f.nullSkip) continue;
            expect(inStep(f, s.left[f.left] ?? null, s.right[f.right] ?? null), f.id).toBe(true);
            const other = side === 'left' ? s.right[f.right] : s.left[f.left];
            const before = side === 'left' ? s0.left[f.left] : s0.right[f.right];
            if (
              v !== (before ?? null) &&
              !inStep(
                f,
                side === 'left' ? v : (left[f.left] ?? null),
                side === 'left' ? (right[f.right] ?? null) : v,
              )
            ) {
              expect(other, f.id).toBe(mapValue(f, side, v));
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('(e) non-one-to-one value maps (many-to-one, defaults, boolean↔text) converge and do not flap', () => {
    const manyToOne = fields(
      { left: 's', right: 's_r', values: { active: 'A', enabled: 'A', on: 'A', inactive: 'I' } },
      { left: 'b', right: 'b_r', leftKind: 'boolean', rightKind: 'text' },
      { left: 'd', right: 'd_r', default: { right: 'none', left: 'n/a' } },
    );
    const gens: GenField[] = [
      {
        spec: { left: 's', right: 's_r' },
        leftValues: ['active', 'enabled', 'on', 'inactive', 'x', null],
        rightValues: ['A', 'I', 'x', 'active', null],
      },
      { spec: { left: 'b', right: 'b_r' }, leftValues: [true, false, null], rightValues: BOOL_TEXT },
      {
        spec: { left: 'd', right: 'd_r' },
        leftValues: [null, 'none', 'n/a', 'v'],
        rightValues: [null, 'none', 'n/a', 'v'],
      },
    ];
    fc.assert(
      fc.property(policyArb(AUTOMATIC), fc.array(opArb, { maxLength: 40 }), (p, ops) => {
        const c = { gens, models: manyToOne, p };
        const { state, base } = run(c, ops, {
          left: { s: 'active', b: true, d: null },
          right: { s_r: 'A', b_r: 'yes', d_r: 'none' },
          base: null,
        });
        expect(allInStep(manyToOne, state.left, state.right)).toEqual([]);
        const again = merge({
          fields: manyToOne,
          left: state.left,
          right: state.right,
          base,
          policy: p.policy,
          sor: p.sor,
          leftAt: null,
          rightAt: null,
        });
        expect(again.writes).toEqual(noWrites);
      }),
      { numRuns: 2000 },
    );
  });

  it('(c′) with a sync after every edit, the last edit of each field wins on both sides', () => {
    fc.assert(
      fc.property(
        mergeCase({ nullSkip: false, oneWay: false }, AUTOMATIC),
        fc.array(opArb, { maxLength: 25 }),
        (c, ops) => {
          // Settle the start, then every edit is followed by a sync: no conflict can arise.
          const m0 = merge({ fields: c.models, left: c.left, right: c.right, base: c.base, ...c.p });
          let state = apply(c, m0);
          let base = m0.base;
          const last = new Map<number, { side: Side; value: Canonical }>();
          for (const op of ops) {
            if (op.kind === 'sync') continue;
            const g = c.gens[op.field]!;
            const values = op.side === 'left' ? g.leftValues : g.rightValues;
            const value = values[op.value % values.length]!;
            const col = op.side === 'left' ? g.spec.left : g.spec.right!;
            state = { ...state, [op.side]: { ...state[op.side], [col]: value } };
            const m = merge({ fields: c.models, left: state.left, right: state.right, base, ...c.p });
            expect(m.conflicts).toEqual([]);
            state = apply(state, m);
            base = m.base;
            last.set(op.field, { side: op.side, value });
          }
          for (const [fi, { side, value }] of last) {
            const f = c.models[fi]!;
            expect(side === 'left' ? state.left[f.left] : state.right[f.right], f.id).toBe(value);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
