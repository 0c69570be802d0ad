/**
 * Gathering one batch: for the dirty keys of each side, load the links that
 * touch them, the current records (one bulk read per side and round), every
 * record that carries the same identities (to find counterparts, duplicates and
 * collisions) and the held (quarantined) and detached entries.
 */

import type { Connector } from '../connectors/connector.js';
import { identityIsKey, identityOf } from '../core/identity.js';
import type { SyncModel } from '../core/model.js';
import { sideOf } from '../core/model.js';
import type { Side, SourceRecord } from '../core/types.js';
import type { Detached, Link, QuarantineEntry, StateStore } from '../state/store.js';

export interface Snapshot {
  /** Every record read, by key; a key read but absent here was not found (deleted). */
  records: Record<Side, Map<string, SourceRecord>>;
  /** Keys that were asked for, so "absent" can be told from "not read". */
  read: Record<Side, Set<string>>;
  links: Map<number, Link>;
  detached: Record<Side, Map<string, Detached>>;
  held: Record<Side, Map<string, QuarantineEntry>>;
}

export interface SnapshotSources {
  model: SyncModel;
  connectors: Record<Side, Connector>;
  store: StateStore;
}

const SIDES: Side[] = ['left', 'right'];

export interface GatherOptions {
  /** Records already read (a scan page): not read again. */
  preloaded?: Record<Side, SourceRecord[]>;
  /**
   * The sync had no state at all when this full pass began (first sync): the dirty
   * keys can have no link, no hold and no detachment, so those look-ups are skipped.
   * Look-ups by identity and by the other side's keys still run, since records
   * linked earlier in the same pass can meet again.
   */
  freshState?: boolean;
  /**
   * A first sync scanning one side into a side that was empty when the pass began,
   * where identities are unique on both sides (keys, or unique external-ID indexes):
   * no record can meet another, so the look-ups by identity are skipped too. (A user
   * insert on the empty side during the scan fails the unique index and is retried.)
   */
  intoEmpty?: boolean;
}

export async function gatherSnapshot(
  src: SnapshotSources,
  dirty: Record<Side, Iterable<string>>,
  opts: GatherOptions = {},
): Promise<Snapshot> {
  const { model, store } = src;
  const snap: Snapshot = {
    records: { left: new Map(), right: new Map() },
    read: { left: new Set(), right: new Set() },
    links: new Map(),
    detached: { left: new Map(), right: new Map() },
    held: { left: new Map(), right: new Map() },
  };
  // What has been asked of the store already, so no link is loaded (and decoded) twice.
  const linkKnown: Record<Side, Set<string>> = { left: new Set(), right: new Set() };
  const identityKnown = new Set<string>();
  const addLinks = (links: Link[]) => {
    for (const l of links) {
      snap.links.set(l.id!, l);
      identityKnown.add(l.identity);
      if (l.leftKey !== null) linkKnown.left.add(l.leftKey);
      if (l.rightKey !== null) linkKnown.right.add(l.rightKey);
    }
  };
  /** Asks the store for the links of these keys; the answer is added when awaited. */
  const askLinksOfKeys = (side: Side, keys: Iterable<string>) => {
    const ask = [...keys].filter((k) => !linkKnown[side].has(k));
    for (const k of ask) linkKnown[side].add(k);
    return store.linksByKeys(model.name, side, ask);
  };
  const linksOfKeys = async (side: Side, keys: Iterable<string>) => {
    addLinks(await askLinksOfKeys(side, keys));
  };
  const linksOfIdentities = async (ids: Iterable<string>) => {
    const ask = [...ids].filter((i) => !identityKnown.has(i));
    for (const i of ask) identityKnown.add(i);
    addLinks(await store.linksByIdentities(model.name, ask));
  };
  const readKeys = async (side: Side, keys: Iterable<string>) => {
    const fresh = [...new Set(keys)].filter((k) => !snap.read[side].has(k));
    if (fresh.length === 0) return [];
    for (const k of fresh) snap.read[side].add(k);
    const rows = await src.connectors[side].readByKeys(sideOf(model, side).spec, fresh);
    for (const r of rows) snap.records[side].set(r.key, r);
    return rows;
  };

  // Round 1: the dirty records, the links they are part of, and the identities they were
  // held under (so fixing one duplicate also looks at the other).
  const heldIdentities: string[] = [];
  for (const side of SIDES) {
    for (const r of opts.preloaded?.[side] ?? []) {
      snap.read[side].add(r.key);
      snap.records[side].set(r.key, r);
    }
  }
  // The store is asked first and its answers awaited last: with the store on its own thread,
  // it finishes the commit still in flight and looks these up while the records are read here.
  const dirtyKeys = { left: [...new Set(dirty.left)], right: [...new Set(dirty.right)] };
  const asked = opts.freshState
    ? null
    : SIDES.map((side) =>
        Promise.all([
          askLinksOfKeys(side, dirtyKeys[side]),
          store.quarantinedByKeys(model.name, side, dirtyKeys[side]),
        ]),
      );
  // Observed below; a rejection must not go unhandled while the records are read.
  for (const a of asked ?? []) a.catch(() => {});
  for (const side of SIDES) await readKeys(side, dirtyKeys[side]);
  for (const answer of asked ?? []) {
    const [links, held] = await answer;
    addLinks(links);
    for (const q of held) {
      if (q.identity) heldIdentities.push(q.identity);
      if (typeof q.detail?.wanted === 'string') heldIdentities.push(q.detail.wanted);
    }
  }
  // Round 2: the other halves of those links.
  await readLinkedRecords();

  if (opts.freshState && opts.intoEmpty) return snap;

  // Round 3: everything that carries an identity in play, on both sides.
  const identities = new Set<string>(heldIdentities);
  for (const l of snap.links.values()) identities.add(l.identity);
  for (const side of SIDES) {
    for (const r of snap.records[side].values()) {
      const id = identityOf(model, side, r);
      if (id !== null) identities.add(id);
    }
  }
  const ids = [...identities];
  for (const side of SIDES) {
    const s = sideOf(model, side);
    if (identityIsKey(model, side)) {
      await readKeys(side, ids);
    } else if (s.externalId) {
      // With a unique (case-sensitive) index, an identity already carried by a record read
      // on this side can have no second carrier: no need to look for one.
      let ask = ids;
      if (s.externalIdUnique) {
        const carried = new Set<string>();
        for (const r of snap.records[side].values()) {
          const id = identityOf(model, side, r);
          if (id !== null) carried.add(id);
        }
        ask = ids.filter((i) => !carried.has(i));
      }
      const rows = ask.length === 0 ? [] : await src.connectors[side].readByColumn(s.spec, s.externalId, ask);
      for (const r of rows) {
        snap.read[side].add(r.key);
        snap.records[side].set(r.key, r);
      }
    }
  }
  await linksOfIdentities(ids);
  for (const side of SIDES) {
    if (opts.freshState) for (const k of dirty[side]) linkKnown[side].add(k);
    await linksOfKeys(side, snap.records[side].keys());
  }
  await readLinkedRecords();

  // A fresh state holds no detachment; holds made earlier in this pass are simply made again.
  if (!opts.freshState) {
    // Four independent look-ups, sent together rather than one round trip after another.
    const [detachedL, detachedR, heldL, heldR] = await Promise.all([
      store.detachedByKeys(model.name, 'left', [...snap.read.left]),
      store.detachedByKeys(model.name, 'right', [...snap.read.right]),
      store.quarantinedByKeys(model.name, 'left', [...snap.read.left]),
      store.quarantinedByKeys(model.name, 'right', [...snap.read.right]),
    ]);
    for (const d of detachedL) snap.detached.left.set(d.key, d);
    for (const d of detachedR) snap.detached.right.set(d.key, d);
    for (const q of heldL) snap.held.left.set(q.recordKey, q);
    for (const q of heldR) snap.held.right.set(q.recordKey, q);
  }
  return snap;

  async function readLinkedRecords() {
    for (const side of SIDES) {
      const keys: string[] = [];
      for (const l of snap.links.values()) {
        const k = side === 'left' ? l.leftKey : l.rightKey;
        if (k !== null) keys.push(k);
      }
      await readKeys(side, keys);
    }
  }
}
