/**
 * Schema drift: before each pass, the columns a sync reads are checked against
 * what the database says now. A column that disappeared or changed kind pauses
 * the sync (exit 3, reason in `status`) before anything is written to it.
 */
import { TandemError } from '../core/errors.js';
import { sideOf } from '../core/model.js';
import type { SyncContext } from './context.js';

export async function checkSchema(ctx: SyncContext): Promise<void> {
  for (const side of ['left', 'right'] as const) {
    const s = sideOf(ctx.model, side);
    const info = await ctx.connectors[side].introspect(s.table);
    if (!info) {
      throw new TandemError(
        'SCHEMA_DRIFT',
        `table ${s.table} on ${side} no longer exists; sync ${ctx.model.name} is paused`,
        'restore the table (tandem resumes on its own), or change the config',
        `syncs.${ctx.model.name}.${side}.table`,
      );
    }
    for (const col of s.spec.columns) {
      const now = info.columns.find((c) => c.name === col);
      const was = s.spec.kinds[col];
      if (!now) {
        throw new TandemError(
          'SCHEMA_DRIFT',
          `column ${s.table}.${col} on ${side} no longer exists; sync ${ctx.model.name} is paused and nothing was written`,
          `restore the column, or remove it from syncs.${ctx.model.name}.fields and run again`,
          `syncs.${ctx.model.name}.${side}`,
        );
      }
      if (now.kind !== was) {
        throw new TandemError(
          'SCHEMA_DRIFT',
          `column ${s.table}.${col} on ${side} changed from ${was} to ${now.kind} (${now.nativeType}); sync ${ctx.model.name} is paused`,
          'check the values are still what the other side expects, then run `tandem validate` and start again',
          `syncs.${ctx.model.name}.${side}`,
        );
      }
    }
  }
}
