/**
 * Fingerprints stand in for values in the base, so tandem keeps no copy of
 * user data. They are only ever compared with fingerprints of the same field
 * on the same side, so the type tag plus a 53-bit hash is plenty.
 */
import type { Canonical } from './types.js';

/** cyrb53: a fast, well-mixed 53-bit string hash (public-domain algorithm), as fingerprint text. */
function hash53(text: string, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  // `s`, then two halves in base 36 joined by `:`, made as one string (it runs for every field
  // of every record: pieces concatenated would each be a string of their own).
  let n = 0;
  codes[n++] = 115; // s
  n = digits36((2097151 & h2) >>> 0, n);
  codes[n++] = 58; // :
  n = digits36(h1 >>> 0, n);
  codes.length = n;
  return String.fromCharCode.apply(null, codes);
}

/** Char codes of the fingerprint being made (at most 1 + 5 + 1 + 7). */
const codes: number[] = [];
const DIGIT_CODES = Array.from('0123456789abcdefghijklmnopqrstuvwxyz', (c) => c.charCodeAt(0));

/** Writes `v` (0 ≤ v < 2^32) in base 36 into `codes` from `at`; returns the end. */
function digits36(v: number, at: number): number {
  let end = at;
  do {
    const q = Math.floor(v / 36);
    codes[end++] = DIGIT_CODES[v - q * 36]!;
    v = q;
  } while (v > 0);
  // Digits came least significant first.
  for (let i = at, j = end - 1; i < j; i++, j--) {
    const t = codes[i]!;
    codes[i] = codes[j]!;
    codes[j] = t;
  }
  return end;
}

export type Fingerprint = string;

export function fingerprint(value: Canonical): Fingerprint {
  if (value === null) return 'n';
  if (value === true) return 't';
  if (value === false) return 'f';
  return hash53(value);
}
