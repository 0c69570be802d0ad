/**
 * Ref-key runs: whatever pairs go in come back the same, in order, and a
 * batch of keys a table numbered itself packs to a few numbers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { receiptFromText, receiptText } from '../../src/connectors/receipt-text.js';
import { packRefKeys, unpackRefKeys } from '../../src/core/ref-key-runs.js';

const pack = (pairs: [number, string][]) =>
  packRefKeys(
    pairs.length,
    (i) => pairs[i]![0],
    (i) => pairs[i]![1],
  );
const unpack = (packed: (number | string)[]) => {
  const out: [number, string][] = [];
  unpackRefKeys(packed, (ref, key) => out.push([ref, key]));
  return out;
};

// Keys that look like integers and may or may not count up: runs, breaks, leading zeros, big ones.
const key = fc.oneof(
  fc.integer({ min: -3, max: 3 }).map(String),
  fc.constantFrom('007', '-0', '1e3', '9007199254740993', '999999999999999', '1000000000000000', ''),
  fc.string(),
);
// Runs of consecutive refs and keys, spliced with arbitrary pairs.
const run = fc
  .tuple(fc.nat(1000), fc.integer({ min: -5, max: 999999999999990 }), fc.integer({ min: 1, max: 8 }))
  .map(([ref, k, n]) => Array.from({ length: n }, (_, j): [number, string] => [ref + j, String(k + j)]));
const pairs = fc
  .array(
    fc.oneof(
      run,
      fc.tuple(fc.nat(1000), key).map((p) => [p]),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.flat() as [number, string][]);

describe('ref-key runs', () => {
  it('give back every pair in order, whatever the refs and keys', () => {
    fc.assert(
      fc.property(pairs, (p) => {
        expect(unpack(pack(p))).toEqual(p);
      }),
    );
  });

  it('pack a batch of numbered inserts into one run', () => {
    const batch = Array.from({ length: 500 }, (_, i): [number, string] => [i + 1, String(1000 + i)]);
    expect(pack(batch)).toEqual([1, 1000, 500]);
    // Keys that would not read back the same as numbers stay text.
    expect(
      pack([
        [1, '007'],
        [2, '008'],
      ]),
    ).toEqual([1, '007', 2, '008']);
    expect(
      pack([
        [1, '9007199254740993'],
        [2, '9007199254740994'],
      ]),
    ).toEqual([1, '9007199254740993', 2, '9007199254740994']);
  });
});

describe('receipt text', () => {
  it('keeps the refs that landed and their keys, not the ones refused', () => {
    const text = receiptText([
      { ref: 1, ok: true, key: '10' },
      { ref: 2, ok: true, key: '11' },
      { ref: 3, ok: false, message: 'refused' },
      { ref: 4, ok: true, key: 'k"4' },
    ]);
    expect(receiptFromText(text)).toEqual({ ok: [1, 2, 4], keys: { 1: '10', 2: '11', 4: 'k"4' } });
  });

  it('reads receipts stored by earlier versions', () => {
    const old = { ok: [3, 5], keys: { 3: 'a', 5: 'b' } };
    expect(receiptFromText(JSON.stringify(old))).toEqual(old);
  });
});
