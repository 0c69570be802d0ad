/**
 * Claiming a sync's two tables for this tandem state before their capture is
 * installed or read: capture data is let go of once saved, so a second state
 * capturing the same table would lose what the first let go of
 * (Connector.claimCapture refuses it with CAPTURE_CLAIMED).
 */
import type { CaptureClaim } from '../connectors/connector.js';
import { sideOf } from '../core/model.js';
import type { SyncContext } from './context.js';

export async function claimTables(ctx: SyncContext): Promise<void> {
  const claim = await claimOf(ctx);
  for (const side of ['left', 'right'] as const) {
    await ctx.connectors[side].claimCapture(sideOf(ctx.model, side).spec, claim);
  }
}

/** What claimTables would refuse, claiming nothing (`validate`). */
export async function checkTables(ctx: SyncContext): Promise<void> {
  const claim = await claimOf(ctx);
  for (const side of ['left', 'right'] as const) {
    await ctx.connectors[side].checkClaim(sideOf(ctx.model, side).spec, claim);
  }
}

async function claimOf(ctx: SyncContext): Promise<CaptureClaim> {
  return { owner: await ctx.store.instanceId(), state: ctx.store.description, sync: ctx.model.name };
}
