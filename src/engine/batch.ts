/**
 * One batch, end to end: gather the snapshot for the dirty keys, decide, and
 * (unless dry-run) apply and commit. The unit a crash can interrupt and a
 * replay repeats with the same result.
 */
import { randomUUID } from 'node:crypto';
import type { Side } from '../core/types.js';
import { applyOutcomes, type BatchCounts, countPlanned } from './apply.js';
import { decide } from './decide.js';
import type { Outcome } from './outcome.js';
import { gatherSnapshot, type Snapshot } from './snapshot.js';
import type { SyncContext } from './context.js';

export interface DirtySet {
  keys: Record<Side, Set<string>>;
  changedAt: Record<Side, Map<string, string>>;
  retry: Record<Side, Set<string>>;
}

export const emptyDirty = (): DirtySet => ({
  keys: { left: new Set(), right: new Set() },
  changedAt: { left: new Map(), right: new Map() },
  retry: { left: new Set(), right: new Set() },
});

export interface BatchResult {
  counts: BatchCounts;
  outcomes: Outcome[];
  snap: Snapshot;
}

export async function runBatch(
  ctx: SyncContext,
  dirty: DirtySet,
  opts: { dryRun: boolean; cursors?: Partial<Record<Side, string>> },
): Promise<BatchResult> {
  const snap = await gatherSnapshot(ctx, dirty.keys);
  const now = ctx.clock();
  const outcomes = decide({
    model: ctx.model,
    snap,
    changedAt: dirty.changedAt,
    retry: dirty.retry,
    now,
    newToken: ctx.newToken ?? randomUUID,
  });
  if (opts.dryRun) return { counts: countPlanned(outcomes), outcomes, snap };
  const counts = await applyOutcomes({ ...ctx, now }, outcomes, {
    ...(opts.cursors ? { cursors: opts.cursors } : {}),
    retried: { left: [...dirty.retry.left], right: [...dirty.retry.right] },
  });
  return { counts, outcomes, snap };
}
