/**
 * The stored forms the SQLite state store writes for every batch: a batch of a
 * thousand creates is a thousand links and a thousand intent entries, and
 * these encodings (flat arrays, compact bases) are what keeps saving them
 * cheap. They are also what WorkerStateStore sends to its thread (strings and
 * flat arrays cross far faster than nested objects), and what the PostgreSQL
 * state store keeps too (postgres-store.ts).
 */

import { TandemError } from '../core/errors.js';
import type { Base } from '../core/merge.js';
import type { Side } from '../core/types.js';
import { encodeBase, encodeFlatBase } from './base-text.js';
import type { BatchCommit, Intent, IntentCreate, IntentLink, Link } from './store.js';

/** Links as one flat array, LINK_STRIDE values per link: id, identity, keys, encoded base, change times. */
export type LinkRows = (string | number | null)[];
export const LINK_STRIDE = 7;

export function linksToRows(links: Link[]): LinkRows {
  const rows: LinkRows = new Array(links.length * LINK_STRIDE);
  let i = 0;
  for (const l of links) {
    rows[i++] = l.id ?? null;
    rows[i++] = l.identity;
    rows[i++] = l.leftKey;
    rows[i++] = l.rightKey;
    rows[i++] = encodeBase(l.base);
    rows[i++] = l.leftAt;
    rows[i++] = l.rightAt;
  }
  return rows;
}

/**
 * An intent's body. Creates go in one flat array, `stride` values each:
 * `ref, target, source, sourceKey, identity, leftAt, rightAt, replacesLinkId`
 * (null when none), then one value per field of `fields`: the fingerprint
 * when both sides share it (most fields), else the pair `[left, right]`
 * (`one: 1` marks this form; bodies saved by earlier versions have two
 * values per field). JSON.stringify writes such an array far faster than any
 * string built in JavaScript. A create whose base has other fields (none
 * today) goes in `other` as an object with its place in the list. Links
 * (updates, fewer and smaller) are objects.
 */
export function encodeIntentBody(intent: Pick<Intent, 'creates' | 'links'>): string {
  const first = intent.creates[0];
  const fields = first ? Object.keys(first.base) : [];
  const stride = CREATE_HEAD + fields.length;
  // Sized once (the creates of a batch mostly share their fields), not grown push by push.
  const flat: FlatValue[] = new Array(intent.creates.length * stride);
  let i = 0;
  const other: [number, IntentCreate][] = [];
  intent.creates.forEach((c, at) => {
    if (!hasExactly(c.base, fields)) {
      other.push([at, c]);
      return;
    }
    flat[i++] = c.ref;
    flat[i++] = c.target;
    flat[i++] = c.source;
    flat[i++] = c.sourceKey;
    flat[i++] = c.identity;
    flat[i++] = c.leftAt;
    flat[i++] = c.rightAt;
    flat[i++] = c.replacesLinkId ?? null;
    for (const f of fields) {
      const fps = c.base[f]!;
      flat[i++] = fps[0] === fps[1] ? fps[0] : fps;
    }
  });
  flat.length = i;
  return JSON.stringify({ fields, stride, one: 1, creates: flat, other, links: intent.links });
}

const CREATE_HEAD = 8;

function hasExactly(base: Base, fields: string[]): boolean {
  let count = 0;
  for (const _ in base) count++;
  if (count !== fields.length) return false;
  for (const f of fields) if (base[f] === undefined) return false;
  return true;
}

/** One value of a flat create: head values, and per field a fingerprint or a pair. */
type FlatValue = string | number | null | [string, string];

type Stored = {
  fields?: string[];
  stride?: number;
  /** 1: one value per field (a fingerprint or a pair); absent: two fingerprints per field. */
  one?: 1;
  /** Flat (see encodeIntentBody); objects in intents saved by earlier versions. */
  creates: FlatValue[] | IntentCreate[];
  other?: [number, IntentCreate][];
  links: IntentLink[];
};

export function decodeIntentBody(body: string): Pick<Intent, 'creates' | 'links'> {
  return decodeStored(JSON.parse(body) as Stored);
}

function decodeStored(raw: Stored): Pick<Intent, 'creates' | 'links'> {
  if (raw.stride === undefined || raw.fields === undefined) {
    return { creates: raw.creates as IntentCreate[], links: raw.links };
  }
  const { fields, stride } = raw;
  const flat = raw.creates as FlatValue[];
  const creates: IntentCreate[] = [];
  for (let i = 0; i < flat.length; i += stride) {
    const base: Base = {};
    for (let f = 0; f < fields.length; f++) base[fields[f]!] = fieldBase(raw, flat, i, f);
    const replacesLinkId = flat[i + 7] as number | null;
    creates.push({
      ref: flat[i] as number,
      target: flat[i + 1] as Side,
      source: flat[i + 2] as Side,
      sourceKey: flat[i + 3] as string,
      identity: flat[i + 4] as string | null,
      base,
      leftAt: flat[i + 5] as string | null,
      rightAt: flat[i + 6] as string | null,
      ...(replacesLinkId === null ? {} : { replacesLinkId }),
    });
  }
  for (const [at, c] of raw.other ?? []) creates.splice(at, 0, c);
  return { creates, links: raw.links };
}

/** Field `f`'s pair of fingerprints in the create starting at `i`, in either stored form. */
function fieldBase(raw: Stored, flat: FlatValue[], i: number, f: number): [string, string] {
  if (raw.one === undefined) {
    return [flat[i + CREATE_HEAD + 2 * f] as string, flat[i + CREATE_HEAD + 2 * f + 1] as string];
  }
  const v = flat[i + CREATE_HEAD + f] as string | [string, string];
  return typeof v === 'string' ? [v, v] : v;
}

/**
 * A commit's landed creates ([ref, new key] pairs) as one JSON text of a flat
 * array, for the trip to the store's thread: a string crosses about ten times
 * faster than five hundred small arrays (which cost the engine's thread half a
 * millisecond per batch).
 */
export function landedToText(landed: [number, string][]): string {
  const flat: (number | string)[] = new Array(landed.length * 2);
  let i = 0;
  for (const [ref, key] of landed) {
    flat[i++] = ref;
    flat[i++] = key;
  }
  return JSON.stringify(flat);
}

export function landedFromText(text: string): [number, string][] {
  const flat = JSON.parse(text) as (number | string)[];
  const landed: [number, string][] = new Array(flat.length / 2);
  for (let i = 0; i < flat.length; i += 2) landed[i / 2] = [flat[i] as number, flat[i + 1] as string];
  return landed;
}

/** A link to insert: identity, leftKey, rightKey, encoded base, leftAt, rightAt. */
export type NewLinkRow = readonly [string, string, string, string, string | null, string | null];

/**
 * The links that the landed creates of an intent make ([ref, new key] pairs).
 * Undefined for a ref the intent does not have. Made straight from the flat
 * form, with no intermediate create or base objects: this runs on the store's
 * thread for every create of a first sync.
 */
export function createdLinkRows(body: string, landed: [number, string][]): (NewLinkRow | undefined)[] {
  const raw = JSON.parse(body) as Stored;
  if (raw.one === undefined || raw.fields === undefined || raw.stride === undefined) {
    return linkRowsFromCreates(decodeStored(raw).creates, landed);
  }
  const { fields, stride } = raw;
  const flat = raw.creates as FlatValue[];
  const at = new Map<number, number>();
  for (let i = 0; i < flat.length; i += stride) at.set(flat[i] as number, i);
  const others = new Map((raw.other ?? []).map(([, c]) => [c.ref, c]));
  return landed.map(([ref, key]): NewLinkRow | undefined => {
    const i = at.get(ref);
    if (i === undefined) {
      const c = others.get(ref);
      return c && linkRow(c, key);
    }
    const target = flat[i + 1] as Side;
    const sourceKey = flat[i + 3] as string;
    return [
      (flat[i + 4] as string | null) ?? key,
      target === 'left' ? key : sourceKey,
      target === 'right' ? key : sourceKey,
      encodeFlatBase(fields, flat as (string | [string, string])[], i + CREATE_HEAD),
      flat[i + 5] as string | null,
      flat[i + 6] as string | null,
    ];
  });
}

/**
 * The links a commit's landed creates make, from their intent's stored body
 * (undefined: the store does not have that intent). A body or ref that is
 * missing is a bug, reported as such.
 */
export function landedLinkRows(
  sync: string,
  { token, landed }: NonNullable<BatchCommit['linkCreates']>,
  body: string | undefined,
): NewLinkRow[] {
  if (body === undefined) {
    throw new TandemError(
      'INTERNAL',
      `the intent ${token} of sync ${sync} is missing from the state store`,
      'Report this as a bug; run `tandem reconcile` to re-check every record.',
    );
  }
  return createdLinkRows(body, landed).map((row, i) => {
    if (!row) {
      throw new TandemError(
        'INTERNAL',
        `intent ${token} has no create ${landed[i]![0]}`,
        'Report this as a bug.',
      );
    }
    return row;
  });
}

function linkRowsFromCreates(
  creates: IntentCreate[],
  landed: [number, string][],
): (NewLinkRow | undefined)[] {
  const byRef = new Map(creates.map((c) => [c.ref, c]));
  return landed.map(([ref, key]) => {
    const c = byRef.get(ref);
    return c && linkRow(c, key);
  });
}

function linkRow(c: IntentCreate, key: string): NewLinkRow {
  return [
    c.identity ?? key,
    c.target === 'left' ? key : c.sourceKey,
    c.target === 'right' ? key : c.sourceKey,
    encodeBase(c.base),
    c.leftAt,
    c.rightAt,
  ];
}
