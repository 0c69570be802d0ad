/**
 * Holding a record: under a manual conflict (both values and their fingerprints
 * are kept, so a retry after an edit knows which side was edited), or because a
 * value cannot be stored on the other side.
 */
import { fingerprint } from '../../core/fingerprint.js';
import type { Base, InvalidValue } from '../../core/merge.js';
import { otherSide, type Side, type SourceRecord } from '../../core/types.js';
import type { Outcome } from '../outcome.js';
import type { DecideContext } from './context.js';

export function holdConflict(
  cx: DecideContext,
  o: Outcome,
  identity: string,
  recs: Record<Side, SourceRecord>,
  conflicts: { field: string; left: unknown; right: unknown }[],
): Outcome {
  const heldFp: Base = {};
  for (const c of conflicts) {
    const f = cx.model.fields.find((x) => x.id === c.field)!;
    heldFp[c.field] = [
      fingerprint(recs.left.values[f.left] ?? null),
      fingerprint(recs.right.values[f.right] ?? null),
    ];
  }
  const side = cx.model.sor ?? 'left';
  cx.quarantine(
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

/** A value the other side cannot take: the record whose value it is, is held. */
export function holdInvalid(
  cx: DecideContext,
  o: Outcome,
  identity: string,
  recs: Record<Side, SourceRecord>,
  invalid: InvalidValue,
): Outcome {
  const from = otherSide(invalid.side);
  cx.quarantine(o, from, recs[from].key, identity, 'invalid_value', invalid.message);
  return o;
}
