import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/core/fingerprint.js';
import { baseFromJson, decodeBase, encodeBase } from '../../src/state/base-text.js';

describe('fingerprint', () => {
  it('is exactly the text earlier versions stored (cyrb53 halves in base 36), for any value', () => {
    // The reference: the straightforward form of the same function. Stored bases must keep matching.
    const reference = (text: string): string => {
      let h1 = 0xdeadbeef;
      let h2 = 0x41c6ce57;
      for (let i = 0; i < text.length; i++) {
        const ch = text.charCodeAt(i);
        h1 = Math.imul(h1 ^ ch, 2654435761);
        h2 = Math.imul(h2 ^ ch, 1597334677);
      }
      h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
      h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
      h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
      h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
      return `s${((2097151 & h2) >>> 0).toString(36)}:${(h1 >>> 0).toString(36)}`;
    };
    for (const v of ['', 'a', 'user1@example.com', '0', '-12.5', 'Ünïcode ✓'])
      expect(fingerprint(v)).toBe(reference(v));
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (v) => fingerprint(v) === reference(v)));
    // Enough values that every length of the text (9 to 14 characters) comes up many times.
    const lengths = new Set<number>();
    for (let i = 0; i < 200_000; i++) {
      const v = `value ${i}`;
      const f = fingerprint(v);
      lengths.add(f.length);
      if (f !== reference(v)) expect(f).toBe(reference(v));
    }
    expect([...lengths].sort()).toEqual([10, 11, 12, 13, 14, 9].sort());
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
