/**
 * Crash safety for creates whose key the other side assigns (creates in the
 * SOR). Before such a create the engine writes a pending entry with a token; the
 * connector stores the token with the new record in the same transaction. On
 * the next start every pending entry is resolved before anything else: found
 * means the create happened (link it, and let the pass write the key back);
 * not found means it did not (drop it; the change replays from the cursor).
 */
import { sideOf } from '../core/model.js';
import { otherSide, type Side } from '../core/types.js';
import type { Link } from '../state/store.js';
import type { SyncContext } from './context.js';

export async function resolvePending(ctx: SyncContext): Promise<number> {
  const { model, store, connectors } = ctx;
  const pending = await store.pending(model.name);
  if (pending.length === 0) return 0;
  const links: Link[] = [];
  const forget: Record<Side, string[]> = { left: [], right: [] };
  const recheck: Record<Side, string[]> = { left: [], right: [] };
  for (const side of ['left', 'right'] as const) {
    const mine = pending.filter((p) => p.target === side);
    if (mine.length === 0) continue;
    const found = await connectors[side].lookupCreated(sideOf(model, side).spec, mine.map((p) => p.token));
    for (const p of mine) {
      const key = found.get(p.token);
      const source = otherSide(side);
      recheck[source].push(p.sourceKey);
      if (key === undefined) continue;
      forget[side].push(p.token);
      // An empty base: the next look settles every field by policy (the SOR holds the N values it was made from).
      links.push({
        sync: model.name,
        identity: key,
        leftKey: side === 'left' ? key : p.sourceKey,
        rightKey: side === 'right' ? key : p.sourceKey,
        base: {},
        leftAt: null,
        rightAt: null,
      });
    }
  }
  const existing = await store.linksByIdentities(model.name, links.map((l) => l.identity));
  const known = new Set(existing.map((l) => l.identity));
  await store.commit({
    sync: model.name,
    upsertLinks: links.filter((l) => !known.has(l.identity)),
    deleteLinks: [],
    addDetached: [],
    removeDetached: [],
    addQuarantine: [],
    clearQuarantine: [],
    removePending: pending.map((p) => p.token),
    history: links.map((l) => ({
      sync: model.name,
      identity: l.identity,
      at: ctx.clock(),
      side: 'engine' as const,
      action: 'recovered a create interrupted by a crash: linked',
    })),
  });
  // The source records get another look in this pass (write the key back, settle fields).
  for (const side of ['left', 'right'] as const) {
    if (recheck[side].length > 0) await store.addRetry(model.name, side, recheck[side]);
    if (forget[side].length > 0) await connectors[side].forgetCreated(sideOf(model, side).spec, forget[side]);
  }
  ctx.log.info({ sync: model.name, recovered: links.length, dropped: pending.length - links.length }, 'resolved pending creates');
  return links.length;
}
