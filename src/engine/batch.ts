/**
 * One batch, end to end: gather the snapshot for the dirty keys, decide, and
 * (unless dry-run) apply and commit. The unit a crash can interrupt and a
 * replay repeats with the same result.
 */
import { randomUUID } from 'node:crypto';
import type { Side } from '../core/types.js';
import { applyOutcomes, type BatchCounts, countPlanned } from './apply.js';
import type { SyncContext } from './context.js';
import { decide } from './decide.js';
import type { Outcome } from './outcome.js';
import { type GatherOptions, gatherSnapshot, type Snapshot } from './snapshot.js';

export interface DirtySet {
  keys: Record<Side, Set<string>>;
  changedAt: Record<Side, Map<string, string>>;
  /** Keys whose last change seen in this batch is a delete, with its time. */
  deletedAt: Record<Side, Map<string, string>>;
  retry: Record<Side, Set<string>>;
  /** Capture positions this batch starts after (capture passes), to look further on for change times. */
  from?: Partial<Record<Side, string>>;
}

export const emptyDirty = (): DirtySet => ({
  keys: { left: new Set(), right: new Set() },
  changedAt: { left: new Map(), right: new Map() },
  deletedAt: { left: new Map(), right: new Map() },
  retry: { left: new Set(), right: new Set() },
});

export interface BatchResult {
  counts: BatchCounts;
  outcomes: Outcome[];
  snap: Snapshot;
}

export type BatchOptions = {
  dryRun: boolean;
  cursors?: Partial<Record<Side, string>>;
  deferDeletes?: boolean;
} & GatherOptions;

/** A batch read and decided, not yet applied. */
export interface PreparedBatch {
  dirty: DirtySet;
  snap: Snapshot;
  outcomes: Outcome[];
  now: string;
}

export async function runBatch(ctx: SyncContext, dirty: DirtySet, opts: BatchOptions): Promise<BatchResult> {
  return applyBatch(ctx, await prepareBatch(ctx, dirty, opts), opts);
}

/** Reading and deciding: what the batch will do, with nothing written yet. */
export async function prepareBatch(
  ctx: SyncContext,
  dirty: DirtySet,
  opts: BatchOptions,
): Promise<PreparedBatch> {
  const snap = await gatherSnapshot(ctx, dirty.keys, opts);
  if (dirty.from) await lookFurther(ctx, dirty, snap);
  const now = ctx.clock();
  const outcomes = decide({
    model: ctx.model,
    snap,
    changedAt: dirty.changedAt,
    deletedAt: dirty.deletedAt,
    retry: dirty.retry,
    now,
    quietCreates: opts.freshState === true,
    deferDeletes: opts.deferDeletes === true,
  });
  return { dirty, snap, outcomes, now };
}

/** Writing what a prepared batch decided (nothing under dry-run) and queueing its state commit. */
export async function applyBatch(
  ctx: SyncContext,
  prepared: PreparedBatch,
  opts: Pick<BatchOptions, 'dryRun' | 'cursors'> & { onSent?: () => void },
): Promise<BatchResult> {
  const { dirty, snap, outcomes, now } = prepared;
  if (opts.dryRun) return { counts: countPlanned(outcomes), outcomes, snap };
  const counts = await applyOutcomes({ ...ctx, now }, outcomes, {
    token: (ctx.newToken ?? randomUUID)(),
    held: snap.held,
    ...(opts.cursors ? { cursors: opts.cursors } : {}),
    retried: { left: [...dirty.retry.left], right: [...dirty.retry.right] },
    ...(opts.onSent ? { onSent: opts.onSent } : {}),
  });
  return { counts, outcomes, snap };
}

/**
 * newest-wins needs each record's latest change time, which may lie beyond this
 * batch in the capture log (a record's delete seen gone now, its event read
 * later). One look per side at the pending log for the records in play.
 */
async function lookFurther(ctx: SyncContext, dirty: DirtySet, snap: Snapshot): Promise<void> {
  if (ctx.model.conflicts !== 'newest-wins' && ctx.model.conflicts !== 'manual') return;
  for (const side of ['left', 'right'] as const) {
    const from = dirty.from?.[side];
    if (from === undefined) continue;
    const later = await ctx.connectors[side].latestChanges(ctx.model[side].spec, from, [...snap.read[side]]);
    for (const [key, c] of later) {
      const had = dirty.changedAt[side].get(key);
      if (had === undefined || c.at > had) dirty.changedAt[side].set(key, c.at);
      if (c.op === 'delete') dirty.deletedAt[side].set(key, c.at);
      else dirty.deletedAt[side].delete(key);
    }
  }
}
