/**
 * Field mapping: what the mapping makes of one side's value on the other side.
 */
import { coerce } from './canonical.js';
import type { FieldModel } from './model.js';
import { mapKey } from './model.js';
import type { Canonical, Side } from './types.js';

/** The value `from`'s value becomes on the other side; `undefined` when that side cannot hold it. */
export function mapValue(field: FieldModel, from: Side, value: Canonical): Canonical | undefined {
  const table = from === 'left' ? field.toRightValues : field.toLeftValues;
  let v: Canonical = value;
  if (table) {
    const hit = table.get(mapKey(v));
    if (hit !== undefined) v = hit;
  }
  if (v === null) {
    const fallback = from === 'left' ? field.defaultRight : field.defaultLeft;
    if (fallback !== undefined) v = fallback;
  }
  return coerce(v, from === 'left' ? field.rightKind : field.leftKind);
}

/** In step: one side holds what the mapping makes of the other side's value. */
export function inStep(field: FieldModel, left: Canonical, right: Canonical): boolean {
  return mapValue(field, 'left', left) === right || mapValue(field, 'right', right) === left;
}
