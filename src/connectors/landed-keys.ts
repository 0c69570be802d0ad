/**
 * The keys a batch inserted and deleted, among the ops that landed. A polled
 * table keeps them among the keys its delete scan compares with (each
 * connector's poll-keys.ts), so a row tandem inserted and a user deleted
 * before any poll saw it is still found gone.
 */
import type { WriteOp, WriteResult } from './connector.js';

export function landedKeys(
  ops: WriteOp[],
  results: WriteResult[],
): { inserted: string[]; deleted: string[] } {
  const landed = new Map<number, string>();
  for (const r of results) if (r.ok) landed.set(r.ref, r.key);
  const inserted: string[] = [];
  const deleted: string[] = [];
  for (const o of ops) {
    if (!landed.has(o.ref)) continue;
    if (o.op === 'insert') inserted.push(landed.get(o.ref)!);
    else if (o.op === 'delete') deleted.push(o.key);
  }
  return { inserted, deleted };
}
