/**
 * SQLite's value conversion: a decimal fraction takes the quick way to a REAL
 * only when the REAL writes back as exactly the same text (the others are
 * checked the long way, convert.ts decimalNative).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactFraction } from '../../src/connectors/sqlite/convert.js';

// Canonical decimal texts of every size: integer part, leading zeros after the point, digits.
const fraction = fc
  .tuple(
    fc.boolean(),
    fc.oneof(fc.constant('0'), fc.bigInt({ min: 1n, max: 10n ** 18n }).map(String)),
    fc.nat(9).map((z) => '0'.repeat(z)),
    fc.bigInt({ min: 1n, max: 10n ** 17n }).map((d) => String(d).replace(/0+$/, '')),
  )
  .map(([neg, int, zeros, digits]) => `${neg ? '-' : ''}${int}.${zeros}${digits}`);

describe('exactFraction', () => {
  it('is true only when the number reads back as the same text, and always up to 15 digits from 1e-6', () => {
    fc.assert(
      fc.property(fraction, (v) => {
        const same = String(Number(v)) === v;
        if (exactFraction(v)) expect(same, v).toBe(true);
        const significant = v.replace(/^-?[0.]*/, '').replace('.', '').length;
        if (same && significant <= 15 && !/^-?0\.0{6}/.test(v)) expect(exactFraction(v), v).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('is false for text that is not a canonical fraction', () => {
    for (const v of ['1', '10', '1.50', '01.5', '+1.5', '1e-7', '.5', '1.', '', 'abc', '-0.0']) {
      expect(exactFraction(v), v).toBe(false);
    }
    for (const v of ['0.000001', '-12.5', '123456789.123456', '0.1']) expect(exactFraction(v), v).toBe(true);
  });
});
