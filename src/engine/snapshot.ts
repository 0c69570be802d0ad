/**
 * Gathering one batch: for the dirty keys of each side, load the links that
 * touch them, the current records (one bulk read per side and round), every
 * record that carries the same identities (to find counterparts, duplicates and
 * collisions) and the held (quarantined) and detached entries.
 */
import { identityIsKey, identityOf } from '../core/identity.js';
import type { SyncModel } from '../core/model.js';
import { sideOf } from '../core/model.js';
import type { Side, SourceRecord } from '../core/types.js';
import type { Connector } from '../connectors/connector.js';
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

export async function gatherSnapshot(src: SnapshotSources, dirty: Record<Side, Iterable<string>>): Promise<Snapshot> {
  const { model, store } = src;
  const snap: Snapshot = {
    records: { left: new Map(), right: new Map() },
    read: { left: new Set(), right: new Set() },
    links: new Map(),
    detached: { left: new Map(), right: new Map() },
    held: { left: new Map(), right: new Map() },
  };
  const addLinks = (links: Link[]) => {
    for (const l of links) snap.links.set(l.id!, l);
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
    const keys = [...new Set(dirty[side])];
    addLinks(await store.linksByKeys(model.name, side, keys));
    for (const q of await store.quarantinedByKeys(model.name, side, keys)) if (q.identity) heldIdentities.push(q.identity);
    await readKeys(side, keys);
  }
  // Round 2: the other halves of those links.
  await readLinkedRecords();

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
      const rows = await src.connectors[side].readByColumn(s.spec, s.externalId, ids);
      for (const r of rows) {
        snap.read[side].add(r.key);
        snap.records[side].set(r.key, r);
      }
    }
  }
  addLinks(await store.linksByIdentities(model.name, ids));
  for (const side of SIDES) addLinks(await store.linksByKeys(model.name, side, [...snap.records[side].keys()]));
  await readLinkedRecords();

  for (const side of SIDES) {
    const keys = [...snap.read[side]];
    for (const d of await store.detachedByKeys(model.name, side, keys)) snap.detached[side].set(d.key, d);
    for (const q of await store.quarantinedByKeys(model.name, side, keys)) snap.held[side].set(q.recordKey, q);
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
