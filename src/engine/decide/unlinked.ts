/**
 * Decisions for records with an identity and no link: a first meeting (or an
 * adoption in SOR mode), a create on the other side, an orphan, duplicates.
 */
import { coerce, normalizeTimestamp } from '../../core/canonical.js';
import { merge } from '../../core/merge.js';
import { sideOf } from '../../core/model.js';
import { otherSide, type Side, type SourceRecord } from '../../core/types.js';
import { emptyOutcome, type Outcome } from '../outcome.js';
import { type DecideContext, SIDES } from './context.js';
import { planCreate } from './create.js';
import { holdConflict, holdInvalid } from './hold.js';

export function decideUnlinked(
  cx: DecideContext,
  identity: string,
  lefts: SourceRecord[],
  rights: SourceRecord[],
): Outcome | undefined {
  const group: Record<Side, SourceRecord[]> = { left: lefts, right: rights };
  // Loops rather than some/filter: this runs for every record of a first sync.
  let held = false;
  for (const side of SIDES) {
    for (const r of group[side]) {
      cx.handled[side].add(r.key);
      if (cx.heldConflict(side, r.key)) held = true;
    }
  }
  if (held) return undefined;
  const o = emptyOutcome(identity);
  if (lefts.length > 1 || rights.length > 1) {
    for (const side of SIDES) {
      if (group[side].length < 2) continue;
      for (const d of group[side]) {
        cx.quarantine(
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
    const adoption = cx.model.mode === 'system-of-record';
    const updatedAtOnly = (side: Side, rec: SourceRecord) => {
      const col = sideOf(cx.model, side).updatedAt;
      const v = col ? rec.values[col] : null;
      return typeof v === 'string' ? (normalizeTimestamp(v) ?? null) : null;
    };
    const leftAt = updatedAtOnly('left', l);
    const rightAt = updatedAtOnly('right', r);
    const retried = cx.heldBase(cx.snap.held.left.get(l.key) ?? cx.snap.held.right.get(r.key));
    const m = merge({
      fields: cx.model.fields,
      left: l.values,
      right: r.values,
      base: Object.keys(retried).length > 0 ? retried : null,
      policy: adoption ? 'system-of-record' : cx.model.conflicts,
      sor: cx.model.sor,
      leftAt,
      rightAt,
    });
    const recs = { left: l, right: r };
    if (m.held) return holdConflict(cx, o, identity, recs, m.conflicts);
    if (m.invalid.length > 0) return holdInvalid(cx, o, identity, recs, m.invalid[0]!);
    if (adoption) {
      const sSide = sideOf(cx.model, cx.model.sor!);
      const nKey = recs[otherSide(cx.model.sor!)].key;
      if (sSide.externalId && recs[cx.model.sor!].values[sSide.externalId] !== nKey) {
        m.writes[cx.model.sor!][sSide.externalId] = coerce(nKey, sSide.externalIdKind!) ?? nKey;
      }
    }
    for (const side of SIDES) {
      if (Object.keys(m.writes[side]).length > 0)
        o.writes.push({ kind: 'update', side, key: recs[side].key, values: m.writes[side] });
    }
    o.saveLink = {
      sync: cx.model.name,
      identity,
      leftKey: l.key,
      rightKey: r.key,
      base: m.base,
      leftAt: cx.timeOf('left', l, null),
      rightAt: cx.timeOf('right', r, null),
    };
    o.settles.push({ side: 'left', key: l.key }, { side: 'right', key: r.key });
    cx.note(o, 'engine', adoption ? 'adopted: linked to the existing record' : 'first meeting: linked', {
      left: l.key,
      right: r.key,
      conflicts: m.conflicts.length,
    });
    for (const c of m.conflicts)
      cx.note(o, 'engine', 'conflict', { field: c.field, left: c.left, right: c.right, winner: c.winner });
    return o;
  }
  const side: Side = l ? 'left' : 'right';
  const rec = (l ?? r)!;
  const det = cx.snap.detached[side].get(rec.key);
  if (det && det.identity === identity) return undefined; // detached: never recreated
  if (det) o.undetach.push({ side, key: rec.key });
  const bound =
    cx.model.mode === 'external-id'
      ? cx.carriers(otherSide(side), identity).find((x) => cx.linkOfKey[otherSide(side)].has(x.key))
      : undefined;
  if (bound) {
    // The other side already has a record with this identity, linked to another one (renamed
    // or edited onto it): creating a second would collide. Held until the two are told apart.
    cx.quarantine(
      o,
      side,
      rec.key,
      identity,
      'external_id_collision',
      `${otherSide(side)} record ${bound.key} already carries ${JSON.stringify(identity)} (it is linked to another record); give one of them another value`,
    );
    return o;
  }
  if (cx.model.mode === 'system-of-record' && side !== cx.model.sor) {
    // N points at a SOR key: adoption is cx.handled above; here the SOR has no such record.
    const sorRec = cx.snap.records[cx.model.sor!].get(identity);
    if (sorRec && !sorRec.inScope) return o.undetach.length ? o : undefined;
    cx.quarantine(
      o,
      side,
      rec.key,
      identity,
      'orphan_external_id',
      `${side}.${sideOf(cx.model, side).externalId} = ${JSON.stringify(identity)} but ${cx.model.sor} has no record with key ${identity}; clear it to create a new ${cx.model.sor} record, or set it to an existing key`,
    );
    return o;
  }
  planCreate(cx, o, side, rec, identity, null);
  return o;
}
