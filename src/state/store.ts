/**
 * The state store: links with their base, capture cursors, write intents,
 * detached records, quarantine and history. One interface, so PostgreSQL can
 * serve as the store for several workers; the engine speaks only this.
 */
import type { Base, HashedBase } from '../core/merge.js';
import type { Side } from '../core/types.js';

export interface Link {
  id?: number;
  sync: string;
  /** The SOR key (SOR mode) or the external-ID value (External ID mode). */
  identity: string;
  leftKey: string | null;
  rightKey: string | null;
  base: Base;
  /** Last change time seen on each side (ISO UTC), for newest-wins. */
  leftAt: string | null;
  rightAt: string | null;
  /** Full scans: the pass in which each side's record was last seen (set by the store). */
  leftSeen?: number;
  rightSeen?: number;
}

/**
 * What a batch is about to write, saved before the writes. Each side's write
 * leaves a receipt (under `token`) in the same transaction as the rows, so after
 * a crash the engine knows exactly which writes landed and can save the links and
 * bases they imply — instead of mistaking its own writes for user changes.
 */
export interface Intent {
  sync: string;
  token: string;
  createdAt: string;
  creates: IntentCreate[];
  links: IntentLink[];
}

export interface IntentCreate {
  /** The insert's ref in the target side's write. */
  ref: number;
  target: Side;
  source: Side;
  sourceKey: string;
  /** Null when the new key becomes the identity (a create in the SOR). */
  identity: string | null;
  /** As read back, always a Base; as planned by the engine, hashed (made text where it is stored). */
  base: Base | HashedBase;
  leftAt: string | null;
  rightAt: string | null;
  /** A link this create replaces (a record recreated after a delete lost to an update). */
  replacesLinkId?: number;
}

export interface IntentLink {
  /** The link as it will be once every write below has landed. */
  planned: Link & { id: number };
  writes: { side: Side; ref: number; fields: string[]; setsIdentity: boolean }[];
}

/** A record left alone on purpose: never recreated on the other side while its identity stays. */
export interface Detached {
  sync: string;
  side: Side;
  key: string;
  identity: string;
}

export const QUARANTINE_REASONS = [
  'orphan_external_id',
  'duplicate_external_id',
  'external_id_collision',
  'write_failed',
  'conflict',
  'invalid_value',
] as const;
export type QuarantineReason = (typeof QUARANTINE_REASONS)[number];

export interface QuarantineEntry {
  id?: number;
  sync: string;
  /** The side whose record is held; for `write_failed`, the side the write failed on. */
  side: Side;
  /** That record's native key where it has one (a failed insert has none). */
  key: string | null;
  identity: string | null;
  /** The record whose next look settles this entry (for a failed insert: the source record). */
  recordSide: Side;
  recordKey: string;
  reason: QuarantineReason;
  message: string;
  /** Reason-specific detail: both values of a conflict, the other side's key… */
  detail?: Record<string, unknown>;
  firstSeen?: string;
  lastSeen?: string;
}

export interface HistoryEntry {
  sync: string;
  identity: string;
  at: string;
  /** Where the change was seen. */
  side: Side | 'engine';
  action: string;
  detail?: Record<string, unknown>;
}

export type SyncHealth = 'ok' | 'paused' | 'error';

export interface SyncStatus {
  sync: string;
  state: SyncHealth;
  reason: string | null;
  lastPassAt: string | null;
  /** Counts of the last pass. */
  lastPass: Record<string, number> | null;
  /** The delete guard's last trip, while paused by it. */
  guard: { side: Side; deletes: number; linked: number } | null;
  /** Set by `retry --deletes`: the next pass may delete past the guard once. */
  deletesConfirmed: boolean;
  /** A full comparison is owed (a guard stopped one half-way). */
  fullScanDue: boolean;
  lagMs: number | null;
}

/** Everything one batch changes, saved in one transaction after its writes landed. */
export interface BatchCommit {
  sync: string;
  upsertLinks: Link[];
  /**
   * Creates of this batch's intent that landed, as [ref, new key]: their links
   * (identity, keys, base, change times) are made from the intent, saved before
   * the writes, instead of being sent again.
   */
  linkCreates?: { token: string; landed: [number, string][] };
  deleteLinks: number[];
  addDetached: Detached[];
  removeDetached: { side: Side; key: string }[];
  addQuarantine: QuarantineEntry[];
  /** Records (recordSide/recordKey) whose quarantine is lifted because they are now fine. */
  clearQuarantine: { side: Side; key: string }[];
  /** Intents this commit settles. */
  removeIntents: string[];
  /** Records `retry` asked about that this batch has now looked at. */
  dropRetry: { side: Side; key: string }[];
  history: HistoryEntry[];
  /** Capture positions reached; saved in the same transaction as the links. */
  cursors?: Partial<Record<Side, string>>;
}

/** A commit that changes nothing yet: fill in what a batch changes. */
export function emptyCommit(sync: string): BatchCommit {
  return {
    sync,
    upsertLinks: [],
    deleteLinks: [],
    addDetached: [],
    removeDetached: [],
    addQuarantine: [],
    clearQuarantine: [],
    removeIntents: [],
    dropRetry: [],
    history: [],
  };
}

export interface StateStore {
  readonly description: string;
  close(): Promise<void>;

  linksByKeys(sync: string, side: Side, keys: string[]): Promise<Link[]>;
  linksByIdentities(sync: string, identities: string[]): Promise<Link[]>;
  /** Just id and last-seen pass of the links of these keys (cheap: no base decoded). */
  linkMarks(sync: string, side: Side, keys: string[]): Promise<Map<string, { id: number; seen: number }>>;
  /** Keyset page of a sync's links by id. */
  scanLinks(sync: string, afterId: number, limit: number): Promise<Link[]>;
  countLinks(sync: string): Promise<number>;
  /**
   * This state's own id, made when the state was: the tables it captures are
   * claimed under it (Connector.claimCapture), so a second state syncing the
   * same table is refused rather than left to lose changes.
   */
  instanceId(): Promise<string>;
  maxLinkId(sync: string): Promise<number>;
  /** True when the sync has no links, detachments, holds or intents (before its first sync). */
  isFresh(sync: string): Promise<boolean>;
  /** A new number for a full pass, larger than every one before it for this sync. */
  nextPassId(sync: string): Promise<number>;
  /** Full scans: records these keys as seen in pass `pass` (only links with id <= maxId). */
  markSeen(sync: string, side: Side, keys: string[], pass: number, maxId: number): Promise<void>;
  /** Links with id <= maxId not seen on both sides in pass `pass`, keyset by id. */
  unseenLinks(sync: string, pass: number, maxId: number, afterId: number, limit: number): Promise<Link[]>;
  countUnseen(sync: string, pass: number, maxId: number): Promise<Record<Side, number>>;

  detachedByKeys(sync: string, side: Side, keys: string[]): Promise<Detached[]>;

  addIntent(intent: Intent): Promise<void>;
  intents(sync: string): Promise<Intent[]>;
  linksByIds(sync: string, ids: number[]): Promise<Link[]>;

  quarantined(sync?: string): Promise<QuarantineEntry[]>;
  quarantinedByKeys(sync: string, side: Side, keys: string[]): Promise<QuarantineEntry[]>;
  countQuarantined(sync: string): Promise<number>;
  /** Removes entries (all when ids is undefined) and returns them, so the engine can mark them dirty. */
  releaseQuarantine(sync: string | undefined, ids?: number[]): Promise<QuarantineEntry[]>;

  history(sync: string, identity: string): Promise<HistoryEntry[]>;

  cursor(sync: string, side: Side): Promise<string | null>;

  /** Keys marked for another look at the next pass (`retry`), per side. */
  addRetry(sync: string, side: Side, keys: string[]): Promise<void>;
  takeRetry(sync: string, side: Side, limit: number): Promise<string[]>;
  dropRetry(sync: string, side: Side, keys: string[]): Promise<void>;

  status(sync: string): Promise<SyncStatus>;
  setStatus(sync: string, patch: Partial<Omit<SyncStatus, 'sync'>>): Promise<void>;

  commit(batch: BatchCommit): Promise<void>;
  /** Forgets a sync entirely (teardown). */
  forget(sync: string): Promise<void>;
}
