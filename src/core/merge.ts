/**
 * The field-level three-way merge: one function for both modes. For each
 * mapped field it compares the current left value, the current right value and
 * the base (fingerprints of what each side held when last in step).
 */
import type { ConflictPolicy } from '../config/model.js';
import { type Fingerprint, fingerprint, hashText, valueHash } from './fingerprint.js';
import { inStep, mapValue } from './mapping.js';
import type { FieldModel } from './model.js';
import type { Canonical, Row, Side } from './types.js';

/** Field id → [left fingerprint, right fingerprint] as last in step. */
export type Base = Record<string, [Fingerprint, Fingerprint]>;

/**
 * A base as the valueHash of each fingerprint: field `fields[f]`'s left at
 * `hashes[2f]`, its right at `hashes[2f + 1]`. What a planned create holds:
 * its fingerprints become text only where they are stored (intent-body.ts,
 * on the state store's thread), not in the engine's thread for every record
 * of a first sync. `fields` is one array per model, shared by its creates.
 */
export class HashedBase {
  constructor(
    readonly fields: readonly string[],
    readonly hashes: readonly number[],
  ) {}

  toBase(): Base {
    const base: Base = {};
    this.fields.forEach((f, i) => {
      base[f] = [hashText(this.hashes[2 * i]!), hashText(this.hashes[2 * i + 1]!)];
    });
    return base;
  }
}

export interface MergeInput {
  fields: FieldModel[];
  left: Row;
  right: Row;
  /** null at a first meeting: every field counts as changed on both sides. */
  base: Base | null;
  policy: ConflictPolicy;
  sor?: Side;
  /** When each side last changed (ISO UTC), for newest-wins. */
  leftAt: string | null;
  rightAt: string | null;
}

export interface FieldConflict {
  field: string;
  left: Canonical;
  right: Canonical;
  /** The side whose value was kept, or 'held' under `manual`. */
  winner: Side | 'held';
}

export interface InvalidValue {
  /** The side that could not take the value. */
  side: Side;
  field: string;
  value: Canonical;
  message: string;
}

export interface MergeResult {
  /** Column → value to write on each side. */
  writes: { left: Row; right: Row };
  /** The base once those writes have landed. */
  base: Base;
  conflicts: FieldConflict[];
  invalid: InvalidValue[];
  /** A manual conflict holds the whole record. */
  held: boolean;
}

/** Which side wins a field both sides changed. Newest-wins ties (and missing times) go to left. */
export function conflictWinner(
  policy: ConflictPolicy,
  sor: Side | undefined,
  leftAt: string | null,
  rightAt: string | null,
): Side | 'held' {
  switch (policy) {
    case 'system-of-record':
      return sor ?? 'left';
    case 'left-wins':
      return 'left';
    case 'right-wins':
      return 'right';
    case 'manual':
      return 'held';
    case 'newest-wins':
      if (leftAt && rightAt) return rightAt > leftAt ? 'right' : 'left';
      return rightAt && !leftAt ? 'right' : 'left';
  }
}

export function merge(input: MergeInput): MergeResult {
  const result: MergeResult = {
    writes: { left: {}, right: {} },
    base: {},
    conflicts: [],
    invalid: [],
    held: false,
  };
  for (const field of input.fields) {
    const lv = input.left[field.left] ?? null;
    const rv = input.right[field.right] ?? null;
    const lfp = fingerprint(lv);
    const rfp = rv === lv ? lfp : fingerprint(rv);
    const was = input.base?.[field.id];
    result.base[field.id] = [lfp, rfp];
    if (inStep(field, lv, rv)) continue;

    const leftChanged = !was || was[0] !== lfp;
    const rightChanged = !was || was[1] !== rfp;
    let source: Side | 'held';
    if (field.direction === 'left-to-right') source = 'left';
    else if (field.direction === 'right-to-left') source = 'right';
    else if (leftChanged && !rightChanged) source = 'left';
    else if (rightChanged && !leftChanged) source = 'right';
    else if (!leftChanged && !rightChanged && field.nullSkip && (lv === null || rv === null)) {
      continue; // a null already passed over under `null: skip`: nothing changed since
    } else {
      // Changed on both sides (or drifted on neither, e.g. after a mapping edit): the policy settles it.
      source = conflictWinner(input.policy, input.sor, input.leftAt, input.rightAt);
      // A held field is always listed: `errors` shows its two values, and a retry compares against them.
      if ((leftChanged && rightChanged) || source === 'held') {
        result.conflicts.push({ field: field.id, left: lv, right: rv, winner: source });
      }
    }
    if (source === 'held') {
      result.held = true;
      continue;
    }
    const value = source === 'left' ? lv : rv;
    if (value === null && field.nullSkip) continue; // `null: skip` — a null never overwrites
    const target: Side = source === 'left' ? 'right' : 'left';
    const mapped = mapValue(field, source, value);
    if (mapped === undefined) {
      const kind = target === 'left' ? field.leftKind : field.rightKind;
      result.invalid.push({
        side: target,
        field: field.id,
        value,
        message: `value ${JSON.stringify(value)} of ${source}.${source === 'left' ? field.left : field.right} cannot be stored as ${kind} in ${target}.${target === 'left' ? field.left : field.right}`,
      });
      continue;
    }
    const column = target === 'left' ? field.left : field.right;
    result.writes[target][column] = mapped;
    const entry = result.base[field.id]!;
    entry[target === 'left' ? 0 : 1] = fingerprint(mapped);
  }
  if (result.held) {
    // Nothing of a held record is written; its base stays as it was.
    result.writes = { left: {}, right: {} };
  }
  return result;
}

/** A base in its usual form, whichever form it is held in. */
export function baseOf(base: Base | HashedBase): Base {
  return base instanceof HashedBase ? base.toBase() : base;
}

/** Values for a record created on `target` from `source`'s record, and its base once created. */
export function createValues(
  fields: FieldModel[],
  source: Side,
  row: Row,
): { values: Row; base: HashedBase; invalid: InvalidValue[] } {
  const target: Side = source === 'left' ? 'right' : 'left';
  const values: Row = {};
  const hashes: number[] = new Array(fields.length * 2);
  // Where each field's source and target hashes go: left first.
  const from = source === 'left' ? 0 : 1;
  const invalid: InvalidValue[] = [];
  for (let f = 0; f < fields.length; f++) {
    const field = fields[f]!;
    const fromColumn = source === 'left' ? field.left : field.right;
    const to = target === 'left' ? field.left : field.right;
    const v = row[fromColumn] ?? null;
    const oneWayAgainst =
      (field.direction === 'left-to-right' && source === 'right') ||
      (field.direction === 'right-to-left' && source === 'left');
    const mapped = oneWayAgainst ? null : mapValue(field, source, v);
    if (mapped === undefined) {
      invalid.push({
        side: target,
        field: field.id,
        value: v,
        message: `value ${JSON.stringify(v)} of ${source}.${fromColumn} cannot be stored in ${target}.${to}`,
      });
      continue; // no create is planned from such a row: its base is not used
    }
    if (!oneWayAgainst) values[to] = mapped;
    const fromHash = valueHash(v);
    // Most values cross unchanged: one hash serves both sides.
    hashes[2 * f + from] = fromHash;
    hashes[2 * f + 1 - from] = mapped === v ? fromHash : valueHash(mapped);
  }
  return { values, base: new HashedBase(fieldIds(fields), hashes), invalid };
}

/** The ids of a model's fields, one array per model (HashedBase.fields). */
function fieldIds(fields: FieldModel[]): readonly string[] {
  let ids = FIELD_IDS.get(fields);
  if (!ids) {
    ids = Object.freeze(fields.map((f) => f.id));
    FIELD_IDS.set(fields, ids);
  }
  return ids;
}

const FIELD_IDS = new WeakMap<FieldModel[], readonly string[]>();
