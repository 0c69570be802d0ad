/**
 * Identity per mode: what matches two records across sides.
 * SOR mode: the SOR's key (on N, read from its external-ID column).
 * External ID mode: the external-ID value on both sides, compared as exact text.
 */
import type { SideModel, SyncModel } from './model.js';
import type { Canonical, Side, SourceRecord } from './types.js';

export function identityText(value: Canonical | undefined): string | null {
  if (value === null || value === undefined) return null;
  const text = typeof value === 'boolean' ? String(value) : value;
  return text === '' ? null : text;
}

export function identityOf(model: SyncModel, side: Side, record: SourceRecord): string | null {
  if (model.mode === 'system-of-record' && model.sor === side) return record.key;
  const s: SideModel = side === 'left' ? model.left : model.right;
  return s.externalId ? identityText(record.values[s.externalId]) : null;
}

/** True on the side whose key is the identity (the SOR in SOR mode). */
export function identityIsKey(model: SyncModel, side: Side): boolean {
  return model.mode === 'system-of-record' && model.sor === side;
}
