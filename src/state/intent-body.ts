/**
 * The stored text of an intent: its creates and the links it will save.
 *
 * A batch of a first sync is a thousand creates that share almost everything
 * but their key and their fingerprints: the same target and source, refs
 * counting up by one, the identity equal to the source key (or null), no
 * change times. The body (version 3) is therefore kept by column: a column
 * the creates share is written once, and per create only its source key and
 * one fingerprint per field are left (a pair where the two sides differ).
 * Creates as the engine plans them hold their fingerprints as hashes
 * (HashedBase): those are kept as base64 of one double per field, and made
 * text only on the store's thread, when the links are made or the intent is
 * read back. This runs on the engine's thread for every batch.
 *
 * Creates whose base has other fields than the first one's (none today) are
 * kept whole in `other`, with their place in the list. Bodies saved by
 * earlier versions (creates as objects, or flat with a stride) read back the
 * same.
 */
import { hashText } from '../core/fingerprint.js';
import { type Base, baseOf, HashedBase } from '../core/merge.js';
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
  /** The fingerprints as text, one per field of each create (a pair where the sides differ)… */
  fps?: FlatFingerprint[];
  /**
   * …or as hashes (HashedBase, what the engine plans): base64 of one
   * little-endian double per field of each create, its left side's, and in
   * `apart` [place, right hash] where the right side's differs.
   */
  hashes?: string;
  apart?: number[];
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
  const fields = first ? fieldsOf(first.base) : [];
  const flat: IntentCreate[] = [];
  const other: [number, IntentCreate][] = [];
  intent.creates.forEach((c, at) => {
    if (hasExactly(c.base, fields)) flat.push(c);
    else other.push([at, { ...c, base: baseOf(c.base) }]);
  });
  const n = flat.length;
  const keys: string[] = new Array(n);
  const from = flat[0]?.ref ?? 0;
  let counting = true;
  let identityIsKey = true;
  let hashed = true;
  for (let i = 0; i < n; i++) {
    const c = flat[i]!;
    keys[i] = c.sourceKey;
    if (c.ref !== from + i) counting = false;
    if (c.identity !== c.sourceKey) identityIsKey = false;
    if (!(c.base instanceof HashedBase)) hashed = false;
  }
  const head = {
    ref: counting ? { from } : flat.map((c) => c.ref),
    identity: identityIsKey && n > 0 ? { key: 1 as const } : byColumn(flat, (c) => c.identity),
  } as StoredV3['head'];
  for (const name of SHARED) head[name] = byColumn(flat, (c) => sharedValue(c, name));
  const stored: StoredV3 = {
    v: 3,
    fields: [...fields],
    n,
    head,
    keys,
    ...(hashed ? hashesOf(flat, fields.length) : { fps: fingerprintsOf(flat, fields) }),
    other,
    links: intent.links,
  };
  return JSON.stringify(stored);
}

/** The creates' hashes as StoredV3 keeps them (every base a HashedBase of the same fields). */
function hashesOf(creates: IntentCreate[], width: number): Pick<StoredV3, 'hashes' | 'apart'> {
  const bytes = new DataView(new ArrayBuffer(creates.length * width * 8));
  const apart: number[] = [];
  let k = 0;
  for (const c of creates) {
    const h = (c.base as HashedBase).hashes;
    for (let f = 0; f < width; f++, k++) {
      const left = h[2 * f]!;
      const right = h[2 * f + 1]!;
      bytes.setFloat64(k * 8, left, true);
      if (right !== left) apart.push(k, right);
    }
  }
  return { hashes: Buffer.from(bytes.buffer).toString('base64'), apart };
}

/** The creates' fingerprints as text, one per field (a pair where the sides differ). */
function fingerprintsOf(creates: IntentCreate[], fields: readonly string[]): FlatFingerprint[] {
  // Sized once, not grown push by push.
  const fps: FlatFingerprint[] = new Array(creates.length * fields.length);
  let k = 0;
  for (const c of creates) {
    const base = baseOf(c.base);
    for (const f of fields) {
      const pair = base[f]!;
      fps[k++] = pair[0] === pair[1] ? pair[0] : pair;
    }
  }
  return fps;
}

/** Fingerprint `k` of a stored body (create k / width, field k % width), in either form. */
function storedFingerprints(raw: StoredV3): (k: number) => FlatFingerprint {
  if (raw.hashes === undefined) return (k) => raw.fps![k]!;
  const buf = Buffer.from(raw.hashes, 'base64');
  const bytes = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const apart = new Map<number, number>();
  const pairs = raw.apart ?? [];
  for (let i = 0; i < pairs.length; i += 2) apart.set(pairs[i]!, pairs[i + 1]!);
  return (k) => {
    const left = hashText(bytes.getFloat64(k * 8, true));
    const right = apart.get(k);
    return right === undefined ? left : [left, hashText(right)];
  };
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
  const fingerprint = storedFingerprints(raw);
  const width = fields.length;
  const row: FlatFingerprint[] = new Array(width);
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
      encodeFlatBase(fields, fillRow(row, fingerprint, i * width), 0),
      valueAt(head.leftAt, i, sourceKey) as string | null,
      valueAt(head.rightAt, i, sourceKey) as string | null,
    ];
  });
}

function decodeStored(raw: Stored): Pick<Intent, 'creates' | 'links'> {
  if (raw.v !== 3) return decodeEarlier(raw);
  const { fields, head, n } = raw;
  const fingerprint = storedFingerprints(raw);
  const creates: IntentCreate[] = [];
  for (let i = 0; i < n; i++) {
    const sourceKey = raw.keys[i]!;
    const base: Base = {};
    for (let f = 0; f < fields.length; f++) base[fields[f]!] = pairOf(fingerprint(i * fields.length + f));
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

/** `row` filled with the fingerprints from `at` on, one per field. */
function fillRow(
  row: FlatFingerprint[],
  fingerprint: (k: number) => FlatFingerprint,
  at: number,
): FlatFingerprint[] {
  for (let f = 0; f < row.length; f++) row[f] = fingerprint(at + f);
  return row;
}

function pairOf(v: FlatFingerprint): [string, string] {
  return typeof v === 'string' ? [v, v] : v;
}

/** The field ids of a base, in order. */
function fieldsOf(base: Base | HashedBase): readonly string[] {
  return base instanceof HashedBase ? base.fields : Object.keys(base);
}

/** Whether the base has exactly these fields (a HashedBase: in this order, as every create of a model has). */
function hasExactly(base: Base | HashedBase, fields: readonly string[]): boolean {
  if (base instanceof HashedBase) {
    return (
      base.fields === fields ||
      (base.fields.length === fields.length && base.fields.every((f, i) => f === fields[i]))
    );
  }
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
    encodeBase(baseOf(c.base)),
    c.leftAt,
    c.rightAt,
  ];
}
