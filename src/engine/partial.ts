/**
 * A link after only some of its batch's writes landed (a row refused on one
 * side, or a stop between the two sides' writes). Each field's base moves to
 * what was written only where every write of that field landed, so a value the
 * engine wrote is never taken for a user's change, and a write that did not
 * land is simply made again on the next look.
 */
import type { Base } from '../core/merge.js';
import type { IntentLink, Link } from '../state/store.js';

export function linkAfterPartialWrites(
  current: Link,
  planned: IntentLink,
  landed: (w: IntentLink['writes'][number]) => boolean,
): Link {
  const base: Base = { ...current.base };
  for (const [field, fps] of Object.entries(planned.planned.base)) {
    const writes = planned.writes.filter((w) => w.fields.includes(field));
    if (writes.every(landed)) base[field] = fps;
  }
  const renamed = planned.writes.filter((w) => w.setsIdentity).every(landed);
  return {
    ...current,
    identity: renamed ? planned.planned.identity : current.identity,
    base,
    leftAt: planned.planned.leftAt,
    rightAt: planned.planned.rightAt,
  };
}
