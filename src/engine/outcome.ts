/**
 * What the engine decided for one identity: the writes to make, and what to
 * record once they land. Decisions are made by decide.ts, carried out by apply.ts.
 */

import type { HashedBase } from '../core/merge.js';
import type { Row, Side } from '../core/types.js';
import type { Detached, HistoryEntry, Link, QuarantineEntry } from '../state/store.js';

export type PlannedWrite =
  | { kind: 'insert'; side: Side; values: Row }
  | { kind: 'update'; side: Side; key: string; values: Row }
  | { kind: 'delete'; side: Side; key: string };

/** A create whose new key is needed to finish: the link, and in SOR mode the write-back. */
export interface CreateFinish {
  /** Side the insert went to. */
  target: Side;
  source: Side;
  sourceKey: string;
  /** Null when the identity is the new key (a create in the SOR). */
  identity: string | null;
  base: HashedBase;
  leftAt: string | null;
  rightAt: string | null;
  /** Column on the source side that must receive the new key (SOR write-back). */
  writeBackColumn?: string;
}

export interface Outcome {
  identity: string | null;
  writes: PlannedWrite[];
  /** Saved only when every write landed. */
  saveLink?: Link;
  /** The link as it was before this batch (for a partial landing). */
  link?: Link;
  deleteLinkId?: number;
  create?: CreateFinish;
  detach: Detached[];
  undetach: { side: Side; key: string }[];
  quarantine: QuarantineEntry[];
  /** Records this outcome settles: their old quarantine entries are lifted when it lands. */
  settles: { side: Side; key: string }[];
  history: HistoryEntry[];
}

/** History of a create in the SOR is written under this until the SOR has assigned the key. */
export const NEW_IDENTITY = '\u0000new';

export function emptyOutcome(identity: string | null): Outcome {
  return { identity, writes: [], detach: [], undetach: [], quarantine: [], settles: [], history: [] };
}
