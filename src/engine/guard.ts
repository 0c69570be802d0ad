/**
 * The delete guard: a pass that would delete more than `max_fraction` of a
 * side's linked records (and at least `min_rows`) deletes nothing and pauses.
 */
import type { DeleteGuard } from '../config/model.js';
import type { Side } from '../core/types.js';

export interface GuardTrip {
  side: Side;
  deletes: number;
  linked: number;
}

export function guardTrips(
  guard: DeleteGuard | null,
  side: Side,
  deletes: number,
  linked: number,
): GuardTrip | null {
  if (!guard || deletes === 0) return null;
  if (deletes >= guard.minRows && deletes > guard.maxFraction * linked) return { side, deletes, linked };
  return null;
}

/** guardTrips, asking for the linked count only when it can decide anything (see runPass). */
export async function guardTripsCounting(
  guard: DeleteGuard | null,
  side: Side,
  deletes: number,
  linked: () => Promise<number>,
): Promise<GuardTrip | null> {
  if (!guard || deletes === 0 || deletes < guard.minRows) return null;
  return guardTrips(guard, side, deletes, await linked());
}

export function guardMessage(t: GuardTrip, sync: string): string {
  return `delete guard: this pass would delete ${t.deletes} of ${t.linked} linked records on ${t.side}; nothing was deleted. Check the ${t.side === 'left' ? 'right' : 'left'} side, then run \`tandem retry --deletes --sync ${sync}\` to confirm`;
}
