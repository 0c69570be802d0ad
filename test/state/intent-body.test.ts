/**
 * The stored forms of intents and links: whatever an intent holds comes back
 * the same from its text, and links cross to the store's thread intact.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprint, valueHash } from '../../src/core/fingerprint.js';
import { type Base, baseOf, HashedBase } from '../../src/core/merge.js';
import { decodeBase } from '../../src/state/base-text.js';
import { createdLinkRows, decodeIntentBody, encodeIntentBody } from '../../src/state/intent-body.js';
import { LINK_STRIDE, landedFromText, landedToText, linksToRows } from '../../src/state/sqlite-encoding.js';
import type { IntentCreate } from '../../src/state/store.js';

const fp = fc.oneof(fc.string(), fc.constant(null), fc.boolean()).map(fingerprint);
const side = fc.constantFrom('left' as const, 'right' as const);
const time = fc.option(fc.constant('2026-11-27T15:19:17.123Z'), { nil: null });

// Mostly the same fingerprint on both sides (as after a create), now and then two.
const pair = fc.oneof(
  { weight: 3, arbitrary: fp.map((x): [string, string] => [x, x]) },
  { weight: 1, arbitrary: fc.tuple(fp, fp) },
);

const base = (fields: string[]) =>
  fc.tuple(...fields.map(() => pair)).map((pairs) => {
    const b: Base = {};
    fields.forEach((f, i) => {
      b[f] = pairs[i]!;
    });
    return b;
  });

// A create as the engine plans it: the hashes of its fingerprints, mostly one value on both sides.
const value = fc.oneof(fc.string(), fc.constant(null), fc.boolean());
const hashPair = fc.oneof(
  { weight: 3, arbitrary: value.map((v) => [valueHash(v), valueHash(v)]) },
  { weight: 1, arbitrary: fc.tuple(value, value).map(([l, r]) => [valueHash(l), valueHash(r)]) },
);
const hashedBase = (fields: readonly string[]) =>
  fc.tuple(...fields.map(() => hashPair)).map((pairs) => new HashedBase(fields, pairs.flat()));

const create = (fields: string[]) =>
  fc.record(
    {
      ref: fc.nat(),
      target: side,
      source: side,
      sourceKey: fc.string(),
      identity: fc.option(fc.string(), { nil: null }),
      // Mostly the batch's fields; now and then another set, which must still round-trip.
      // Hashed (as planned) or text (as read back), mostly the batch's fields; now and then
      // another set, which must still round-trip.
      base: fc.oneof(
        { weight: 4, arbitrary: hashedBase(fields) },
        { weight: 2, arbitrary: base(fields) },
        { weight: 1, arbitrary: base(['other', 'x"y']) },
      ),
      leftAt: time,
      rightAt: time,
      replacesLinkId: fc.nat(),
    },
    { requiredKeys: ['ref', 'target', 'source', 'sourceKey', 'identity', 'base', 'leftAt', 'rightAt'] },
  ) as fc.Arbitrary<IntentCreate>;

/** A create from left to right of record 7, with what a test is about in `patch`. */
const leftToRight = (patch: Partial<IntentCreate> = {}): IntentCreate => ({
  ref: 1,
  target: 'right',
  source: 'left',
  sourceKey: '7',
  identity: '7',
  base: { email: ['sa:b', 'sa:b'] },
  leftAt: null,
  rightAt: null,
  ...patch,
});

describe('intent body', () => {
  it('round-trips creates, whatever their keys, bases and field sets', () => {
    // (`__proto__` is left out: assigning it on a plain object sets the prototype, in the test's builder too.)
    const field = fc.string({ minLength: 1 }).filter((f) => f !== '__proto__');
    const fields = fc.uniqueArray(field, { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(
        fields.chain((f) => fc.array(create(f), { maxLength: 8 })),
        (creates) => {
          // Read back, every base is text.
          const read = creates.map((c) => ({ ...c, base: baseOf(c.base) }));
          expect(decodeIntentBody(encodeIntentBody({ creates, links: [] }))).toEqual({
            creates: read,
            links: [],
          });
        },
      ),
    );
  });

  it('makes the links of the creates that landed straight from the body', () => {
    const field = fc.string({ minLength: 1 }).filter((f) => f !== '__proto__');
    const fields = fc.uniqueArray(field, { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(
        fields.chain((f) => fc.array(create(f), { maxLength: 6 })),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        (generated, lands) => {
          // Refs are distinct within an intent.
          const creates = generated.map((c, i) => ({ ...c, ref: i + 1 }));
          const landed: [number, string][] = creates
            .filter((_, i) => lands[i])
            .map((c) => [c.ref, `new-${c.ref}`]);
          // The base as stored text (its fields' order in the text does not matter).
          const rows = createdLinkRows(encodeIntentBody({ creates, links: [] }), landed).map(
            (r) => r && [...r.slice(0, 3), decodeBase(r[3]), ...r.slice(4)],
          );
          expect(rows).toEqual(
            landed.map(([ref, key]) => {
              const c = creates[ref - 1]!;
              return [
                c.identity ?? key,
                c.target === 'left' ? key : c.sourceKey,
                c.target === 'right' ? key : c.sourceKey,
                baseOf(c.base),
                c.leftAt,
                c.rightAt,
              ];
            }),
          );
          expect(createdLinkRows(encodeIntentBody({ creates, links: [] }), [[99, 'x']])).toEqual([undefined]);
        },
      ),
    );
  });

  it('reads intents saved with creates as objects by earlier versions', () => {
    const old = { creates: [leftToRight()], links: [] };
    expect(decodeIntentBody(JSON.stringify(old))).toEqual(old);
  });

  it('reads intents saved flat with two fingerprints per field by earlier versions', () => {
    const old = {
      fields: ['email', 'name'],
      stride: 12,
      creates: [3, 'right', 'left', '7', null, 'T1', null, 5, 'sa:b', 'sa:b', 'sc:d', 'se:f'],
      other: [],
      links: [],
    };
    const create = leftToRight({
      ref: 3,
      identity: null,
      base: { email: ['sa:b', 'sa:b'], name: ['sc:d', 'se:f'] },
      leftAt: 'T1',
      replacesLinkId: 5,
    });
    expect(decodeIntentBody(JSON.stringify(old))).toEqual({ creates: [create], links: [] });
    expect(createdLinkRows(JSON.stringify(old), [[3, '70']])).toEqual([
      ['70', '7', '70', '{"email":"sa:b","name":["sc:d","se:f"]}', 'T1', null],
    ]);
  });

  it('reads intents saved flat with one value per field by earlier versions', () => {
    const old = {
      fields: ['email', 'name'],
      stride: 10,
      one: 1,
      creates: [3, 'right', 'left', '7', '7', null, null, null, 'sa:b', ['sc:d', 'se:f']],
      other: [],
      links: [],
    };
    const create = leftToRight({ ref: 3, base: { email: ['sa:b', 'sa:b'], name: ['sc:d', 'se:f'] } });
    expect(decodeIntentBody(JSON.stringify(old))).toEqual({ creates: [create], links: [] });
    expect(createdLinkRows(JSON.stringify(old), [[3, '70']])).toEqual([
      ['7', '7', '70', '{"email":"sa:b","name":["sc:d","se:f"]}', null, null],
    ]);
  });

  it('keeps per create only its key and fingerprints when the batch shares the rest', () => {
    const creates = [7, 8, 9].map((k, i) =>
      leftToRight({
        ref: 11 + i,
        sourceKey: String(k),
        identity: String(k),
        base: { email: [`se:${k}`, `se:${k}`], name: ['sc:d', 'se:f'] },
      }),
    );
    const body = JSON.parse(encodeIntentBody({ creates, links: [] }));
    expect(body.head).toEqual({
      ref: { from: 11 },
      identity: { key: 1 },
      target: { same: 'right' },
      source: { same: 'left' },
      leftAt: { same: null },
      rightAt: { same: null },
      replacesLinkId: { same: null },
    });
    expect(body.keys).toEqual(['7', '8', '9']);
    expect(body.fps).toEqual(['se:7', ['sc:d', 'se:f'], 'se:8', ['sc:d', 'se:f'], 'se:9', ['sc:d', 'se:f']]);
    // Creates that differ keep their values by column, and read back the same.
    const mixed = [creates[0]!, { ...creates[1]!, ref: 40, identity: null, leftAt: 'T1', replacesLinkId: 3 }];
    const again = JSON.parse(encodeIntentBody({ creates: mixed, links: [] }));
    expect(again.head.ref).toEqual([11, 40]);
    expect(again.head.identity).toEqual(['7', null]);
    expect(again.head.leftAt).toEqual([null, 'T1']);
    expect(again.head.replacesLinkId).toEqual([null, 3]);
    expect(again.head.target).toEqual({ same: 'right' });
    expect(decodeIntentBody(JSON.stringify(again))).toEqual({ creates: mixed, links: [] });
  });
});

describe('links to the store thread', () => {
  it('flattens each link to its stride, base encoded', () => {
    const rows = linksToRows([
      {
        sync: 's',
        id: 4,
        identity: 'i',
        leftKey: 'l',
        rightKey: null,
        base: { a: ['n', 't'] },
        leftAt: null,
        rightAt: 'r',
      },
    ]);
    expect(rows).toHaveLength(LINK_STRIDE);
    expect(rows).toEqual([4, 'i', 'l', null, '{"a":["n","t"]}', null, 'r']);
  });
});

describe('landed creates to the store thread', () => {
  it('come back as the same pairs, in order', () => {
    const landed: [number, string][] = [
      [1, '41'],
      [2, '42'],
      [3, 'x'],
      [5, '44'],
    ];
    expect(landedFromText(landedToText(landed))).toEqual(landed);
  });
});

describe('an intent of creates as the engine plans them (hashed bases)', () => {
  it('keeps one number per field, and the right side only where it differs', () => {
    const fields = Object.freeze(['email', 'name']);
    const creates = ['a@x', 'b@x'].map((email, i) =>
      leftToRight({
        ref: i + 1,
        sourceKey: String(i + 1),
        identity: String(i + 1),
        // The second create's name maps to another value on the right.
        base: new HashedBase(fields, [
          valueHash(email),
          valueHash(email),
          valueHash('N'),
          valueHash(i === 0 ? 'N' : 'n'),
        ]),
      }),
    );
    const body = JSON.parse(encodeIntentBody({ creates, links: [] }));
    expect(body.fps).toBeUndefined();
    expect(Buffer.from(body.hashes, 'base64')).toHaveLength(2 * 2 * 8);
    expect(body.apart).toEqual([3, valueHash('n')]);
    expect(decodeIntentBody(JSON.stringify(body)).creates.map((c) => c.base)).toEqual([
      { email: [fingerprint('a@x'), fingerprint('a@x')], name: [fingerprint('N'), fingerprint('N')] },
      { email: [fingerprint('b@x'), fingerprint('b@x')], name: [fingerprint('N'), fingerprint('n')] },
    ]);
  });
});
