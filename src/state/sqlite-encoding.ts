/**
 * The stored forms the SQLite state store writes for every batch: a batch of a
 * thousand creates is a thousand links and a thousand intent entries, and
 * these encodings (flat arrays, compact bases; intents in intent-body.ts)
 * are what keeps saving them cheap. They are also what WorkerStateStore sends to its thread (strings and
 * flat arrays cross far faster than nested objects), and what the PostgreSQL
 * state store keeps too (postgres-store.ts).
 */

import { TandemError } from '../core/errors.js';
import { packRefKeys, type RefKeyRuns, unpackRefKeys } from '../core/ref-key-runs.js';
import { encodeBase } from './base-text.js';
import { createdLinkRows, type NewLinkRow } from './intent-body.js';
import type { BatchCommit, Link } from './store.js';

/** Links as one flat array, LINK_STRIDE values per link: id, identity, keys, encoded base, change times. */
export type LinkRows = (string | number | null)[];
export const LINK_STRIDE = 7;

export function linksToRows(links: Link[]): LinkRows {
  const rows: LinkRows = new Array(links.length * LINK_STRIDE);
  let i = 0;
  for (const l of links) {
    rows[i++] = l.id ?? null;
    rows[i++] = l.identity;
    rows[i++] = l.leftKey;
    rows[i++] = l.rightKey;
    rows[i++] = encodeBase(l.base);
    rows[i++] = l.leftAt;
    rows[i++] = l.rightAt;
  }
  return rows;
}

/**
 * A commit's landed creates ([ref, new key] pairs) as JSON text, for the trip
 * to the store's thread: a string crosses about ten times faster than five
 * hundred small arrays, and as ref-key runs a batch of creates the target
 * numbered itself is a few numbers.
 */
export function landedToText(landed: [number, string][]): string {
  return JSON.stringify(
    packRefKeys(
      landed.length,
      (i) => landed[i]![0],
      (i) => landed[i]![1],
    ),
  );
}

export function landedFromText(text: string): [number, string][] {
  const landed: [number, string][] = [];
  unpackRefKeys(JSON.parse(text) as RefKeyRuns, (ref, key) => landed.push([ref, key]));
  return landed;
}

/**
 * The links a commit's landed creates make, from their intent's stored body
 * (undefined: the store does not have that intent). A body or ref that is
 * missing is a bug, reported as such.
 */
export function landedLinkRows(
  sync: string,
  { token, landed }: NonNullable<BatchCommit['linkCreates']>,
  body: string | undefined,
): NewLinkRow[] {
  if (body === undefined) {
    throw new TandemError(
      'INTERNAL',
      `the intent ${token} of sync ${sync} is missing from the state store`,
      'Report this as a bug; run `tandem reconcile` to re-check every record.',
    );
  }
  return createdLinkRows(body, landed).map((row, i) => {
    if (!row) {
      throw new TandemError(
        'INTERNAL',
        `intent ${token} has no create ${landed[i]![0]}`,
        'Report this as a bug.',
      );
    }
    return row;
  });
}
