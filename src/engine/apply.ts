/**
 * Carrying out a batch's outcomes: the intent written down first, one bulk
 * write per side (each leaving a receipt), SOR write-backs, then links,
 * quarantine, history and the capture cursor in one state transaction — and
 * only once that is saved are the receipts forgotten.
 */

import type { Connector, WriteOp, WriteResult } from '../connectors/connector.js';
import { coerce } from '../core/canonical.js';
import { type SyncModel, sideOf } from '../core/model.js';
import type { Side } from '../core/types.js';
import {
  type BatchCommit,
  emptyCommit,
  type Intent,
  type IntentCreate,
  type IntentLink,
  type QuarantineEntry,
  type StateStore,
} from '../state/store.js';
import { failpoint } from './failpoint.js';
import { NEW_IDENTITY, type Outcome } from './outcome.js';
import { linkAfterPartialWrites } from './partial.js';
import type { CommitPipeline } from './pipeline.js';

export interface BatchCounts {
  created: Record<Side, number>;
  updated: Record<Side, number>;
  deleted: Record<Side, number>;
  conflicts: number;
  quarantined: number;
  detached: number;
}

export const emptyCounts = (): BatchCounts => ({
  created: { left: 0, right: 0 },
  updated: { left: 0, right: 0 },
  deleted: { left: 0, right: 0 },
  conflicts: 0,
  quarantined: 0,
  detached: 0,
});

export function addCounts(into: BatchCounts, from: BatchCounts): void {
  for (const s of ['left', 'right'] as const) {
    into.created[s] += from.created[s];
    into.updated[s] += from.updated[s];
    into.deleted[s] += from.deleted[s];
  }
  into.conflicts += from.conflicts;
  into.quarantined += from.quarantined;
  into.detached += from.detached;
}

/** What the outcomes would write, without writing it (`--dry-run`). */
export function countPlanned(outcomes: Outcome[]): BatchCounts {
  const c = emptyCounts();
  for (const o of outcomes) {
    for (const w of o.writes) {
      if (w.kind === 'insert') c.created[w.side]++;
      else if (w.kind === 'update') c.updated[w.side]++;
      else c.deleted[w.side]++;
    }
    c.conflicts += o.history.filter((h) => h.action === 'conflict').length;
    c.quarantined += o.quarantine.length;
    c.detached += o.detach.length;
  }
  return c;
}

export interface ApplyContext {
  model: SyncModel;
  connectors: Record<Side, Connector>;
  store: StateStore;
  pipeline: CommitPipeline;
  now: string;
}

export async function applyOutcomes(
  ctx: ApplyContext,
  outcomes: Outcome[],
  extra: Pick<BatchCommit, 'cursors'> & {
    retried?: Record<Side, string[]>;
    token: string;
    /** Keys with a quarantine entry (from the snapshot); undefined: treat every key as held. */
    held?: Record<Side, ReadonlyMap<string, unknown>>;
    /** Given to the batch's first write (WriteOptions.onSent). */
    onSent?: () => void;
  },
): Promise<BatchCounts> {
  const { model, connectors, store } = ctx;
  const counts = emptyCounts();

  // 1. Refs for every write (outcome n's writes are firstRef[n], firstRef[n] + 1, …), and the
  //    intent: what this batch is about to write.
  const ops: Record<Side, WriteOp[]> = { left: [], right: [] };
  const firstRef: number[] = new Array(outcomes.length);
  let ref = 0;
  outcomes.forEach((o, n) => {
    firstRef[n] = ref + 1;
    for (const w of o.writes) {
      ref++;
      if (w.kind === 'insert') ops[w.side].push({ op: 'insert', ref, values: w.values });
      else if (w.kind === 'update') ops[w.side].push({ op: 'update', ref, key: w.key, values: w.values });
      else ops[w.side].push({ op: 'delete', ref, key: w.key });
    }
  });
  const writing = ops.left.length + ops.right.length > 0;
  const { intent, linkOf } = buildIntent(ctx, outcomes, firstRef, extra.token);
  // Saved while the rows are written: it need only be durable before they commit.
  const intentSaved = writing ? store.addIntent(intent) : Promise.resolve();
  intentSaved.catch(() => {}); // observed below, even when a write fails first
  const beforeCommit = () => intentSaved;

  // 2. One bulk write per side, each leaving its receipt in the same transaction.
  const results: WriteResult[] = new Array(ref + 1);
  const wrote: Side[] = [];
  for (const side of ['left', 'right'] as const) {
    if (ops[side].length === 0) continue;
    const res = await connectors[side].write(sideOf(model, side).spec, ops[side], extra.token, {
      beforeCommit,
      ...(extra.onSent && wrote.length === 0 ? { onSent: extra.onSent } : {}),
    });
    for (const r of res) results[r.ref] = r;
    wrote.push(side);
    failpoint('after-side-commit');
  }
  await intentSaved;

  // 3. Results: links for creates, write-backs of SOR keys, quarantine for refusals.
  const commit: BatchCommit = {
    ...emptyCommit(model.name),
    removeIntents: writing ? [extra.token] : [],
    dropRetry: (['left', 'right'] as const).flatMap((side) =>
      (extra.retried?.[side] ?? []).map((key) => ({ side, key })),
    ),
    ...(extra.cursors ? { cursors: extra.cursors } : {}),
  };
  const writeBacks: { op: WriteOp; outcome: Outcome; side: Side }[] = [];
  // Creates that landed: the store links them from the intent.
  const landed: [number, string][] = [];
  if (writing) commit.linkCreates = { token: extra.token, landed };
  for (let n = 0; n < outcomes.length; n++) {
    const o = outcomes[n]!;
    let failed = false;
    let insertAt = -1;
    for (let i = 0; i < o.writes.length; i++) {
      const w = o.writes[i]!;
      if (w.kind === 'insert') insertAt = i;
      const r = results[firstRef[n]! + i]!;
      if (r.ok) {
        if (w.kind === 'insert') counts.created[w.side]++;
        else if (w.kind === 'update') counts.updated[w.side]++;
        else counts.deleted[w.side]++;
        continue;
      }
      failed = true;
      const source = o.create?.source ?? w.side;
      const recordKey = w.kind === 'insert' ? o.create!.sourceKey : w.key;
      commit.addQuarantine.push(
        quarantineFailed(
          model.name,
          o.identity,
          w.side,
          w.kind === 'insert' ? null : w.key,
          w.kind === 'insert' ? source : w.side,
          recordKey,
          w.kind,
          r.message,
        ),
      );
      commit.history.push({
        sync: model.name,
        identity: o.identity ?? `${source}:${recordKey}`,
        at: ctx.now,
        side: w.side,
        action: `write failed (${w.kind})`,
        detail: { message: r.message },
      });
    }
    if (o.create && insertAt >= 0) {
      const r = results[firstRef[n]! + insertAt]!;
      if (r.ok) {
        const c = o.create;
        const identity = c.identity ?? r.key;
        landed.push([r.ref, r.key]);
        if (o.deleteLinkId !== undefined) commit.deleteLinks.push(o.deleteLinkId);
        if (c.writeBackColumn) {
          const s = sideOf(model, c.source);
          const value = coerce(r.key, s.externalIdKind!) ?? r.key;
          writeBacks.push({
            side: c.source,
            outcome: o,
            op: { op: 'update', ref: ++ref, key: c.sourceKey, values: { [c.writeBackColumn]: value } },
          });
        }
        o.identity = identity;
        for (const h of o.history) if (h.identity === NEW_IDENTITY) h.identity = identity;
      }
    }
    if (o.create && o.history.length > 0) {
      const unknown = `${o.create.source}:${o.create.sourceKey}`;
      for (const h of o.history) if (h.identity === NEW_IDENTITY) h.identity = unknown;
    }
    if (failed) {
      // What did land is kept in the base, so it is not mistaken for a user's change later.
      const planned = linkOf.get(o);
      if (planned && o.link) {
        commit.upsertLinks.push(linkAfterPartialWrites(o.link, planned, (w) => results[w.ref]?.ok === true));
      }
      commit.history.push(...o.history);
      continue;
    }
    if (!o.create) {
      if (o.saveLink) commit.upsertLinks.push(o.saveLink);
      if (o.deleteLinkId !== undefined) commit.deleteLinks.push(o.deleteLinkId);
    }
    if (o.detach.length > 0) commit.addDetached.push(...o.detach);
    if (o.undetach.length > 0) commit.removeDetached.push(...o.undetach);
    // Only records that are held have an entry to lift (one look-up each saved per record).
    for (const s of o.settles)
      if (!extra.held || extra.held[s.side].has(s.key)) commit.clearQuarantine.push(s);
    if (o.quarantine.length > 0) commit.addQuarantine.push(...o.quarantine);
    for (const h of o.history) {
      commit.history.push(h);
      if (h.action === 'conflict') counts.conflicts++;
    }
    counts.detached += o.detach.length;
  }

  // 4. SOR keys written back into N's external-ID column. No receipt needed: a failure or a
  //    crash here is repaired on the next look (the link exists, and a linked N record whose
  //    external ID is wrong gets it written again).
  for (const side of ['left', 'right'] as const) {
    const batch = writeBacks.filter((w) => w.side === side);
    if (batch.length === 0) continue;
    const res = await connectors[side].write(
      sideOf(model, side).spec,
      batch.map((w) => w.op),
    );
    res.forEach((r, i) => {
      const wb = batch[i]!;
      if (r.ok || wb.op.op !== 'update') return;
      commit.addQuarantine.push(
        quarantineFailed(
          model.name,
          wb.outcome.identity,
          side,
          wb.op.key,
          side,
          wb.op.key,
          'update',
          r.message,
        ),
      );
    });
  }

  // A record quarantined again in this batch keeps its entry (cleared first, re-added after).
  const requarantined = new Set(commit.addQuarantine.map((q) => `${q.recordSide}\0${q.recordKey}`));
  commit.clearQuarantine = commit.clearQuarantine.filter((c) => !requarantined.has(`${c.side}\0${c.key}`));
  counts.quarantined = commit.addQuarantine.length;

  // 5. The commit is queued, not waited for (the next batch is prepared meanwhile); the receipts
  //    are forgotten once it is saved.
  ctx.pipeline.throwIfFailed();
  await ctx.pipeline.add(saveThenForget(ctx, commit, wrote, extra.token));
  return counts;
}

/**
 * Every this many saved batches that moved the capture cursors, the capture
 * data behind them is pruned (and once more when the pass ends). A long pass
 * then does not keep its whole backlog, nor tandem's own writes, in the
 * capture log to be read past again batch after batch.
 */
const PRUNE_EVERY_BATCHES = 4;

/**
 * The commit, then the receipts it makes unneeded, and now and then the
 * capture data its cursors have moved past. A function of its own so the
 * callback holds on to the token and cursors and nothing else of the batch.
 */
function saveThenForget(ctx: ApplyContext, commit: BatchCommit, wrote: Side[], token: string): Promise<void> {
  const { model, connectors } = ctx;
  const cursors = commit.cursors;
  return ctx.store.commit(commit).then(async () => {
    for (const side of wrote) await connectors[side].forgetReceipts(sideOf(model, side).spec, [token]);
    if (!cursors || ++ctx.pipeline.cursorCommits % PRUNE_EVERY_BATCHES !== 0) return;
    // Saved: the changes up to these positions are in the links now.
    for (const side of ['left', 'right'] as const) {
      const pos = cursors[side];
      if (pos !== undefined) await connectors[side].pruneChanges(sideOf(model, side).spec, pos);
    }
  });
}

/** The intent of a batch: its creates and the links it will save, with the refs of their writes. */
function buildIntent(
  ctx: ApplyContext,
  outcomes: Outcome[],
  firstRef: number[],
  token: string,
): { intent: Intent; linkOf: Map<Outcome, IntentLink> } {
  const { model } = ctx;
  const intent: Intent = { sync: model.name, token, createdAt: ctx.now, creates: [], links: [] };
  const linkOf = new Map<Outcome, IntentLink>();
  for (let n = 0; n < outcomes.length; n++) {
    const o = outcomes[n]!;
    if (o.create) {
      const at = o.writes.findIndex((w) => w.kind === 'insert');
      if (at >= 0) {
        const c = o.create;
        const create: IntentCreate = {
          ref: firstRef[n]! + at,
          target: c.target,
          source: c.source,
          sourceKey: c.sourceKey,
          identity: c.identity,
          base: c.base,
          leftAt: c.leftAt,
          rightAt: c.rightAt,
        };
        // Set only when there is one (a spread of an empty object costs every create a copy).
        if (o.deleteLinkId !== undefined) create.replacesLinkId = o.deleteLinkId;
        intent.creates.push(create);
      }
      continue;
    }
    if (!o.saveLink || o.saveLink.id === undefined) continue;
    const writes: IntentLink['writes'] = [];
    o.writes.forEach((w, i) => {
      if (w.kind !== 'update') return;
      const s = sideOf(model, w.side);
      const cols = new Set(Object.keys(w.values));
      writes.push({
        side: w.side,
        ref: firstRef[n]! + i,
        fields: model.fields.filter((f) => cols.has(w.side === 'left' ? f.left : f.right)).map((f) => f.id),
        setsIdentity: s.externalId !== undefined && cols.has(s.externalId),
      });
    });
    const entry: IntentLink = { planned: { ...o.saveLink, id: o.saveLink.id }, writes };
    intent.links.push(entry);
    linkOf.set(o, entry);
  }
  return { intent, linkOf };
}

function quarantineFailed(
  sync: string,
  identity: string | null,
  side: Side,
  key: string | null,
  recordSide: Side,
  recordKey: string,
  kind: string,
  message: string,
): QuarantineEntry {
  // A failed insert has no key on its side: the detail names the record it was made from.
  const detail: Record<string, unknown> = { operation: kind };
  if (key === null) Object.assign(detail, { source_side: recordSide, source_key: recordKey });
  return { sync, side, key, identity, recordSide, recordKey, reason: 'write_failed', message, detail };
}
