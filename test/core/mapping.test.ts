/**
 * Field mapping: what one side's value becomes on the other, and when two
 * values are "in step" (SPEC §2: each side holds what the mapping makes of the
 * other side's value).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inStep, mapValue } from '../../src/core/mapping.js';
import { fieldId, valueText } from '../../src/core/model.js';
import type { Canonical } from '../../src/core/types.js';
import { field, fields } from './fields.js';

describe('buildFields', () => {
  it('names fields by their columns and keeps config order', () => {
    const fs = fields({ left: 'email' }, { left: 'name', right: 'full_name' });
    expect(fs.map((f) => f.id)).toEqual(['email', 'name:full_name']);
    expect(fieldId('a', 'a')).toBe('a');
    expect(fieldId('a', 'b')).toBe('a:b');
  });

  it('builds the inverse value map', () => {
    const f = field({ left: 'status', right: 'state', values: { active: 'A', inactive: 'I' } });
    expect([...f.toRightValues!]).toEqual([
      ['active', 'A'],
      ['inactive', 'I'],
    ]);
    expect([...f.toLeftValues!]).toEqual([
      ['A', 'active'],
      ['I', 'inactive'],
    ]);
  });

  it('carries defaults, direction and null handling', () => {
    const f = field({ left: 'n', default: { right: 'none' }, direction: 'left-to-right', null: 'skip' });
    expect(f.defaultRight).toBe('none');
    expect(f.defaultLeft).toBeUndefined();
    expect(f.direction).toBe('left-to-right');
    expect(f.nullSkip).toBe(true);
  });

  it('valueText', () => {
    expect(valueText(null)).toBe('');
    expect(valueText(true)).toBe('true');
    expect(valueText('x')).toBe('x');
  });
});

describe('mapValue', () => {
  const status = field({ left: 'status', right: 'state', values: { active: 'A', inactive: 'I' } });

  it('maps through the value map both ways; values not in it pass unchanged', () => {
    expect(mapValue(status, 'left', 'active')).toBe('A');
    expect(mapValue(status, 'right', 'I')).toBe('inactive');
    expect(mapValue(status, 'left', 'other')).toBe('other');
    expect(mapValue(status, 'right', 'other')).toBe('other');
    expect(mapValue(status, 'left', null)).toBeNull();
  });

  it('coerces to the target kind', () => {
    const f = field({ left: 'n', leftKind: 'integer', rightKind: 'decimal' });
    expect(mapValue(f, 'left', '42')).toBe('42');
    expect(mapValue(f, 'right', '42')).toBe('42');
    expect(mapValue(f, 'right', '4.2')).toBeUndefined();
    const b = field({ left: 'flag', leftKind: 'boolean', rightKind: 'text' });
    expect(mapValue(b, 'left', true)).toBe('true');
    expect(mapValue(b, 'right', 'yes')).toBe(true);
    expect(mapValue(b, 'right', 'maybe')).toBeUndefined();
  });

  it('applies defaults to nulls only, on the side they are named for', () => {
    const f = field({ left: 'c', default: { right: 'none', left: 'n/a' } });
    expect(mapValue(f, 'left', null)).toBe('none');
    expect(mapValue(f, 'right', null)).toBe('n/a');
    expect(mapValue(f, 'left', 'x')).toBe('x');
  });

  it('a value mapped to null becomes the default', () => {
    const f = field({ left: 'c', values: { gone: null }, default: { right: 'none' } });
    expect(mapValue(f, 'left', 'gone')).toBe('none');
  });

  it('maps booleans through a value map by their text', () => {
    const f = field({
      left: 'flag',
      leftKind: 'boolean',
      rightKind: 'text',
      values: { true: 'Y', false: 'N' },
    });
    expect(mapValue(f, 'left', true)).toBe('Y');
    expect(mapValue(f, 'right', 'N')).toBe(false);
  });

  it('an empty string on the right is not a null (no value maps back to it)', () => {
    const f = field({ left: 'c', values: { gone: null } });
    // valueText(null) is '' too: the inverse map must not turn a real '' into 'gone'.
    expect(mapValue(f, 'right', '')).toBe('');
  });
});

describe('inStep', () => {
  it('equal values of one kind are in step', () => {
    const f = field({ left: 'a' });
    expect(inStep(f, 'x', 'x')).toBe(true);
    expect(inStep(f, null, null)).toBe(true);
    expect(inStep(f, 'x', 'y')).toBe(false);
    expect(inStep(f, 'x', null)).toBe(false);
  });

  it('a many-to-one map: every left value that maps to the right one is in step', () => {
    const f = field({ left: 's', values: { active: 'A', enabled: 'A', inactive: 'I' } });
    expect(inStep(f, 'active', 'A')).toBe(true);
    expect(inStep(f, 'enabled', 'A')).toBe(true);
    expect(inStep(f, 'inactive', 'A')).toBe(false);
  });

  it('a default: null on one side is in step with the default on the other', () => {
    const f = field({ left: 's', default: { right: 'none' } });
    expect(inStep(f, null, 'none')).toBe(true);
    expect(inStep(f, null, null)).toBe(true);
    expect(inStep(f, 'none', 'none')).toBe(true);
  });

  it('across kinds', () => {
    const f = field({ left: 'flag', leftKind: 'boolean', rightKind: 'integer' });
    expect(inStep(f, true, '1')).toBe(true);
    expect(inStep(f, false, '0')).toBe(true);
    expect(inStep(f, true, '0')).toBe(false);
  });

  const textValue = fc.oneof(fc.constant(null), fc.constantFrom('a', 'b', 'c', 'A', 'B', 'I', ''));
  const valueMap = fc.dictionary(
    fc.constantFrom('a', 'b', 'c', 'x'),
    fc.constantFrom<Canonical>('A', 'B', 'I', 'x', null),
    {
      maxKeys: 4,
    },
  );

  it('property: what the mapping makes of a value is in step with it, from either side', () => {
    fc.assert(
      fc.property(
        valueMap,
        fc.option(fc.constantFrom('a', 'A', 'n'), { nil: undefined }),
        textValue,
        fc.boolean(),
        (values, def, v, fromLeft) => {
          const f = field({
            left: 's',
            values,
            ...(def !== undefined ? { default: fromLeft ? { right: def } : { left: def } } : {}),
          });
          const mapped = mapValue(f, fromLeft ? 'left' : 'right', v);
          expect(mapped).toBeDefined();
          expect(fromLeft ? inStep(f, v, mapped!) : inStep(f, mapped!, v)).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: inStep is a function of the canonical values (same answer every time)', () => {
    fc.assert(
      fc.property(valueMap, textValue, textValue, (values, l, r) => {
        const f = field({ left: 's', values });
        expect(inStep(f, l, r)).toBe(inStep(f, l, r));
      }),
    );
  });

  it('property: for a one-to-one map, mapping there and back is the identity', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 0, maxLength: 4 }),
        fc.constantFrom('a', 'b', 'c', 'd', 'z'),
        (keys, v) => {
          // A bijection onto fresh right values: left key k ↔ right `R_k`.
          const values = Object.fromEntries(keys.map((k) => [k, `R_${k}`]));
          const f = field({ left: 's', values });
          const there = mapValue(f, 'left', v)!;
          expect(mapValue(f, 'right', there)).toBe(v);
        },
      ),
    );
  });
});
