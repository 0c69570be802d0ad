/**
 * When a transaction read from the log is visible to a new snapshot
 * (stream.ts waits for it before the engine reads the rows it changed): the
 * 32-bit id pgoutput sends, placed in the snapshot's epoch.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { visibleIn } from '../../src/connectors/postgres/stream.js';

const EPOCH = 0x100000000n;

describe('visibleIn', () => {
  it('sees what finished before xmin, not what is in progress or not yet begun', () => {
    expect(visibleIn('100:110:', 99)).toBe(true);
    expect(visibleIn('100:110:103,105', 103)).toBe(false);
    expect(visibleIn('100:110:103,105', 104)).toBe(true);
    // Committed to the log, not yet published to snapshots: at or past xmax.
    expect(visibleIn('100:110:', 110)).toBe(false);
    expect(visibleIn('100:110:', 111)).toBe(false);
  });

  it('places the 32-bit id in the right epoch across a wraparound', () => {
    const xmax = 3n * EPOCH + 5n; // epoch 3, just past the wrap
    // 0xFFFFFFF0 is from epoch 2 (before the wrap), finished long before xmin.
    expect(visibleIn(`${3n * EPOCH + 1n}:${xmax}:`, 0xfffffff0)).toBe(true);
    // In progress in epoch 2.
    expect(visibleIn(`${2n * EPOCH + 0xffffffe0n}:${xmax}:${2n * EPOCH + 0xfffffff0n}`, 0xfffffff0)).toBe(
      false,
    );
    // Id 7 is epoch 3, past xmax: not visible yet.
    expect(visibleIn(`${3n * EPOCH}:${xmax}:`, 7)).toBe(false);
  });

  it('agrees with the snapshot rule for any recent transaction', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1000n, max: 50n * EPOCH }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: -1000, max: 200 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 499 }), { maxLength: 20 }),
        (xmax, span, offset, inProgress) => {
          const xmin = xmax - BigInt(span);
          const xip = inProgress.map((d) => xmin + BigInt(d)).filter((x) => x < xmax);
          const full = xmax + BigInt(offset);
          const expected = full < xmin || (full < xmax && !xip.includes(full));
          const snap = `${xmin}:${xmax}:${xip.join(',')}`;
          expect(visibleIn(snap, Number(full % EPOCH))).toBe(expected);
        },
      ),
    );
  });
});
