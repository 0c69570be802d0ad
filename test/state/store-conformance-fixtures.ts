/**
 * What the state store conformance suite's tests build their commits from:
 * links, commits and quarantine entries with everything but what a test is
 * about filled in.
 */
import type { Base } from '../../src/core/merge.js';
import {
  type BatchCommit,
  emptyCommit,
  type IntentCreate,
  type Link,
  type QuarantineEntry,
} from '../../src/state/store.js';

export const same = (fp: string): [string, string] => [fp, fp];
export const BASE: Base = { email: same('sa1:b2'), name: ['sn1', 'sn2'], age: same('n2a') };

export function newLink(
  identity: string,
  leftKey: string | null,
  rightKey: string | null,
  base: Base = BASE,
): Link {
  return { sync: 's', identity, leftKey, rightKey, base, leftAt: null, rightAt: null };
}

export function commit(patch: Partial<BatchCommit>, sync = 's'): BatchCommit {
  return { ...emptyCommit(sync), ...patch };
}

export function quarantine(recordKey: string, patch: Partial<QuarantineEntry> = {}): QuarantineEntry {
  return {
    sync: 's',
    side: 'right',
    key: null,
    identity: recordKey,
    recordSide: 'left',
    recordKey,
    reason: 'write_failed',
    message: 'value too long',
    ...patch,
  };
}

export const ids = (links: Link[]) => links.map((l) => l.id);
export const sorted = <T>(xs: T[]) => [...xs].sort();

/** The create of record 7 from left to right, as an intent lists it (ref 1). */
export function createOf7(): IntentCreate {
  return {
    ref: 1,
    target: 'right',
    source: 'left',
    sourceKey: '7',
    identity: '7',
    base: BASE,
    leftAt: '2026-01-01T00:00:00Z',
    rightAt: null,
  };
}
