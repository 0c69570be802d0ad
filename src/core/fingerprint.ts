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
  // Two 32-bit halves in base 36: (53-bit double).toString(36) is many times slower.
  return `${((2097151 & h2) >>> 0).toString(36)}:${(h1 >>> 0).toString(36)}`;
}

export type Fingerprint = string;

export function fingerprint(value: Canonical): Fingerprint {
  if (value === null) return 'n';
  if (value === true) return 't';
  if (value === false) return 'f';
  return `s${hash53(value)}`;
}
