/**
 * Helpers for core tests: field models built the way the engine builds them
 * (through `buildFields`), from a compact description.
 */
import type { FieldConfig, SyncConfig } from '../../src/config/model.js';
import { buildFields, type FieldModel } from '../../src/core/model.js';
import type { ColumnKind } from '../../src/core/types.js';

export interface FieldSpec extends Partial<Omit<FieldConfig, 'left' | 'right'>> {
  left: string;
  right?: string;
  leftKind?: ColumnKind;
  rightKind?: ColumnKind;
}

export function fields(...specs: FieldSpec[]): FieldModel[] {
  const configs: FieldConfig[] = specs.map((s) => ({
    left: s.left,
    right: s.right ?? s.left,
    direction: s.direction ?? 'both',
    null: s.null ?? 'clear',
    ...(s.values ? { values: s.values } : {}),
    ...(s.default ? { default: s.default } : {}),
  }));
  const sync = { fields: configs } as unknown as SyncConfig;
  return buildFields(
    sync,
    specs.map((s) => ({
      left: s.left,
      right: s.right ?? s.left,
      leftKind: s.leftKind ?? 'text',
      rightKind: s.rightKind ?? 'text',
    })),
  );
}

export function field(spec: FieldSpec): FieldModel {
  return fields(spec)[0]!;
}
