/**
 * Fingerprints stand in for values in the base, so tandem keeps no copy of
 * user data. They are only ever compared with fingerprints of the same field
 * on the same side, so the type tag plus a 53-bit hash is plenty.
 */
import type { Canonical } from './types.js';

/** cyrb53: a fast, well-mixed 53-bit string hash (public-domain algorithm), as text. */
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
  // Two halves in base 36 (a 53-bit double's toString(36) is many times slower).
  return `${base36((2097151 & h2) >>> 0)}:${base36(h1 >>> 0)}`;
}

const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz';
/** Every two-digit base-36 string, so a 32-bit number takes at most three lookups. */
const PAIRS = Array.from({ length: 36 * 36 }, (_, i) => DIGITS[Math.floor(i / 36)]! + DIGITS[i % 36]!);

/** `n.toString(36)` for 0 ≤ n < 2^32, about three times faster: it runs for every field of every record. */
export function base36(n: number): string {
  if (n < 36) return DIGITS[n]!;
  let out = '';
  while (n >= 1296) {
    const q = Math.floor(n / 1296);
    out = PAIRS[n - q * 1296]! + out;
    n = q;
  }
  return (n < 36 ? DIGITS[n]! : PAIRS[n]!) + out;
}

export type Fingerprint = string;

export function fingerprint(value: Canonical): Fingerprint {
  if (value === null) return 'n';
  if (value === true) return 't';
  if (value === false) return 'f';
  return `s${hash53(value)}`;
}
