/**
 * How a base is stored: JSON, field id to fingerprint, where a field whose two
 * sides share a fingerprint (most fields) keeps one string instead of a pair.
 * Written by hand (field names quoted once and cached) because it runs for
 * every link a batch saves. Bases saved as pairs by earlier versions read back
 * the same.
 */
import type { Base } from '../core/merge.js';

const quoted = new Map<string, string>();

function quote(field: string): string {
  let q = quoted.get(field);
  if (q === undefined) {
    q = JSON.stringify(field);
    quoted.set(field, q);
  }
  return q;
}

/** Fingerprints are `n`, `t`, `f` or `s` + base-36 digits and `:`: nothing in them needs escaping. */
export function encodeBase(base: Base): string {
  let out = '{';
  for (const field in base) {
    const [left, right] = base[field]!;
    if (out.length > 1) out += ',';
    out += left === right ? `${quote(field)}:"${left}"` : `${quote(field)}:["${left}","${right}"]`;
  }
  return `${out}}`;
}

/**
 * A base as a JSON array in the order of `fields` (no names: an intent states
 * its field list once for all its creates); null when the base holds other
 * fields than exactly those.
 */
export function encodeBaseAligned(base: Base, fields: readonly string[]): string | null {
  let count = 0;
  for (const _ in base) count++;
  if (count !== fields.length) return null;
  let out = '[';
  for (let i = 0; i < fields.length; i++) {
    const fps = base[fields[i]!];
    if (fps === undefined) return null;
    if (i > 0) out += ',';
    out += fps[0] === fps[1] ? `"${fps[0]}"` : `["${fps[0]}","${fps[1]}"]`;
  }
  return `${out}]`;
}

export function decodeBase(text: string): Base {
  return baseFromJson(JSON.parse(text));
}

/** A base as JSON.parse gives it back (inside a larger document, e.g. an intent); arrays follow `fields`. */
export function baseFromJson(
  raw: Record<string, string | [string, string]> | (string | [string, string])[],
  fields: readonly string[] = [],
): Base {
  const base: Base = {};
  if (Array.isArray(raw)) {
    raw.forEach((v, i) => {
      base[fields[i]!] = typeof v === 'string' ? [v, v] : v;
    });
    return base;
  }
  for (const field in raw) {
    const v = raw[field]!;
    base[field] = typeof v === 'string' ? [v, v] : v;
  }
  return base;
}
