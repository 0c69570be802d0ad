/**
 * Lists of [ref, key] pairs (a batch's writes and the keys they landed under)
 * as one flat array, ready for JSON, in order. A run of pairs whose refs and
 * keys both count up by one (rows a table numbered itself, as every insert of
 * a first sync is) is written `ref, firstKey, count`, the key as a number;
 * any other pair `ref, key`, the key as text. A batch of 500 such creates is
 * then three numbers instead of a thousand values, which matters where it is
 * written and read for every batch (receipts, landed creates).
 */
import { isExactIntegerText } from './canonical.js';

export type RefKeyRuns = (number | string)[];

export function packRefKeys(
  count: number,
  refAt: (i: number) => number,
  keyAt: (i: number) => string,
): RefKeyRuns {
  const out: RefKeyRuns = [];
  for (let i = 0; i < count; ) {
    const ref = refAt(i);
    const key = keyAt(i);
    if (isExactIntegerText(key)) {
      const first = Number(key);
      let n = 1;
      while (i + n < count && refAt(i + n) === ref + n && keyAt(i + n) === String(first + n)) n++;
      if (n > 1) {
        out.push(ref, first, n);
        i += n;
        continue;
      }
    }
    out.push(ref, key);
    i++;
  }
  return out;
}

/** Calls `visit` for every pair packRefKeys was given, in order. */
export function unpackRefKeys(packed: RefKeyRuns, visit: (ref: number, key: string) => void): void {
  for (let i = 0; i < packed.length; ) {
    const ref = packed[i] as number;
    const key = packed[i + 1]!;
    if (typeof key === 'string') {
      visit(ref, key);
      i += 2;
      continue;
    }
    const n = packed[i + 2] as number;
    for (let j = 0; j < n; j++) visit(ref + j, String(key + j));
    i += 3;
  }
}
