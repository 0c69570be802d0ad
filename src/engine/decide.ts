/**
 * Deciding a batch: given the snapshot (current records on both sides, links
 * with their base, held and detached entries), what each identity needs.
 * No I/O here: the same snapshot always gives the same outcomes, which is what
 * makes replays, duplicates and crashes harmless.
 */
import { identityOf } from '../core/identity.js';
import type { SyncModel } from '../core/model.js';
import { otherSide, type Side, type SourceRecord } from '../core/types.js';
import { DecideContext, SIDES } from './decide/context.js';
import { planCreate } from './decide/create.js';
import { decideLinked } from './decide/linked.js';
import { decideUnlinked } from './decide/unlinked.js';
import { emptyOutcome, type Outcome } from './outcome.js';
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
  /**
   * A full pass's scan: a linked record found gone is left for the pass's sweep
   * of unseen links, which counts them all for the delete guard before any is
   * propagated.
   */
  deferDeletes?: boolean;
}

/** The empty side of an identity's group (frozen: replaced by an array of its own, never pushed to). */
const NONE = Object.freeze([]) as unknown as SourceRecord[];

export function decide(input: DecideInput): Outcome[] {
  const cx = new DecideContext(input);
  const outcomes: Outcome[] = [];

  // 1. Every linked pair.
  for (const link of cx.snap.links.values()) {
    if (link.leftKey !== null) cx.handled.left.add(link.leftKey);
    if (link.rightKey !== null) cx.handled.right.add(link.rightKey);
    const o = decideLinked(cx, link);
    if (o) outcomes.push(o);
  }

  // 2. Records with an identity and no link: first meetings, creates, orphans, duplicates.
  const byIdentity = new Map<string, Record<Side, SourceRecord[]>>();
  for (const side of SIDES) {
    for (const r of cx.snap.records[side].values()) {
      if (!r.inScope || cx.handled[side].has(r.key)) continue;
      const id = identityOf(cx.model, side, r);
      if (id === null || cx.linkByIdentity.has(id)) continue;
      const g = byIdentity.get(id);
      // Most identities have one record: its group gets one array, the other side shares NONE.
      if (!g) byIdentity.set(id, side === 'left' ? { left: [r], right: NONE } : { left: NONE, right: [r] });
      else if (g[side] === NONE) g[side] = [r];
      else g[side].push(r);
    }
  }
  for (const [identity, group] of byIdentity) {
    const o = decideUnlinked(cx, identity, group.left, group.right);
    if (o) outcomes.push(o);
  }

  // 3. SOR mode: records born on N without an external ID are created in the SOR.
  if (cx.model.mode === 'system-of-record') {
    const n = otherSide(cx.model.sor!);
    for (const r of cx.snap.records[n].values()) {
      if (!r.inScope || cx.handled[n].has(r.key) || identityOf(cx.model, n, r) !== null) continue;
      const o = emptyOutcome(null);
      planCreate(cx, o, n, r, null, null);
      outcomes.push(o);
    }
  }
  // 4. Held records that are gone or out of scope now: nothing left to hold.
  const gone = emptyOutcome(null);
  for (const side of SIDES) {
    for (const [key, q] of cx.snap.held[side]) {
      const rec = cx.snap.records[side].get(key);
      if (cx.snap.read[side].has(key) && !rec?.inScope) {
        gone.settles.push({ side, key });
        gone.history.push({
          sync: cx.model.name,
          identity: q.identity ?? `${side}:${key}`,
          at: cx.input.now,
          side,
          action: `released from quarantine (${q.reason}): record ${rec ? 'left scope' : 'deleted'}`,
        });
      }
    }
  }
  if (gone.settles.length > 0) outcomes.push(gone);
  return outcomes;
}
