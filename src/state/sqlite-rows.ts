/**
 * Rows of the SQLite state store as stored, and their conversion to the
 * store's types (JSON columns decoded, snake_case to camelCase). The
 * PostgreSQL store reads its rows in these same shapes (postgres-store.ts).
 */
import type { Side } from '../core/types.js';
import { decodeBase } from './base-text.js';
import { decodeIntentBody } from './intent-body.js';
import { keyText } from './sqlite-keys.js';
import type { HistoryEntry, Intent, Link, QuarantineEntry, SyncStatus } from './store.js';

/** The tables that hold a sync's rows (all of them keyed by `sync`): what `forget` empties. */
export const SYNC_TABLES = [
  'links',
  'detached',
  'intents',
  'cursors',
  'quarantine',
  'retry',
  'history',
  'sync_status',
] as const;

export type LinkRow = {
  id: number;
  sync: string;
  /** Integers where SQLite keeps them so (sqlite-keys.ts); text from PostgreSQL. */
  identity: string | number;
  left_key: string | number | null;
  right_key: string | number | null;
  base: string;
  left_at: string | null;
  right_at: string | null;
  left_seen: number;
  right_seen: number;
};

export const toLink = (r: LinkRow): Link => ({
  id: r.id,
  sync: r.sync,
  identity: keyText(r.identity),
  leftKey: r.left_key === null ? null : keyText(r.left_key),
  rightKey: r.right_key === null ? null : keyText(r.right_key),
  base: decodeBase(r.base),
  leftAt: r.left_at,
  rightAt: r.right_at,
  leftSeen: r.left_seen,
  rightSeen: r.right_seen,
});

export type QRow = {
  id: number;
  sync: string;
  side: Side;
  key: string | null;
  identity: string | null;
  record_side: Side;
  record_key: string;
  reason: QuarantineEntry['reason'];
  message: string;
  detail: string | null;
  first_seen: string;
  last_seen: string;
};
export const toQuarantine = (r: QRow): QuarantineEntry => ({
  id: r.id,
  sync: r.sync,
  side: r.side,
  key: r.key,
  identity: r.identity,
  recordSide: r.record_side,
  recordKey: r.record_key,
  reason: r.reason,
  message: r.message,
  ...(r.detail ? { detail: JSON.parse(r.detail) } : {}),
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
});

export type StatusRow = {
  state: SyncStatus['state'];
  reason: string | null;
  last_pass_at: string | null;
  last_pass: string | null;
  guard: string | null;
  deletes_confirmed: number;
  full_scan_due: number;
  lag_ms: number | null;
};

export function toStatus(sync: string, r: StatusRow | undefined): SyncStatus {
  if (!r) {
    return {
      sync,
      state: 'ok',
      reason: null,
      lastPassAt: null,
      lastPass: null,
      guard: null,
      deletesConfirmed: false,
      fullScanDue: false,
      lagMs: null,
    };
  }
  return {
    sync,
    state: r.state,
    reason: r.reason,
    lastPassAt: r.last_pass_at,
    lastPass: r.last_pass ? JSON.parse(r.last_pass) : null,
    guard: r.guard ? JSON.parse(r.guard) : null,
    deletesConfirmed: r.deletes_confirmed === 1,
    fullScanDue: r.full_scan_due === 1,
    lagMs: r.lag_ms,
  };
}

export type HistoryRow = {
  sync: string;
  identity: string;
  at: string;
  side: HistoryEntry['side'];
  action: string;
  detail: string | null;
};

export const toHistory = (r: HistoryRow): HistoryEntry => ({
  sync: r.sync,
  identity: r.identity,
  at: r.at,
  side: r.side,
  action: r.action,
  ...(r.detail ? { detail: JSON.parse(r.detail) } : {}),
});

export type IntentRow = { token: string; sync: string; created_at: string; body: string };

export const toIntent = (r: IntentRow): Intent => ({
  sync: r.sync,
  token: r.token,
  createdAt: r.created_at,
  ...decodeIntentBody(r.body),
});
