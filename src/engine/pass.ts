/**
 * A pass of one sync. With capture cursors: read what changed since the
 * cursors, batch by batch, advancing each cursor in the same state transaction
 * as the links (so a crash replays a batch, never skips one). Without cursors
 * (first sync) or on `reconcile`: stream both sides in full, then sweep links
 * whose records were not seen (deletes).
 */
import { identityIsKey } from '../core/identity.js';
import { sideOf } from '../core/model.js';
import { otherSide, type Side } from '../core/types.js';
import { emptyCommit } from '../state/store.js';
import { addCounts, type BatchCounts, emptyCounts } from './apply.js';
import { emptyDirty, runBatch } from './batch.js';
import type { SyncContext } from './context.js';
import { checkSchema } from './drift.js';
import { type GuardTrip, guardMessage, guardTrips, guardTripsCounting } from './guard.js';
import { recoverIntents } from './recover.js';
import { scanIntoEmpty } from './scan-into-empty.js';

export interface PassOptions {
  dryRun: boolean;
  /** Compare both sides in full (reconcile, and the first sync). */
  full: boolean;
  batchSize: number;
  /** Called after each batch with rows done so far (for progress bars). */
  onProgress?: (done: number, phase: string) => void;
  /** Set to stop after the batch in hand. */
  stop?: { requested: boolean };
}

export interface PassResult {
  counts: BatchCounts;
  /** Longest time a change waited between its commit and being synced in this pass. */
  lagMs: number;
  guard: GuardTrip | null;
  full: boolean;
  /** Records in quarantine when the pass ended. */
  quarantined: number;
  /** Capture met a TRUNCATE (the pass then compared in full). */
  truncated?: boolean;
}

const SIDES: Side[] = ['left', 'right'];

export async function runPass(ctx: SyncContext, opts: PassOptions): Promise<PassResult> {
  const { model, store } = ctx;
  await checkSchema(ctx);
  const status = await store.status(model.name);
  if (!opts.dryRun) await recoverIntents(ctx);
  const cursors = {
    left: await store.cursor(model.name, 'left'),
    right: await store.cursor(model.name, 'right'),
  };
  const full = opts.full || cursors.left === null || cursors.right === null || status.fullScanDue;
  // Counting links reads all of them (tens of milliseconds at a million): a capture pass asks only
  // when the delete guard has deletes to weigh, which most passes of a running tandem do not.
  const countLinked = () => store.countLinks(model.name);
  const confirmed = status.deletesConfirmed;
  let result: Omit<PassResult, 'quarantined'>;
  try {
    result = full
      ? await fullPass(ctx, opts, await countLinked(), confirmed)
      : await capturePass(ctx, opts, cursors as Record<Side, string>, once(countLinked), confirmed);
    if (result.truncated) result = await afterTruncate(ctx, opts, result, confirmed);
    if (result.full && !result.guard && !opts.dryRun && !opts.stop?.requested) {
      result = await afterFull(ctx, opts, result, confirmed);
    }
  } catch (err) {
    // The commits in flight still finish; the pass's own error is the one reported.
    await ctx.pipeline.drain().catch(() => {});
    throw err;
  }
  // Every batch's commit saved, and its receipts forgotten, before the pass counts as done.
  await ctx.pipeline.drain();
  const quarantined = await store.countQuarantined(model.name);
  if (!opts.dryRun) {
    await store.setStatus(model.name, {
      state: result.guard ? 'paused' : 'ok',
      reason: result.guard ? guardMessage(result.guard, model.name) : null,
      guard: result.guard,
      lastPassAt: ctx.clock(),
      lastPass: flatCounts(result.counts),
      // A confirmation covers one pass.
      deletesConfirmed: false,
      fullScanDue: result.guard !== null && result.full,
      lagMs: result.lagMs,
    });
  }
  return { ...result, quarantined };
}

/**
 * A side's log said TRUNCATE: every record went, and the log does not say
 * which. The changes before it are applied; then both sides are compared in
 * full, so the links whose records are gone become deletes, under the delete
 * guard like any other. The need is saved first: a crash in between still
 * compares in full next time.
 */
async function afterTruncate(
  ctx: SyncContext,
  opts: PassOptions,
  before: Omit<PassResult, 'quarantined'>,
  confirmed: boolean,
): Promise<Omit<PassResult, 'quarantined'>> {
  const { model, store } = ctx;
  if (!opts.dryRun) await store.setStatus(model.name, { fullScanDue: true });
  const full = await fullPass(ctx, opts, await store.countLinks(model.name), confirmed);
  addCounts(full.counts, before.counts);
  return { ...full, lagMs: Math.max(full.lagMs, before.lagMs), truncated: true };
}

/**
 * What changed while a full pass ran (from its start position on) is applied
 * by a capture pass straight after it. The user sees those changes now, not
 * at the next pass, and the capture log is read and let go of now: a
 * PostgreSQL slot would otherwise keep the whole pass's log (tandem's own
 * writes included) until the next run, which would then have to read it.
 */
async function afterFull(
  ctx: SyncContext,
  opts: PassOptions,
  full: Omit<PassResult, 'quarantined'>,
  confirmed: boolean,
): Promise<Omit<PassResult, 'quarantined'>> {
  const { model, store } = ctx;
  await ctx.pipeline.drain();
  const left = await store.cursor(model.name, 'left');
  const right = await store.cursor(model.name, 'right');
  if (left === null || right === null) return full;
  let tail = await capturePass(
    ctx,
    opts,
    { left, right },
    once(() => store.countLinks(model.name)),
    confirmed,
  );
  if (tail.truncated) tail = await afterTruncate(ctx, opts, tail, confirmed);
  addCounts(tail.counts, full.counts);
  return { ...tail, full: true, lagMs: Math.max(full.lagMs, tail.lagMs) };
}

export function flatCounts(c: BatchCounts): Record<string, number> {
  return {
    created_left: c.created.left,
    created_right: c.created.right,
    updated_left: c.updated.left,
    updated_right: c.updated.right,
    deleted_left: c.deleted.left,
    deleted_right: c.deleted.right,
    conflicts: c.conflicts,
    quarantined: c.quarantined,
    detached: c.detached,
  };
}

/** Records `retry` asked about get their own batches first, until none are left. */
async function drainRetries(ctx: SyncContext, opts: PassOptions, counts: BatchCounts): Promise<void> {
  for (;;) {
    const dirty = emptyDirty();
    for (const side of SIDES) {
      for (const k of await ctx.store.takeRetry(ctx.model.name, side, opts.batchSize)) {
        dirty.keys[side].add(k);
        dirty.retry[side].add(k);
      }
    }
    if (dirty.keys.left.size + dirty.keys.right.size === 0) return;
    const r = await runBatch(ctx, dirty, { dryRun: opts.dryRun });
    addCounts(counts, r.counts);
    // A dry run leaves the retry list as it is: one look is all it can plan.
    if (opts.dryRun) return;
  }
}

async function capturePass(
  ctx: SyncContext,
  opts: PassOptions,
  start: Record<Side, string>,
  /** Links when the pass began; asked for only when a guard decision needs it. */
  linked: () => Promise<number>,
  confirmed: boolean,
): Promise<Omit<PassResult, 'quarantined'>> {
  const { model, connectors } = ctx;
  const counts = emptyCounts();
  // The guard looks ahead at every delete waiting in capture before anything is applied.
  if (!confirmed && model.deleteGuard) {
    for (const side of SIDES) {
      const deletes = await countLinkedDeletes(ctx, side, start[side], opts.batchSize);
      const trip = await guardTripsCounting(model.deleteGuard, otherSide(side), deletes, linked);
      if (trip) return { counts, guard: trip, full: false, lagMs: 0 };
    }
  }
  await drainRetries(ctx, opts, counts);
  const pos = { ...start };
  let done = 0;
  let lagMs = 0;
  let truncated = false;
  for (;;) {
    const dirty = emptyDirty();
    dirty.from = { ...pos };
    const next: Partial<Record<Side, string>> = {};
    let events = 0;
    for (const side of SIDES) {
      const batch = await connectors[side].readChanges(sideOf(model, side).spec, pos[side], opts.batchSize);
      for (const c of batch.changes) {
        dirty.keys[side].add(c.key);
        dirty.changedAt[side].set(c.key, c.at);
        if (c.op === 'delete') dirty.deletedAt[side].set(c.key, c.at);
        else dirty.deletedAt[side].delete(c.key);
      }
      events += batch.changes.length;
      if (batch.position !== pos[side]) next[side] = batch.position;
      if (batch.truncatedAt !== undefined) truncated = true;
    }
    const any = dirty.keys.left.size + dirty.keys.right.size > 0;
    if (!any && Object.keys(next).length === 0) break;
    const r = await runBatch(ctx, dirty, { dryRun: opts.dryRun, cursors: next });
    addCounts(counts, r.counts);
    const syncedAt = Date.parse(ctx.clock());
    for (const side of SIDES) {
      for (const at of dirty.changedAt[side].values()) lagMs = Math.max(lagMs, syncedAt - Date.parse(at));
    }
    for (const side of SIDES) if (next[side]) pos[side] = next[side]!;
    done += dirty.keys.left.size + dirty.keys.right.size;
    opts.onProgress?.(done, 'changes');
    if (opts.dryRun && events === 0) break;
    if (opts.dryRun && events > 0 && Object.keys(next).length === 0) break;
    if (events === 0 || truncated) break;
    if (opts.stop?.requested) break;
  }
  if (!opts.dryRun) {
    // Only once the commits that moved the cursors past these changes are saved.
    await ctx.pipeline.drain();
    for (const side of SIDES)
      if (pos[side] !== start[side]) await connectors[side].pruneChanges(sideOf(model, side).spec, pos[side]);
  }
  return { counts, guard: null, full: false, lagMs, truncated };
}

/** Deletes waiting in capture on `side` for records that are linked. */
async function countLinkedDeletes(
  ctx: SyncContext,
  side: Side,
  from: string,
  pageSize: number,
): Promise<number> {
  const { model, connectors, store } = ctx;
  let pos = from;
  let n = 0;
  for (;;) {
    const page = await connectors[side].readChanges(sideOf(model, side).spec, pos, pageSize * 5);
    if (page.changes.length === 0) break;
    const last = new Map<string, string>();
    for (const c of page.changes) last.set(c.key, c.op);
    const deleted = [...last].filter(([, op]) => op === 'delete').map(([k]) => k);
    if (deleted.length > 0) n += (await store.linksByKeys(model.name, side, deleted)).length;
    pos = page.position;
  }
  return n;
}

async function fullPass(
  ctx: SyncContext,
  opts: PassOptions,
  linked: number,
  confirmed: boolean,
): Promise<Omit<PassResult, 'quarantined'>> {
  const { model, connectors, store } = ctx;
  const counts = emptyCounts();
  // Capture first, so nothing changed during the scan is missed: those changes replay after it.
  const startPos: Partial<Record<Side, string>> = {};
  for (const side of SIDES) {
    const spec = sideOf(model, side).spec;
    if (!opts.dryRun) await connectors[side].installCapture(spec);
    startPos[side] = await connectors[side].currentPosition(spec);
    // The log the scan leaves behind is read meanwhile, for the capture pass after it.
    if (!opts.dryRun) await connectors[side].startCapture?.(spec);
  }
  await drainRetries(ctx, opts, counts);
  // After the retries: they may have linked records (a recovered batch's creates).
  const freshState = await store.isFresh(model.name);
  const pass = await store.nextPassId(model.name);
  const maxId = await store.maxLinkId(model.name);
  // On a first sync, a side that was empty when the pass began holds only what this pass
  // creates (later user inserts are captured and replayed): it needs no scan of its own.
  const emptyAtStart: Record<Side, boolean> = { left: false, right: false };
  if (freshState) {
    // One record is enough to tell (a count would read the whole table).
    for (const side of SIDES)
      emptyAtStart[side] = (await connectors[side].scan(sideOf(model, side).spec, null, 1)).length === 0;
  }
  let done = 0;
  // Dry runs link nothing, so they remember which right records the left scan already planned for.
  const dryRunSeen = new Set<string>();

  for (const side of SIDES) {
    const spec = sideOf(model, side).spec;
    if (emptyAtStart[side] && !opts.dryRun) continue;
    const fresh = freshState && (side === 'left' || emptyAtStart.left);
    const intoEmpty =
      emptyAtStart[otherSide(side)] && identityUnique(model, 'left') && identityUnique(model, 'right');
    if (fresh && intoEmpty && !opts.dryRun) {
      const whole = await scanIntoEmpty(ctx, opts, side, counts, (rows) => {
        done += rows;
        opts.onProgress?.(done, `scan ${side}`);
      });
      if (!whole) return { counts, guard: null, full: true, lagMs: 0 };
      continue;
    }
    let after: string | null = null;
    for (;;) {
      const page = await connectors[side].scan(spec, after, opts.batchSize);
      if (page.length === 0) break;
      after = page[page.length - 1]!.key;
      let keys = page.map((r) => r.key);
      if (side === 'right') {
        // Right records already looked at from the left scan need no second look: linked in this
        // pass (id > maxId), or seen in it.
        const marks = await store.linkMarks(model.name, 'right', keys);
        keys = keys.filter((k) => {
          const m = marks.get(k);
          return !(m && (m.id > maxId || m.seen === pass)) && !dryRunSeen.has(k);
        });
      }
      const dirty = emptyDirty();
      for (const k of keys) dirty.keys[side].add(k);
      const preloaded = { left: [], right: [], [side]: page.filter((p) => dirty.keys[side].has(p.key)) };
      const r = await runBatch(ctx, dirty, {
        dryRun: opts.dryRun,
        // Gone records are counted by the guard in the sweep below, then deleted there.
        deferDeletes: !opts.dryRun,
        preloaded,
        freshState: fresh,
        intoEmpty,
      });
      addCounts(counts, r.counts);
      if (opts.dryRun && side === 'left') for (const k of r.snap.records.right.keys()) dryRunSeen.add(k);
      if (maxId > 0 && !opts.dryRun) {
        for (const s of SIDES) {
          const present = [...r.snap.records[s].values()].filter((x) => x.inScope).map((x) => x.key);
          await store.markSeen(model.name, s, present, pass, maxId);
        }
      }
      done += page.length;
      opts.onProgress?.(done, `scan ${side}`);
      if (opts.stop?.requested) return { counts, guard: null, full: true, lagMs: 0 };
    }
  }

  // Links whose records were not seen: deleted, or out of scope.
  if (maxId > 0 && !opts.dryRun) {
    const unseen = await store.countUnseen(model.name, pass, maxId);
    if (!confirmed) {
      for (const side of SIDES) {
        const trip = guardTrips(model.deleteGuard, otherSide(side), unseen[side], linked);
        if (trip) return { counts, guard: trip, full: true, lagMs: 0 };
      }
    }
    let afterId = 0;
    for (;;) {
      const links = await store.unseenLinks(model.name, pass, maxId, afterId, opts.batchSize);
      if (links.length === 0) break;
      afterId = links[links.length - 1]!.id!;
      const dirty = emptyDirty();
      for (const l of links) {
        if (l.leftKey !== null) dirty.keys.left.add(l.leftKey);
        if (l.rightKey !== null) dirty.keys.right.add(l.rightKey);
      }
      const r = await runBatch(ctx, dirty, { dryRun: false });
      addCounts(counts, r.counts);
      for (const s of SIDES) {
        const present = [...r.snap.records[s].values()].filter((x) => x.inScope).map((x) => x.key);
        await store.markSeen(model.name, s, present, pass, maxId);
      }
    }
  }
  if (!opts.dryRun) {
    await store.commit({
      ...emptyCommit(model.name),
      cursors: startPos,
    });
  }
  return { counts, guard: null, full: true, lagMs: 0 };
}

/** No two in-scope records of `side` can carry one identity. */
function identityUnique(model: SyncContext['model'], side: Side): boolean {
  if (identityIsKey(model, side)) return true;
  return sideOf(model, side).externalIdUnique === true;
}

/** `count`, called once at most: the first call's promise is every call's. */
function once(count: () => Promise<number>): () => Promise<number> {
  let counted: Promise<number> | undefined;
  return () => {
    counted ??= count();
    return counted;
  };
}
