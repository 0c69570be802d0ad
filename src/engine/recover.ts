/**
 * Crash recovery, run before anything else in a pass. Each batch saved an
 * intent (what it was about to write) before writing, and each side's write left
 * a receipt in the same transaction as its rows. An intent still here means the
 * engine stopped before the batch's state was saved. The receipts say exactly
 * which writes landed, so the links and bases those writes imply are saved now:
 * a record the engine created is linked (never created twice, even if its key
 * was assigned by the other side), and a value the engine wrote is never taken
 * for a user's change. Writes that did not land are simply made again by the
 * replay (capture cursors were not advanced).
 */

import type { WriteReceipt } from '../connectors/connector.js';
import { baseOf } from '../core/merge.js';
import { sideOf } from '../core/model.js';
import type { Side } from '../core/types.js';
import { type BatchCommit, emptyCommit, type Intent } from '../state/store.js';
import type { SyncContext } from './context.js';
import { linkAfterPartialWrites } from './partial.js';

const SIDES: Side[] = ['left', 'right'];

export async function recoverIntents(ctx: SyncContext): Promise<number> {
  const { model, store, connectors } = ctx;
  const intents = await store.intents(model.name);
  for (const intent of intents) {
    const receipts: Partial<Record<Side, WriteReceipt>> = {};
    for (const side of SIDES) {
      const r = (await connectors[side].readReceipts(sideOf(model, side).spec, [intent.token])).get(
        intent.token,
      );
      if (r) receipts[side] = r;
    }
    const commit = await settle(ctx, intent, receipts);
    await store.commit(commit);
    const retry: Record<Side, string[]> = { left: [], right: [] };
    for (const c of intent.creates) retry[c.source].push(c.sourceKey);
    for (const l of intent.links) {
      if (l.planned.leftKey !== null) retry.left.push(l.planned.leftKey);
      if (l.planned.rightKey !== null) retry.right.push(l.planned.rightKey);
    }
    for (const side of SIDES) {
      // Another look at every record the batch touched, in this pass (e.g. to write a SOR key back).
      if (retry[side].length > 0) await store.addRetry(model.name, side, retry[side]);
      if (receipts[side]) await connectors[side].forgetReceipts(sideOf(model, side).spec, [intent.token]);
    }
    ctx.log.info(
      {
        sync: model.name,
        landed: Object.keys(receipts),
        creates: intent.creates.length,
        links: intent.links.length,
      },
      'recovered a batch interrupted by a stop',
    );
  }
  return intents.length;
}

async function settle(
  ctx: SyncContext,
  intent: Intent,
  receipts: Partial<Record<Side, WriteReceipt>>,
): Promise<BatchCommit> {
  const { model, store } = ctx;
  const commit: BatchCommit = {
    ...emptyCommit(model.name),
    removeIntents: [intent.token],
  };
  const landed = (side: Side, ref: number) => receipts[side]?.ok.includes(ref) === true;
  const at = ctx.clock();

  // Creates that landed: link them with the base they were made with.
  for (const c of intent.creates) {
    const key = receipts[c.target]?.keys[c.ref];
    if (key === undefined) continue;
    const identity = c.identity ?? key;
    const taken = await store.linksByIdentities(model.name, [identity]);
    if (taken.some((l) => l.id !== c.replacesLinkId)) continue;
    commit.upsertLinks.push({
      sync: model.name,
      identity,
      leftKey: c.target === 'left' ? key : c.sourceKey,
      rightKey: c.target === 'right' ? key : c.sourceKey,
      base: baseOf(c.base),
      leftAt: c.leftAt,
      rightAt: c.rightAt,
    });
    if (c.replacesLinkId !== undefined) commit.deleteLinks.push(c.replacesLinkId);
    commit.history.push({
      sync: model.name,
      identity,
      at,
      side: 'engine',
      action: `recovered after a stop: created on ${c.target}, linked`,
    });
  }

  // Updates: each field's base moves to what was written only where that write landed.
  const current = new Map(
    (
      await store.linksByIds(
        model.name,
        intent.links.map((l) => l.planned.id),
      )
    ).map((l) => [l.id!, l]),
  );
  for (const l of intent.links) {
    const now = current.get(l.planned.id);
    if (now) commit.upsertLinks.push(linkAfterPartialWrites(now, l, (w) => landed(w.side, w.ref)));
  }
  return commit;
}
