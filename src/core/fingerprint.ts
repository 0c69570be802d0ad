/**
 * Fingerprints stand in for values in the base, so tandem keeps no copy of
 * user data. They are only ever compared with fingerprints of the same field
 * on the same side, so the type tag plus a 53-bit hash is plenty.
 */
import type { Canonical } from './types.js';

/**
 * cyrb53 of `text`, a fast, well-mixed 53-bit string hash (public-domain
 * algorithm): the low 21 bits of its second half above the 32 of its first.
 */
export function textHash(text: string): number {
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
  return (2097151 & h2) * TWO_32 + (h1 >>> 0);
}

const TWO_32 = 4294967296;

/**
 * A value's fingerprint as a number (exact in a double): its text's hash, or
 * a negative code for null, true and false. What a create keeps until its
 * base is stored (HashedBase): a number costs the engine's thread far less
 * than the text, which `hashText` makes where the base is written.
 */
export function valueHash(value: Canonical): number {
  if (value === null) return NULL_HASH;
  if (value === true) return TRUE_HASH;
  if (value === false) return FALSE_HASH;
  return textHash(value);
}

const NULL_HASH = -1;
const TRUE_HASH = -2;
const FALSE_HASH = -3;

/** The fingerprint text of a valueHash: `n`, `t`, `f`, or `s` and the hash's two halves in base 36, joined by `:`. */
export function hashText(hash: number): Fingerprint {
  if (hash < 0) return hash === NULL_HASH ? 'n' : hash === TRUE_HASH ? 't' : 'f';
  const high = Math.floor(hash / TWO_32);
  // It runs for every field of every record, so the digits are written backwards into a fixed
  // buffer (no reversal) and the string is made in one call with the characters as arguments,
  // which V8 builds directly.
  const low = digits36(hash - high * TWO_32, CODES_END);
  codes[low - 1] = 58; // :
  const start = digits36(high, low - 1);
  codes[start - 1] = 115; // s
  return fromCodes(start - 1);
}

/** Char codes of the fingerprint being made, ending at CODES_END: `s`, ≤ 5 digits, `:`, ≤ 7 digits. */
const CODES_END = 14;
const codes: number[] = new Array(CODES_END).fill(0);
const DIGIT_CODES = Array.from('0123456789abcdefghijklmnopqrstuvwxyz', (c) => c.charCodeAt(0));

/** Writes `v` (0 ≤ v < 2^32) in base 36 into `codes`, ending just before `end`; returns where it starts. */
function digits36(v: number, end: number): number {
  let at = end;
  do {
    const q = (v / 36) >>> 0;
    codes[--at] = DIGIT_CODES[v - q * 36]!;
    v = q;
  } while (v > 0);
  return at;
}

/** The string of `codes[from..CODES_END)`: fingerprints are 9 to 14 characters long. */
// biome-ignore format: one line per length reads better than one argument per line
function fromCodes(from: number): string {
  const c = codes;
  switch (CODES_END - from) {
    case 14: return String.fromCharCode(c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!, c[12]!, c[13]!);
    case 13: return String.fromCharCode(c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!, c[12]!, c[13]!);
    case 12: return String.fromCharCode(c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!, c[12]!, c[13]!);
    case 11: return String.fromCharCode(c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!, c[12]!, c[13]!);
    default: return String.fromCharCode.apply(null, c.slice(from, CODES_END));
  }
}

export type Fingerprint = string;

export function fingerprint(value: Canonical): Fingerprint {
  return hashText(valueHash(value));
}
