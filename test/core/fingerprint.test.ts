import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base36, fingerprint } from '../../src/core/fingerprint.js';
import { baseFromJson, decodeBase, encodeBase } from '../../src/state/base-text.js';

describe('fingerprint', () => {
  it('writes base 36 exactly as Number#toString(36) does, over the whole 32-bit range', () => {
    for (const n of [0, 1, 35, 36, 1295, 1296, 46655, 46656, 2 ** 31, 2 ** 32 - 1]) {
      expect(base36(n)).toBe(n.toString(36));
    }
    fc.assert(fc.property(fc.nat({ max: 2 ** 32 - 1 }), (n) => base36(n) === n.toString(36)));
  });

  it('keeps the stored text format: `s` + two base-36 halves', () => {
    // Bases saved by earlier versions must still compare equal.
    expect(fingerprint('user1@example.com')).toMatch(/^s[0-9a-z]{1,5}:[0-9a-z]{1,7}$/);
    expect([fingerprint(null), fingerprint(true), fingerprint(false)]).toEqual(['n', 't', 'f']);
  });
});

describe('stored base text', () => {
  it('round-trips any base, one string for equal sides, a pair otherwise', () => {
    const fp = fc.oneof(fc.string(), fc.constant(null), fc.boolean()).map(fingerprint);
    const field = fc.string({ minLength: 1 }).filter((f) => f !== '__proto__');
    fc.assert(
      fc.property(fc.dictionary(field, fc.tuple(fp, fp)), (base) => {
        expect(decodeBase(encodeBase(base))).toEqual(base);
      }),
    );
    expect(encodeBase({ a: ['sx:y', 'sx:y'], 'b"': ['n', 't'] })).toBe('{"a":"sx:y","b\\"":["n","t"]}');
  });

  it('reads bases stored as pairs by earlier versions', () => {
    expect(decodeBase('{"a":["sx:y","sx:y"]}')).toEqual({ a: ['sx:y', 'sx:y'] });
    expect(baseFromJson({ a: 'n' })).toEqual({ a: ['n', 'n'] });
  });
});
