/**
 * Decisions for a linked pair: merge, rename, external-ID write-back, duplicates,
 * deletes (and a delete racing an update), and leaving scope.
 */
import { coerce } from '../../core/canonical.js';
import { fingerprint } from '../../core/fingerprint.js';
import { identityOf } from '../../core/identity.js';
import { type Base, conflictWinner, merge } from '../../core/merge.js';
import { deleteAction, sideOf } from '../../core/model.js';
import { otherSide, type Row, type Side, type SourceRecord } from '../../core/types.js';
import type { Link } from '../../state/store.js';
import { emptyOutcome, type Outcome } from '../outcome.js';
import { type DecideContext, SIDES } from './context.js';
import { planCreate } from './create.js';
import { holdConflict, holdInvalid } from './hold.js';

export function decideLinked(cx: DecideContext, link: Link): Outcome | undefined {
  const o = emptyOutcome(link.identity);
  o.link = link;
  const lrec = link.leftKey === null ? undefined : cx.snap.records.left.get(link.leftKey);
  const rrec = link.rightKey === null ? undefined : cx.snap.records.right.get(link.rightKey);
  if (!lrec && !rrec) {
    o.deleteLinkId = link.id!;
    cx.note(o, 'engine', 'deleted on both sides: unlinked');
    return o;
  }
  if ((lrec && !lrec.inScope) || (rrec && !rrec.inScope)) {
    // Leaving scope unlinks; the record still in scope is detached so it is not recreated over there.
    o.deleteLinkId = link.id!;
    for (const [side, rec] of [
      ['left', lrec],
      ['right', rrec],
    ] as const) {
      if (rec?.inScope) o.detach.push({ sync: cx.model.name, side, key: rec.key, identity: link.identity });
    }
    cx.note(o, 'engine', 'left scope: unlinked');
    return o;
  }
  if (!lrec || !rrec) {
    if (cx.input.deferDeletes) return undefined;
    return decideDelete(cx, o, link, lrec ? 'right' : 'left', (lrec ?? rrec)!);
  }

  const recs: Record<Side, SourceRecord> = { left: lrec, right: rrec };
  if (cx.heldConflict('left', lrec.key) || cx.heldConflict('right', rrec.key)) return undefined;

  let identity = link.identity;
  const extWrites: Record<Side, Row> = { left: {}, right: {} };
  if (cx.model.mode === 'external-id') {
    const cur = { left: identityOf(cx.model, 'left', lrec), right: identityOf(cx.model, 'right', rrec) };
    if (cur.left === null || cur.right === null) {
      o.deleteLinkId = link.id!;
      for (const side of SIDES) {
        const id = cur[side];
        if (id !== null) o.detach.push({ sync: cx.model.name, side, key: recs[side].key, identity: id });
      }
      cx.note(o, cur.left === null ? 'left' : 'right', 'external id cleared: both records detached');
      return o;
    }
    if (cur.left !== identity || cur.right !== identity) {
      let renamed: Side;
      if (cur.left !== identity && cur.right !== identity && cur.left !== cur.right) {
        const w = conflictWinner(
          cx.model.conflicts,
          cx.model.sor,
          cx.timeOf('left', lrec, link.leftAt),
          cx.timeOf('right', rrec, link.rightAt),
        );
        renamed = w === 'right' ? 'right' : 'left';
      } else {
        renamed = cur.left !== identity ? 'left' : 'right';
      }
      const next = cur[renamed]!;
      const target = otherSide(renamed);
      const taken =
        (cx.linkByIdentity.get(next) && cx.linkByIdentity.get(next) !== link) ||
        cx.carriers(target, next).some((r) => r.key !== recs[target].key);
      if (taken) {
        cx.quarantine(
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
        const col = sideOf(cx.model, target).externalId!;
        extWrites[target][col] = coerce(next, sideOf(cx.model, target).externalIdKind!) ?? next;
      }
      cx.note(o, renamed, 'external id renamed', { from: identity, to: next });
      identity = next;
    }
    for (const side of SIDES) {
      const dups = cx.freeCarriers(side, identity, link);
      if (dups.length > 1) {
        for (const d of dups) {
          cx.quarantine(
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
    const n = otherSide(cx.model.sor!);
    const nSide = sideOf(cx.model, n);
    const sSide = sideOf(cx.model, cx.model.sor!);
    if (sSide.externalId && recs[cx.model.sor!].values[sSide.externalId] !== recs[n].key) {
      // S's own external-ID column holds N's key: kept right by the engine too.
      extWrites[cx.model.sor!][sSide.externalId] = coerce(recs[n].key, sSide.externalIdKind!) ?? recs[n].key;
    }
    const curN = identityOf(cx.model, n, recs[n]);
    if (curN !== identity) {
      extWrites[n][nSide.externalId!] = coerce(identity, nSide.externalIdKind!) ?? identity;
      cx.note(o, n, 'external id edited on the linked record: written back', {
        found: curN,
        restored: identity,
      });
    }
    for (const d of cx.freeCarriers(n, identity, link)) {
      if (d.key === recs[n].key) continue;
      cx.handled[n].add(d.key);
      cx.quarantine(
        o,
        n,
        d.key,
        identity,
        'duplicate_external_id',
        `another ${n} record (key ${recs[n].key}) is already linked to ${cx.model.sor} key ${identity}`,
      );
    }
  }

  const retried = cx.heldBase(cx.snap.held.left.get(lrec.key) ?? cx.snap.held.right.get(rrec.key));
  const base: Base = Object.keys(retried).length > 0 ? { ...link.base, ...retried } : link.base;
  const leftAt = cx.timeOf('left', lrec, link.leftAt);
  const rightAt = cx.timeOf('right', rrec, link.rightAt);
  const m = merge({
    fields: cx.model.fields,
    left: lrec.values,
    right: rrec.values,
    base,
    policy: cx.model.conflicts,
    sor: cx.model.sor,
    leftAt,
    rightAt,
  });
  if (m.held) return holdConflict(cx, o, identity, recs, m.conflicts);
  if (m.invalid.length > 0) return holdInvalid(cx, o, identity, recs, m.invalid[0]!);
  for (const side of SIDES) {
    const values = { ...m.writes[side], ...extWrites[side] };
    if (Object.keys(values).length > 0) o.writes.push({ kind: 'update', side, key: recs[side].key, values });
  }
  for (const c of m.conflicts)
    cx.note(o, 'engine', 'conflict', {
      field: c.field,
      left: c.left,
      right: c.right,
      winner: c.winner,
      policy: cx.model.conflicts,
    });
  for (const side of SIDES) {
    const cols = Object.keys(m.writes[side]);
    if (cols.length > 0) cx.note(o, otherSide(side), `updated ${side}`, { fields: cols });
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

function decideDelete(
  cx: DecideContext,
  o: Outcome,
  link: Link,
  deleted: Side,
  survivor: SourceRecord,
): Outcome {
  const surv = otherSide(deleted);
  o.deleteLinkId = link.id!;
  if (deleteAction(cx.model, deleted) === 'ignore') {
    o.detach.push({ sync: cx.model.name, side: surv, key: survivor.key, identity: link.identity });
    cx.note(
      o,
      deleted,
      `deleted on ${deleted}; deletes ${deleted}-to-${surv} are ignored: ${surv} record detached`,
    );
    return o;
  }
  const survivorChanged = cx.model.fields.some((f) => {
    const was = link.base[f.id];
    const v = survivor.values[surv === 'left' ? f.left : f.right] ?? null;
    return !was || was[surv === 'left' ? 0 : 1] !== fingerprint(v);
  });
  let recreate = false;
  if (survivorChanged) {
    // The delete's own capture time; if its event is not in this batch (it is further on in
    // the log), the time the engine saw it gone.
    const deletedAt =
      cx.input.deletedAt[deleted].get((deleted === 'left' ? link.leftKey : link.rightKey)!) ?? cx.input.now;
    const survAt = cx.timeOf(surv, survivor, surv === 'left' ? link.leftAt : link.rightAt) ?? cx.input.now;
    const policy = cx.model.conflicts === 'manual' ? 'newest-wins' : cx.model.conflicts;
    const times = deleted === 'left' ? [deletedAt, survAt] : [survAt, deletedAt];
    const w = conflictWinner(policy, cx.model.sor, times[0]!, times[1]!);
    // Under newest-wins a tie keeps the delete: the record is gone on one side, and nobody edited it later.
    recreate = w === surv && !(policy === 'newest-wins' && deletedAt === survAt);
  }
  if (recreate) {
    cx.note(
      o,
      surv,
      `deleted on ${deleted} but updated on ${surv} and the update wins (${cx.model.conflicts}): recreated on ${deleted}`,
    );
    // The survivor's identity as it is now (it may have been renamed since the link was made).
    let identity: string | null = link.identity;
    if (cx.model.mode === 'system-of-record' && cx.model.sor === deleted) identity = null;
    else if (cx.model.mode === 'external-id') identity = identityOf(cx.model, surv, survivor);
    if (cx.model.mode === 'external-id' && identity === null) {
      // Its external ID was cleared too: nothing to recreate it under. Left alone, detached.
      o.history.pop();
      cx.note(
        o,
        deleted,
        `deleted on ${deleted}; the ${surv} record has no external id any more: left alone`,
      );
      return o;
    }
    planCreate(cx, o, surv, survivor, identity, link);
    return o;
  }
  o.writes.push({ kind: 'delete', side: surv, key: survivor.key });
  o.settles.push({ side: surv, key: survivor.key });
  cx.note(o, deleted, `deleted on ${deleted}: deleted on ${surv}`, { key: survivor.key });
  return o;
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
