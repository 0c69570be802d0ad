/**
 * A first sync's scan of one side into a side that was empty when the pass
 * began, with one batch in the air while the next is read and decided.
 *
 * Such a batch only creates records on the other side (and may write keys
 * back into its own page's records): it looks up no link and no identity, so
 * deciding batch N+1 needs nothing batch N writes or saves. Batch N's rows
 * then travel to a database server, and are inserted there, while this
 * thread decides batch N+1, and the next page is read meanwhile too; on
 * PostgreSQL and MySQL the thread otherwise waits for each batch's round
 * trips. What stays in order is everything a crash could see: batch N+1's
 * intent, writes and commit all start after batch N's are done and queued,
 * exactly as one batch after another. (The next page's keys all come after
 * this page's, so no write-back of batch N can make it stale.)
 */
import { sideOf } from '../core/model.js';
import type { Side, SourceRecord } from '../core/types.js';
import { addCounts, type BatchCounts } from './apply.js';
import { applyBatch, type BatchResult, emptyDirty, type PreparedBatch, prepareBatch } from './batch.js';
import type { SyncContext } from './context.js';
import type { PassOptions } from './pass.js';

/** Scans `side` in full; returns false when a stop was asked for before the end. */
export async function scanIntoEmpty(
  ctx: SyncContext,
  opts: PassOptions,
  side: Side,
  counts: BatchCounts,
  progress: (rows: number) => void,
): Promise<boolean> {
  const connector = ctx.connectors[side];
  const spec = sideOf(ctx.model, side).spec;
  const scan = (after: string | null) => {
    const page = connector.scan(spec, after, opts.batchSize);
    page.catch(() => {}); // observed when its turn comes, even if the pass fails first
    return page;
  };
  let next = scan(null);
  let applying: Promise<BatchResult> | null = null;
  let rowsApplying = 0;
  /** Waits for the batch in the air and counts it in. */
  const landed = async () => {
    if (!applying) return;
    const r = await applying;
    applying = null;
    addCounts(counts, r.counts);
    progress(rowsApplying);
  };
  try {
    for (;;) {
      const page: SourceRecord[] = await next;
      if (page.length === 0) break;
      next = scan(page[page.length - 1]!.key);
      const dirty = emptyDirty();
      for (const r of page) dirty.keys[side].add(r.key);
      const prepared: PreparedBatch = await prepareBatch(ctx, dirty, {
        dryRun: false,
        deferDeletes: true,
        preloaded: { left: [], right: [], [side]: page },
        freshState: true,
        intoEmpty: true,
      });
      await landed();
      if (opts.stop?.requested) return false;
      applying = applyBatch(ctx, prepared, { dryRun: false });
      rowsApplying = page.length;
    }
    await landed();
    return true;
  } finally {
    // A failure leaves no batch writing behind the pass's back.
    if (applying) await (applying as Promise<BatchResult>).catch(() => {});
  }
}
