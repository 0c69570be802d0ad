/**
 * Planning a create on the other side: the mapped values, the identity columns,
 * and the write-back of a key the target assigns.
 */
import { coerce } from '../../core/canonical.js';
import { createValues } from '../../core/merge.js';
import { sideOf } from '../../core/model.js';
import { otherSide, type Side, type SourceRecord } from '../../core/types.js';
import type { Link } from '../../state/store.js';
import type { Outcome } from '../outcome.js';
import type { DecideContext } from './context.js';

export function planCreate(
  cx: DecideContext,
  o: Outcome,
  source: Side,
  rec: SourceRecord,
  identity: string | null,
  replaces: Link | null,
) {
  const target = otherSide(source);
  const t = sideOf(cx.model, target);
  const s = sideOf(cx.model, source);
  const cv = createValues(cx.model.fields, source, rec.values);
  if (cv.invalid.length > 0) {
    cx.quarantine(o, source, rec.key, identity, 'invalid_value', cv.invalid[0]!.message);
    return;
  }
  const values = cv.values;
  let writeBackColumn: string | undefined;
  if (
    identity !== null &&
    t.externalId &&
    !(cx.model.mode === 'system-of-record' && cx.model.sor === target)
  ) {
    values[t.externalId] = coerce(identity, t.externalIdKind!) ?? identity;
  }
  if (identity === null) {
    // A create in the SOR: the SOR assigns the key, then it is written back into N's external-ID column.
    writeBackColumn = s.externalId;
    if (t.externalId) values[t.externalId] = coerce(rec.key, t.externalIdKind!) ?? rec.key;
  } else if (cx.model.mode === 'system-of-record' && source === cx.model.sor && s.externalId) {
    // S's own external-ID column gets the key N assigns.
    writeBackColumn = s.externalId;
  }
  o.writes.push({ kind: 'insert', side: target, values });
  const at = cx.timeOf(source, rec, null);
  o.create = {
    target,
    source,
    sourceKey: rec.key,
    identity,
    base: cv.base,
    leftAt: source === 'left' ? at : null,
    rightAt: source === 'right' ? at : null,
  };
  if (writeBackColumn) o.create.writeBackColumn = writeBackColumn;
  o.settles.push({ side: source, key: rec.key });
  if (replaces) o.deleteLinkId = replaces.id!;
  if (!cx.input.quietCreates) cx.note(o, source, `created on ${target}`, { from: rec.key });
}
