/**
 * What the merge tests share: the base two rows make once in step, and no
 * writes at all.
 */
import { fingerprint } from '../../src/core/fingerprint.js';
import type { Base } from '../../src/core/merge.js';
import type { FieldModel } from '../../src/core/model.js';
import type { Row } from '../../src/core/types.js';

/** The base as it would be after the rows were last in step. */
export function baseOf(fs: FieldModel[], left: Row, right: Row): Base {
  const b: Base = {};
  for (const f of fs) b[f.id] = [fingerprint(left[f.left] ?? null), fingerprint(right[f.right] ?? null)];
  return b;
}

export const noWrites = { left: {}, right: {} };
