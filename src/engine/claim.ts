/**
 * Claiming a sync's two tables for this tandem state before their capture is
 * installed or read: capture data is let go of once saved, so a second state
 * capturing the same table would lose what the first let go of
 * (Connector.claimCapture refuses it with CAPTURE_CLAIMED).
 */
import { sideOf } from '../core/model.js';
import type { SyncContext } from './context.js';

export async function claimTables(ctx: SyncContext): Promise<void> {
  const claim = {
    owner: await ctx.store.instanceId(),
    state: ctx.store.description,
    sync: ctx.model.name,
  };
  for (const side of ['left', 'right'] as const) {
    await ctx.connectors[side].claimCapture(sideOf(ctx.model, side).spec, claim);
  }
}
