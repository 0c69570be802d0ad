/**
 * A sync as the engine runs it: the config joined with what introspection
 * found (column kinds, keys). Built once per pass by `buildSyncModel`.
 */
import type {
  ConflictPolicy,
  DeleteAction,
  DeleteGuard,
  Direction,
  SyncConfig,
  SyncMode,
} from '../config/model.js';
import type { TableSpec } from '../connectors/connector.js';
import type { Canonical, ColumnKind, Side } from './types.js';

export interface FieldModel {
  /** Stable name used in the base: `left` when both names are equal, else `left:right`. */
  id: string;
  left: string;
  right: string;
  leftKind: ColumnKind;
  rightKind: ColumnKind;
  direction: Direction;
  /** Left canonical text → right value, and its inverse. */
  toRightValues?: Map<string, Canonical>;
  toLeftValues?: Map<string, Canonical>;
  defaultLeft?: Canonical;
  defaultRight?: Canonical;
  nullSkip: boolean;
}

export interface SideModel {
  side: Side;
  connection: string;
  table: string;
  key: string;
  keyKind: ColumnKind;
  externalId?: string;
  externalIdKind?: ColumnKind;
  /** A unique, case-sensitive index guards the external-ID column: no two records can share a value. */
  externalIdUnique?: boolean;
  updatedAt?: string;
  filter?: string;
  spec: TableSpec;
}

export interface SyncModel {
  name: string;
  mode: SyncMode;
  /** The system of record (SOR mode only). */
  sor?: Side;
  left: SideModel;
  right: SideModel;
  fields: FieldModel[];
  conflicts: ConflictPolicy;
  deletes: { leftToRight: DeleteAction; rightToLeft: DeleteAction };
  deleteGuard: DeleteGuard | null;
}

export function sideOf(model: SyncModel, side: Side): SideModel {
  return side === 'left' ? model.left : model.right;
}

/** What a delete made on `from` does to the other side. */
export function deleteAction(model: SyncModel, from: Side): DeleteAction {
  return from === 'left' ? model.deletes.leftToRight : model.deletes.rightToLeft;
}

export function fieldId(left: string, right: string): string {
  return left === right ? left : `${left}:${right}`;
}

export function buildFields(
  config: SyncConfig,
  pairs: { left: string; right: string; leftKind: ColumnKind; rightKind: ColumnKind }[],
): FieldModel[] {
  const explicit = config.fields === 'auto' ? undefined : config.fields;
  return pairs.map((p, i) => {
    const f = explicit?.[i];
    const model: FieldModel = {
      id: fieldId(p.left, p.right),
      left: p.left,
      right: p.right,
      leftKind: p.leftKind,
      rightKind: p.rightKind,
      direction: f?.direction ?? 'both',
      nullSkip: f?.null === 'skip',
    };
    if (f?.values) {
      model.toRightValues = new Map(Object.entries(f.values));
      model.toLeftValues = new Map(Object.entries(f.values).map(([l, r]) => [mapKey(r), l]));
    }
    if (f?.default && 'left' in f.default) model.defaultLeft = f.default.left ?? null;
    if (f?.default && 'right' in f.default) model.defaultRight = f.default.right ?? null;
    return model;
  });
}

/** The text a value is looked up by in a `values` map. */
export function valueText(v: Canonical): string {
  return v === null ? '' : typeof v === 'boolean' ? String(v) : v;
}

/** A `values` map key: like valueText, but null has its own key so it never meets ''. */
export const NULL_MAP_KEY = '\u0000null';
export function mapKey(v: Canonical): string {
  return v === null ? NULL_MAP_KEY : valueText(v);
}
