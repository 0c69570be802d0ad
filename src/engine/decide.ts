/**
 * Deciding a batch: given the snapshot (current records on both sides, links
 * with their base, held and detached entries), what each identity needs.
 * No I/O here: the same snapshot always gives the same outcomes, which is what
 * makes replays, duplicates and crashes harmless.
 */
import { coerce, normalizeTimestamp } from '../core/canonical.js';
import { fingerprint } from '../core/fingerprint.js';
import { identityOf } from '../core/identity.js';
import { type Base, conflictWinner, createValues, merge } from '../core/merge.js';
import { deleteAction, type SyncModel, sideOf } from '../core/model.js';
import { otherSide, type Row, type Side, type SourceRecord } from '../core/types.js';
import type { Link, QuarantineEntry, QuarantineReason } from '../state/store.js';
import { emptyOutcome, NEW_IDENTITY, type Outcome } from './outcome.js';
import type { Snapshot } from './snapshot.js';

export interface DecideInput {
  model: SyncModel;
  snap: Snapshot;
  /** Change time per dirty key, as capture reported it. */
  changedAt: Record<Side, Map<string, string>>;
  /** Delete time per key whose last change in this batch is a delete. */
  deletedAt: Record<Side, Map<string, string>>;
  /** Keys `retry` asked to look at again: held conflicts among them may now be settled. */
  retry: Record<Side, Set<string>>;
  now: string;
  /** First sync on an empty state: creates are not written to history one by one (the link shows them). */
  quietCreates?: boolean;
}

const SIDES: Side[] = ['left', 'right'];

export function decide(input: DecideInput): Outcome[] {
  const { model, snap } = input;
  const outcomes: Outcome[] = [];
  const handled: Record<Side, Set<string>> = { left: new Set(), right: new Set() };
  const linkByIdentity = new Map<string, Link>();
  for (const l of snap.links.values()) linkByIdentity.set(l.identity, l);

  const _inScope = (side: Side, key: string | null) => {
    const r = key === null ? undefined : snap.records[side].get(key);
    return r?.inScope ? r : undefined;
  };
  // In-scope records by the identity they carry, per side (built once: looked up per link).
  const byCarried: Record<Side, Map<string, SourceRecord[]>> = { left: new Map(), right: new Map() };
  for (const side of SIDES) {
    for (const r of snap.records[side].values()) {
      if (!r.inScope) continue;
      const id = identityOf(model, side, r);
      if (id === null) continue;
      const list = byCarried[side].get(id);
      if (list) list.push(r);
      else byCarried[side].set(id, [r]);
    }
  }
  /** In-scope records on `side` carrying `identity`. */
  const carriers = (side: Side, identity: string): SourceRecord[] => byCarried[side].get(identity) ?? [];
  // Which link each linked record belongs to: a record linked elsewhere is that link's business
  // (a rename or an edited external ID there), never a duplicate here.
  const linkOfKey: Record<Side, Map<string, Link>> = { left: new Map(), right: new Map() };
  for (const l of snap.links.values()) {
    if (l.leftKey !== null) linkOfKey.left.set(l.leftKey, l);
    if (l.rightKey !== null) linkOfKey.right.set(l.rightKey, l);
  }
  /** Carriers of `identity` on `side` that are not bound to a link other than `link`. */
  const freeCarriers = (side: Side, identity: string, link: Link | null): SourceRecord[] =>
    carriers(side, identity).filter((r) => {
      const bound = linkOfKey[side].get(r.key);
      return !bound || bound === link;
    });
  const heldConflict = (side: Side, key: string) => {
    const q = snap.held[side].get(key);
    return q?.reason === 'conflict' && !input.retry[side].has(key) ? q : undefined;
  };
  const timeOf = (side: Side, rec: SourceRecord | undefined, stored: string | null): string | null => {
    const s = sideOf(model, side);
    if (rec && s.updatedAt) {
      const v = rec.values[s.updatedAt];
      if (typeof v === 'string') return normalizeTimestamp(v) ?? stored;
    }
    if (rec) return input.changedAt[side].get(rec.key) ?? stored;
    return stored;
  };
  const quarantine = (
    o: Outcome,
    side: Side,
    key: string,
    identity: string | null,
    reason: QuarantineReason,
    message: string,
    detail?: Record<string, unknown>,
  ) => {
    const q: QuarantineEntry = {
      sync: model.name,
      side,
      key,
      identity,
      reason,
      message,
      recordSide: side,
      recordKey: key,
    };
    if (detail) q.detail = detail;
    o.quarantine.push(q);
    o.history.push({
      sync: model.name,
      identity: identity ?? `${side}:${key}`,
      at: input.now,
      side,
      action: `quarantined ${reason}`,
      detail: { key, message },
    });
  };
  // An outcome whose identity is not known yet (a create in the SOR) notes under NEW_IDENTITY;
  // apply.ts puts the new key there once the SOR has assigned it.
  const note = (o: Outcome, side: Side | 'engine', action: string, detail?: Record<string, unknown>) => {
    o.history.push({
      sync: model.name,
      identity: o.identity ?? NEW_IDENTITY,
      at: input.now,
      side,
      action,
      ...(detail ? { detail } : {}),
    });
  };

  // 1. Every linked pair.
  for (const link of snap.links.values()) {
    if (link.leftKey !== null) handled.left.add(link.leftKey);
    if (link.rightKey !== null) handled.right.add(link.rightKey);
    const o = decideLinked(link);
    if (o) outcomes.push(o);
  }

  // 2. Records with an identity and no link: first meetings, creates, orphans, duplicates.
  const byIdentity = new Map<string, Record<Side, SourceRecord[]>>();
  for (const side of SIDES) {
    for (const r of snap.records[side].values()) {
      if (!r.inScope || handled[side].has(r.key)) continue;
      const id = identityOf(model, side, r);
      if (id === null || linkByIdentity.has(id)) continue;
      let g = byIdentity.get(id);
      if (!g) {
        g = { left: [], right: [] };
        byIdentity.set(id, g);
      }
      g[side].push(r);
    }
  }
  for (const [identity, group] of byIdentity) {
    const o = decideUnlinked(identity, group.left, group.right);
    if (o) outcomes.push(o);
  }

  // 3. SOR mode: records born on N without an external ID are created in the SOR.
  if (model.mode === 'system-of-record') {
    const n = otherSide(model.sor!);
    for (const r of snap.records[n].values()) {
      if (!r.inScope || handled[n].has(r.key) || identityOf(model, n, r) !== null) continue;
      const o = emptyOutcome(null);
      planCreate(o, n, r, null, null);
      outcomes.push(o);
    }
  }
  // 4. Held records that are gone or out of scope now: nothing left to hold.
  const gone = emptyOutcome(null);
  for (const side of SIDES) {
    for (const [key, q] of snap.held[side]) {
      const rec = snap.records[side].get(key);
      if (snap.read[side].has(key) && !rec?.inScope) {
        gone.settles.push({ side, key });
        gone.history.push({
          sync: model.name,
          identity: q.identity ?? `${side}:${key}`,
          at: input.now,
          side,
          action: `released from quarantine (${q.reason}): record ${rec ? 'left scope' : 'deleted'}`,
        });
      }
    }
  }
  if (gone.settles.length > 0) outcomes.push(gone);
  return outcomes;

  function decideLinked(link: Link): Outcome | undefined {
    const o = emptyOutcome(link.identity);
    o.link = link;
    const lrec = link.leftKey === null ? undefined : snap.records.left.get(link.leftKey);
    const rrec = link.rightKey === null ? undefined : snap.records.right.get(link.rightKey);
    if (!lrec && !rrec) {
      o.deleteLinkId = link.id!;
      note(o, 'engine', 'deleted on both sides: unlinked');
      return o;
    }
    if ((lrec && !lrec.inScope) || (rrec && !rrec.inScope)) {
      // Leaving scope unlinks; the record still in scope is detached so it is not recreated over there.
      o.deleteLinkId = link.id!;
      for (const [side, rec] of [
        ['left', lrec],
        ['right', rrec],
      ] as const) {
        if (rec?.inScope) o.detach.push({ sync: model.name, side, key: rec.key, identity: link.identity });
      }
      note(o, 'engine', 'left scope: unlinked');
      return o;
    }
    if (!lrec || !rrec) return decideDelete(o, link, lrec ? 'right' : 'left', (lrec ?? rrec)!);

    const recs: Record<Side, SourceRecord> = { left: lrec, right: rrec };
    if (heldConflict('left', lrec.key) || heldConflict('right', rrec.key)) return undefined;

    let identity = link.identity;
    const extWrites: Record<Side, Row> = { left: {}, right: {} };
    if (model.mode === 'external-id') {
      const cur = { left: identityOf(model, 'left', lrec), right: identityOf(model, 'right', rrec) };
      if (cur.left === null || cur.right === null) {
        o.deleteLinkId = link.id!;
        for (const side of SIDES) {
          const id = cur[side];
          if (id !== null) o.detach.push({ sync: model.name, side, key: recs[side].key, identity: id });
        }
        note(o, cur.left === null ? 'left' : 'right', 'external id cleared: both records detached');
        return o;
      }
      if (cur.left !== identity || cur.right !== identity) {
        let renamed: Side;
        if (cur.left !== identity && cur.right !== identity && cur.left !== cur.right) {
          const w = conflictWinner(
            model.conflicts,
            model.sor,
            timeOf('left', lrec, link.leftAt),
            timeOf('right', rrec, link.rightAt),
          );
          renamed = w === 'right' ? 'right' : 'left';
        } else {
          renamed = cur.left !== identity ? 'left' : 'right';
        }
        const next = cur[renamed]!;
        const target = otherSide(renamed);
        const taken =
          (linkByIdentity.get(next) && linkByIdentity.get(next) !== link) ||
          carriers(target, next).some((r) => r.key !== recs[target].key);
        if (taken) {
          quarantine(
            o,
            renamed,
            recs[renamed].key,
            identity,
            'external_id_collision',
            `external id renamed to ${JSON.stringify(next)} on ${renamed}, but ${target} already has a record with it`,
            // The wanted value is looked at again when this record next changes, so whatever waits on it moves on.
            { wanted: next },
          );
          return o;
        }
        if (cur[target] !== next) {
          const col = sideOf(model, target).externalId!;
          extWrites[target][col] = coerce(next, sideOf(model, target).externalIdKind!) ?? next;
        }
        note(o, renamed, 'external id renamed', { from: identity, to: next });
        identity = next;
      }
      for (const side of SIDES) {
        const dups = freeCarriers(side, identity, link);
        if (dups.length > 1) {
          for (const d of dups) {
            quarantine(
              o,
              side,
              d.key,
              identity,
              'duplicate_external_id',
              `${dups.length} records on ${side} have external id ${JSON.stringify(identity)}; give each its own value`,
            );
          }
          return o;
        }
      }
    } else {
      const n = otherSide(model.sor!);
      const nSide = sideOf(model, n);
      const sSide = sideOf(model, model.sor!);
      if (sSide.externalId && recs[model.sor!].values[sSide.externalId] !== recs[n].key) {
        // S's own external-ID column holds N's key: kept right by the engine too.
        extWrites[model.sor!][sSide.externalId] = coerce(recs[n].key, sSide.externalIdKind!) ?? recs[n].key;
      }
      const curN = identityOf(model, n, recs[n]);
      if (curN !== identity) {
        extWrites[n][nSide.externalId!] = coerce(identity, nSide.externalIdKind!) ?? identity;
        note(o, n, 'external id edited on the linked record: written back', {
          found: curN,
          restored: identity,
        });
      }
      for (const d of freeCarriers(n, identity, link)) {
        if (d.key === recs[n].key) continue;
        handled[n].add(d.key);
        quarantine(
          o,
          n,
          d.key,
          identity,
          'duplicate_external_id',
          `another ${n} record (key ${recs[n].key}) is already linked to ${model.sor} key ${identity}`,
        );
      }
    }

    const retried = heldBase(snap.held.left.get(lrec.key) ?? snap.held.right.get(rrec.key));
    const base: Base = Object.keys(retried).length > 0 ? { ...link.base, ...retried } : link.base;
    const leftAt = timeOf('left', lrec, link.leftAt);
    const rightAt = timeOf('right', rrec, link.rightAt);
    const m = merge({
      fields: model.fields,
      left: lrec.values,
      right: rrec.values,
      base,
      policy: model.conflicts,
      sor: model.sor,
      leftAt,
      rightAt,
    });
    if (m.held) return holdConflict(o, identity, recs, m.conflicts, base);
    if (m.invalid.length > 0) {
      const bad = m.invalid[0]!;
      quarantine(
        o,
        otherSide(bad.side),
        recs[otherSide(bad.side)].key,
        identity,
        'invalid_value',
        bad.message,
      );
      return o;
    }
    for (const side of SIDES) {
      const values = { ...m.writes[side], ...extWrites[side] };
      if (Object.keys(values).length > 0)
        o.writes.push({ kind: 'update', side, key: recs[side].key, values });
    }
    for (const c of m.conflicts)
      note(o, 'engine', 'conflict', {
        field: c.field,
        left: c.left,
        right: c.right,
        winner: c.winner,
        policy: model.conflicts,
      });
    for (const side of SIDES) {
      const cols = Object.keys(m.writes[side]);
      if (cols.length > 0) note(o, otherSide(side), `updated ${side}`, { fields: cols });
    }
    o.settles.push({ side: 'left', key: lrec.key }, { side: 'right', key: rrec.key });
    const next: Link = { ...link, identity, base: m.base, leftAt, rightAt };
    if (
      identity !== link.identity ||
      !sameBase(m.base, link.base) ||
      leftAt !== link.leftAt ||
      rightAt !== link.rightAt
    ) {
      o.saveLink = next;
    }
    o.identity = identity;
    return o;
  }

  /** `deleted` lost its record; `survivor` is the other side's, still in scope. */
  function decideDelete(o: Outcome, link: Link, deleted: Side, survivor: SourceRecord): Outcome {
    const surv = otherSide(deleted);
    o.deleteLinkId = link.id!;
    if (deleteAction(model, deleted) === 'ignore') {
      o.detach.push({ sync: model.name, side: surv, key: survivor.key, identity: link.identity });
      note(
        o,
        deleted,
        `deleted on ${deleted}; deletes ${deleted}-to-${surv} are ignored: ${surv} record detached`,
      );
      return o;
    }
    const survivorChanged = model.fields.some((f) => {
      const was = link.base[f.id];
      const v = survivor.values[surv === 'left' ? f.left : f.right] ?? null;
      return !was || was[surv === 'left' ? 0 : 1] !== fingerprint(v);
    });
    let recreate = false;
    if (survivorChanged) {
      // The delete's own capture time; if its event is not in this batch (it is further on in
      // the log), the time the engine saw it gone.
      const deletedAt =
        input.deletedAt[deleted].get((deleted === 'left' ? link.leftKey : link.rightKey)!) ?? input.now;
      const survAt = timeOf(surv, survivor, surv === 'left' ? link.leftAt : link.rightAt) ?? input.now;
      const policy = model.conflicts === 'manual' ? 'newest-wins' : model.conflicts;
      const times = deleted === 'left' ? [deletedAt, survAt] : [survAt, deletedAt];
      const w = conflictWinner(policy, model.sor, times[0]!, times[1]!);
      // Under newest-wins a tie keeps the delete: the record is gone on one side, and nobody edited it later.
      recreate = w === surv && !(policy === 'newest-wins' && deletedAt === survAt);
    }
    if (recreate) {
      note(
        o,
        surv,
        `deleted on ${deleted} but updated on ${surv} and the update wins (${model.conflicts}): recreated on ${deleted}`,
      );
      // The survivor's identity as it is now (it may have been renamed since the link was made).
      let identity: string | null = link.identity;
      if (model.mode === 'system-of-record' && model.sor === deleted) identity = null;
      else if (model.mode === 'external-id') identity = identityOf(model, surv, survivor);
      if (model.mode === 'external-id' && identity === null) {
        // Its external ID was cleared too: nothing to recreate it under. Left alone, detached.
        o.history.pop();
        note(o, deleted, `deleted on ${deleted}; the ${surv} record has no external id any more: left alone`);
        return o;
      }
      planCreate(o, surv, survivor, identity, link);
      return o;
    }
    o.writes.push({ kind: 'delete', side: surv, key: survivor.key });
    o.settles.push({ side: surv, key: survivor.key });
    note(o, deleted, `deleted on ${deleted}: deleted on ${surv}`, { key: survivor.key });
    return o;
  }

  function decideUnlinked(
    identity: string,
    lefts: SourceRecord[],
    rights: SourceRecord[],
  ): Outcome | undefined {
    const o = emptyOutcome(identity);
    const group: Record<Side, SourceRecord[]> = { left: lefts, right: rights };
    for (const side of SIDES) for (const r of group[side]) handled[side].add(r.key);
    if (
      group.left.some((r) => heldConflict('left', r.key)) ||
      group.right.some((r) => heldConflict('right', r.key))
    ) {
      return undefined;
    }
    const dupSides = SIDES.filter((s) => group[s].length > 1);
    if (dupSides.length > 0) {
      for (const side of dupSides) {
        for (const d of group[side]) {
          quarantine(
            o,
            side,
            d.key,
            identity,
            'duplicate_external_id',
            `${group[side].length} records on ${side} have external id ${JSON.stringify(identity)}; give each its own value`,
          );
        }
      }
      return o;
    }
    const l = group.left[0];
    const r = group.right[0];
    if (l && r) {
      // First meeting (or adoption in SOR mode, where the SOR wins every differing field).
      const adoption = model.mode === 'system-of-record';
      const updatedAtOnly = (side: Side, rec: SourceRecord) => {
        const col = sideOf(model, side).updatedAt;
        const v = col ? rec.values[col] : null;
        return typeof v === 'string' ? (normalizeTimestamp(v) ?? null) : null;
      };
      const leftAt = updatedAtOnly('left', l);
      const rightAt = updatedAtOnly('right', r);
      const retried = heldBase(snap.held.left.get(l.key) ?? snap.held.right.get(r.key));
      const m = merge({
        fields: model.fields,
        left: l.values,
        right: r.values,
        base: Object.keys(retried).length > 0 ? retried : null,
        policy: adoption ? 'system-of-record' : model.conflicts,
        sor: model.sor,
        leftAt,
        rightAt,
      });
      const recs = { left: l, right: r };
      if (m.held) return holdConflict(o, identity, recs, m.conflicts, {});
      if (m.invalid.length > 0) {
        const bad = m.invalid[0]!;
        quarantine(
          o,
          otherSide(bad.side),
          recs[otherSide(bad.side)].key,
          identity,
          'invalid_value',
          bad.message,
        );
        return o;
      }
      if (adoption) {
        const sSide = sideOf(model, model.sor!);
        const nKey = recs[otherSide(model.sor!)].key;
        if (sSide.externalId && recs[model.sor!].values[sSide.externalId] !== nKey) {
          m.writes[model.sor!][sSide.externalId] = coerce(nKey, sSide.externalIdKind!) ?? nKey;
        }
      }
      for (const side of SIDES) {
        if (Object.keys(m.writes[side]).length > 0)
          o.writes.push({ kind: 'update', side, key: recs[side].key, values: m.writes[side] });
      }
      o.saveLink = {
        sync: model.name,
        identity,
        leftKey: l.key,
        rightKey: r.key,
        base: m.base,
        leftAt: timeOf('left', l, null),
        rightAt: timeOf('right', r, null),
      };
      o.settles.push({ side: 'left', key: l.key }, { side: 'right', key: r.key });
      note(o, 'engine', adoption ? 'adopted: linked to the existing record' : 'first meeting: linked', {
        left: l.key,
        right: r.key,
        conflicts: m.conflicts.length,
      });
      for (const c of m.conflicts)
        note(o, 'engine', 'conflict', { field: c.field, left: c.left, right: c.right, winner: c.winner });
      return o;
    }
    const side: Side = l ? 'left' : 'right';
    const rec = (l ?? r)!;
    const det = snap.detached[side].get(rec.key);
    if (det && det.identity === identity) return undefined; // detached: never recreated
    if (det) o.undetach.push({ side, key: rec.key });
    const bound =
      model.mode === 'external-id'
        ? carriers(otherSide(side), identity).find((x) => linkOfKey[otherSide(side)].has(x.key))
        : undefined;
    if (bound) {
      // The other side already has a record with this identity, linked to another one (renamed
      // or edited onto it): creating a second would collide. Held until the two are told apart.
      quarantine(
        o,
        side,
        rec.key,
        identity,
        'external_id_collision',
        `${otherSide(side)} record ${bound.key} already carries ${JSON.stringify(identity)} (it is linked to another record); give one of them another value`,
      );
      return o;
    }
    if (model.mode === 'system-of-record' && side !== model.sor) {
      // N points at a SOR key: adoption is handled above; here the SOR has no such record.
      const sorRec = snap.records[model.sor!].get(identity);
      if (sorRec && !sorRec.inScope) return o.undetach.length ? o : undefined;
      quarantine(
        o,
        side,
        rec.key,
        identity,
        'orphan_external_id',
        `${side}.${sideOf(model, side).externalId} = ${JSON.stringify(identity)} but ${model.sor} has no record with key ${identity}; clear it to create a new ${model.sor} record, or set it to an existing key`,
      );
      return o;
    }
    planCreate(o, side, rec, identity, null);
    return o;
  }

  /** Creates `rec` (from `source`) on the other side. `identity` null: the new key becomes the identity. */
  function planCreate(
    o: Outcome,
    source: Side,
    rec: SourceRecord,
    identity: string | null,
    replaces: Link | null,
  ) {
    const target = otherSide(source);
    const t = sideOf(model, target);
    const s = sideOf(model, source);
    const cv = createValues(model.fields, source, rec.values);
    if (cv.invalid.length > 0) {
      quarantine(o, source, rec.key, identity, 'invalid_value', cv.invalid[0]!.message);
      return;
    }
    const values = cv.values;
    let writeBackColumn: string | undefined;
    if (identity !== null && t.externalId && !(model.mode === 'system-of-record' && model.sor === target)) {
      values[t.externalId] = coerce(identity, t.externalIdKind!) ?? identity;
    }
    if (identity === null) {
      // A create in the SOR: the SOR assigns the key, then it is written back into N's external-ID column.
      writeBackColumn = s.externalId;
      if (t.externalId) values[t.externalId] = coerce(rec.key, t.externalIdKind!) ?? rec.key;
    } else if (model.mode === 'system-of-record' && source === model.sor && s.externalId) {
      // S's own external-ID column gets the key N assigns.
      writeBackColumn = s.externalId;
    }
    o.writes.push({ kind: 'insert', side: target, values });
    const at = timeOf(source, rec, null);
    o.create = {
      target,
      source,
      sourceKey: rec.key,
      identity,
      base: cv.base,
      leftAt: source === 'left' ? at : null,
      rightAt: source === 'right' ? at : null,
      ...(writeBackColumn ? { writeBackColumn } : {}),
    };
    o.settles.push({ side: source, key: rec.key });
    if (replaces) o.deleteLinkId = replaces.id!;
    if (!input.quietCreates) note(o, source, `created on ${target}`, { from: rec.key });
  }

  function holdConflict(
    o: Outcome,
    identity: string,
    recs: Record<Side, SourceRecord>,
    conflicts: { field: string; left: unknown; right: unknown }[],
    base: Base,
  ): Outcome {
    const heldFp: Base = {};
    for (const c of conflicts) {
      const f = model.fields.find((x) => x.id === c.field)!;
      heldFp[c.field] = [
        fingerprint(recs.left.values[f.left] ?? null),
        fingerprint(recs.right.values[f.right] ?? null),
      ];
    }
    void base;
    const side = model.sor ?? 'left';
    quarantine(
      o,
      side,
      recs[side].key,
      identity,
      'conflict',
      `${conflicts.map((c) => c.field).join(', ')} changed on both sides; edit the record to the value you want, then run \`tandem retry\``,
      {
        otherKey: recs[otherSide(side)].key,
        fields: conflicts.map((c) => ({ field: c.field, left: c.left, right: c.right })),
        heldBase: heldFp,
      },
    );
    return o;
  }

  /** For a retried manual conflict: fingerprints as held, so the side edited since then wins. */
  function heldBase(q: QuarantineEntry | undefined): Base {
    if (q?.reason !== 'conflict') return {};
    return (q.detail?.heldBase as Base | undefined) ?? {};
  }
}

function sameBase(a: Base, b: Base): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) {
    const x = a[k]!;
    const y = b[k];
    if (!y || x[0] !== y[0] || x[1] !== y[1]) return false;
  }
  return true;
}
