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
 * encodeBase for a base held flat: `values[at + f]` is field `fields[f]`'s
 * fingerprint when both sides share it, else its pair (an intent's form).
 * The same text as encodeBase of the same base.
 */
export function encodeFlatBase(
  fields: readonly string[],
  values: readonly (string | [string, string])[],
  at: number,
): string {
  let out = '{';
  for (let f = 0; f < fields.length; f++) {
    const v = values[at + f]!;
    if (f > 0) out += ',';
    if (typeof v === 'string') out += `${quote(fields[f]!)}:"${v}"`;
    else if (v[0] === v[1]) out += `${quote(fields[f]!)}:"${v[0]}"`;
    else out += `${quote(fields[f]!)}:["${v[0]}","${v[1]}"]`;
  }
  return `${out}}`;
}

export function decodeBase(text: string): Base {
  return baseFromJson(JSON.parse(text));
}

/** A base as JSON.parse gives it back. */
export function baseFromJson(raw: Record<string, string | [string, string]>): Base {
  const base: Base = {};
  for (const field in raw) {
    const v = raw[field]!;
    base[field] = typeof v === 'string' ? [v, v] : v;
  }
  return base;
}
