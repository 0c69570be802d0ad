/**
 * The stored text of an intent: its creates and the links it will save.
 *
 * A batch of a first sync is a thousand creates that share almost everything
 * but their key and their fingerprints: the same target and source, refs
 * counting up by one, the identity equal to the source key (or null), no
 * change times. The body (version 3) is therefore kept by column: a column
 * the creates share is written once, and per create only its source key and
 * one fingerprint per field are left (a pair where the two sides differ).
 * JSON.stringify writes such flat arrays far faster than any string built in
 * JavaScript, and half the values make it twice as fast again; this runs on
 * the engine's thread for every batch, and is parsed on the store's.
 *
 * Creates whose base has other fields than the first one's (none today) are
 * kept whole in `other`, with their place in the list. Bodies saved by
 * earlier versions (creates as objects, or flat with a stride) read back the
 * same.
 */
import type { Base } from '../core/merge.js';
import type { Side } from '../core/types.js';
import { encodeBase, encodeFlatBase } from './base-text.js';
import type { Intent, IntentCreate, IntentLink } from './store.js';

/** A link to insert: identity, leftKey, rightKey, encoded base, leftAt, rightAt. */
export type NewLinkRow = readonly [string, string, string, string, string | null, string | null];

/**
 * One head value of the creates, by column: shared by all (`same`), counting
 * up by one from `from` (refs), equal to each create's source key (`key`,
 * identities), or one value per create.
 */
type Column<T> = { same: T } | { from: number } | { key: 1 } | T[];

/** A field's fingerprint, or its pair when the two sides differ. */
type FlatFingerprint = string | [string, string];

/** The head columns written once where the creates share them. */
const SHARED = ['target', 'source', 'leftAt', 'rightAt', 'replacesLinkId'] as const;
type SharedName = (typeof SHARED)[number];

interface StoredV3 {
  v: 3;
  fields: string[];
  n: number;
  head: { ref: Column<number>; identity: Column<string | null> } & Record<SharedName, Column<unknown>>;
  keys: string[];
  fps: FlatFingerprint[];
  other: [number, IntentCreate][];
  links: IntentLink[];
}

/** Bodies saved by earlier versions: creates flat with a stride (`one`: one value per field), or objects. */
interface StoredEarlier {
  v?: undefined;
  fields?: string[];
  stride?: number;
  one?: 1;
  creates: (string | number | null | [string, string])[] | IntentCreate[];
  other?: [number, IntentCreate][];
  links: IntentLink[];
}

type Stored = StoredV3 | StoredEarlier;

export function encodeIntentBody(intent: Pick<Intent, 'creates' | 'links'>): string {
  const first = intent.creates[0];
  const fields = first ? Object.keys(first.base) : [];
  const flat: IntentCreate[] = [];
  const other: [number, IntentCreate][] = [];
  intent.creates.forEach((c, at) => {
    if (hasExactly(c.base, fields)) flat.push(c);
    else other.push([at, c]);
  });
  const n = flat.length;
  const keys: string[] = new Array(n);
  // Sized once, not grown push by push.
  const fps: FlatFingerprint[] = new Array(n * fields.length);
  const from = flat[0]?.ref ?? 0;
  let counting = true;
  let identityIsKey = true;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const c = flat[i]!;
    keys[i] = c.sourceKey;
    if (c.ref !== from + i) counting = false;
    if (c.identity !== c.sourceKey) identityIsKey = false;
    for (const f of fields) {
      const pair = c.base[f]!;
      fps[k++] = pair[0] === pair[1] ? pair[0] : pair;
    }
  }
  const head = {
    ref: counting ? { from } : flat.map((c) => c.ref),
    identity: identityIsKey && n > 0 ? { key: 1 as const } : byColumn(flat, (c) => c.identity),
  } as StoredV3['head'];
  for (const name of SHARED) head[name] = byColumn(flat, (c) => sharedValue(c, name));
  const stored: StoredV3 = { v: 3, fields, n, head, keys, fps, other, links: intent.links };
  return JSON.stringify(stored);
}

export function decodeIntentBody(body: string): Pick<Intent, 'creates' | 'links'> {
  return decodeStored(JSON.parse(body) as Stored);
}

/**
 * The links that the landed creates of an intent make ([ref, new key] pairs).
 * Undefined for a ref the intent does not have. Made straight from the
 * stored columns, with no intermediate create or base objects: this runs on
 * the store's thread for every create of a first sync.
 */
export function createdLinkRows(body: string, landed: [number, string][]): (NewLinkRow | undefined)[] {
  const raw = JSON.parse(body) as Stored;
  if (raw.v !== 3) return linkRowsFromCreates(decodeStored(raw).creates, landed);
  const { fields, head, n } = raw;
  const indexOf = refIndex(head.ref, n);
  const others = new Map(raw.other.map(([, c]) => [c.ref, c]));
  return landed.map(([ref, key]): NewLinkRow | undefined => {
    const i = indexOf(ref);
    if (i === undefined) {
      const c = others.get(ref);
      return c && linkRow(c, key);
    }
    const sourceKey = raw.keys[i]!;
    const target = valueAt(head.target, i, sourceKey) as Side;
    const identity = valueAt(head.identity, i, sourceKey) as string | null;
    return [
      identity ?? key,
      target === 'left' ? key : sourceKey,
      target === 'right' ? key : sourceKey,
      encodeFlatBase(fields, raw.fps, i * fields.length),
      valueAt(head.leftAt, i, sourceKey) as string | null,
      valueAt(head.rightAt, i, sourceKey) as string | null,
    ];
  });
}

function decodeStored(raw: Stored): Pick<Intent, 'creates' | 'links'> {
  if (raw.v !== 3) return decodeEarlier(raw);
  const { fields, head, n } = raw;
  const creates: IntentCreate[] = [];
  for (let i = 0; i < n; i++) {
    const sourceKey = raw.keys[i]!;
    const base: Base = {};
    for (let f = 0; f < fields.length; f++) base[fields[f]!] = pairOf(raw.fps[i * fields.length + f]!);
    const replacesLinkId = valueAt(head.replacesLinkId, i, sourceKey) as number | null;
    creates.push({
      ref: valueAt(head.ref, i, sourceKey) as number,
      target: valueAt(head.target, i, sourceKey) as Side,
      source: valueAt(head.source, i, sourceKey) as Side,
      sourceKey,
      identity: valueAt(head.identity, i, sourceKey) as string | null,
      base,
      leftAt: valueAt(head.leftAt, i, sourceKey) as string | null,
      rightAt: valueAt(head.rightAt, i, sourceKey) as string | null,
      ...(replacesLinkId === null ? {} : { replacesLinkId }),
    });
  }
  for (const [at, c] of raw.other) creates.splice(at, 0, c);
  return { creates, links: raw.links };
}

function sharedValue(c: IntentCreate, name: SharedName): unknown {
  return name === 'replacesLinkId' ? (c.replacesLinkId ?? null) : c[name];
}

/** `{ same }` when every create has the same value, else the values in order. */
function byColumn<T>(creates: IntentCreate[], get: (c: IntentCreate) => T): Column<T> {
  if (creates.length === 0) return { same: null as T };
  const first = get(creates[0]!);
  for (let i = 1; i < creates.length; i++) if (get(creates[i]!) !== first) return creates.map(get);
  return { same: first };
}

function valueAt<T>(column: Column<T>, i: number, sourceKey: string): T | number | string {
  if (Array.isArray(column)) return column[i]!;
  if ('same' in column) return column.same;
  if ('from' in column) return column.from + i;
  return sourceKey;
}

/** Where a ref's create is among the stored columns; undefined when it is not there. */
function refIndex(refs: Column<number>, n: number): (ref: number) => number | undefined {
  if (!Array.isArray(refs) && 'from' in refs) {
    return (ref) => (ref >= refs.from && ref < refs.from + n ? ref - refs.from : undefined);
  }
  const at = new Map<number, number>();
  for (let i = 0; i < n; i++) at.set(valueAt(refs, i, '') as number, i);
  return (ref) => at.get(ref);
}

function pairOf(v: FlatFingerprint): [string, string] {
  return typeof v === 'string' ? [v, v] : v;
}

function hasExactly(base: Base, fields: string[]): boolean {
  let count = 0;
  for (const _ in base) count++;
  if (count !== fields.length) return false;
  for (const f of fields) if (base[f] === undefined) return false;
  return true;
}

// ------------------------------------------------------------ earlier bodies

/** Head values of a create in the earlier flat form, before its fingerprints. */
const EARLIER_HEAD = 8;

function decodeEarlier(raw: StoredEarlier): Pick<Intent, 'creates' | 'links'> {
  if (raw.stride === undefined || raw.fields === undefined) {
    return { creates: raw.creates as IntentCreate[], links: raw.links };
  }
  const { fields, stride } = raw;
  const flat = raw.creates as (string | number | null | [string, string])[];
  const creates: IntentCreate[] = [];
  for (let i = 0; i < flat.length; i += stride) {
    const base: Base = {};
    for (let f = 0; f < fields.length; f++) {
      // `one`: a fingerprint or a pair per field; before it, always two fingerprints.
      base[fields[f]!] =
        raw.one === undefined
          ? [flat[i + EARLIER_HEAD + 2 * f] as string, flat[i + EARLIER_HEAD + 2 * f + 1] as string]
          : pairOf(flat[i + EARLIER_HEAD + f] as FlatFingerprint);
    }
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
