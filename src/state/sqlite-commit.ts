/**
 * Writing one batch's commit into the SQLite state store: links (deleted ones
 * first, then the batch's creates, then moved bases), detachments, quarantine,
 * intents settled, retries dropped, history and capture cursors. Called inside
 * the store's transaction, so all of it lands or none.
 */
import type Database from 'better-sqlite3';
import type { NewLinkRow } from './intent-body.js';
import { LINK_STRIDE, type LinkRows } from './sqlite-encoding.js';
import { storedKey, storedKeyOrNull } from './sqlite-keys.js';
import type { BatchCommit } from './store.js';

export function writeCommit(
  st: (sql: string) => Database.Statement,
  b: Omit<BatchCommit, 'upsertLinks'>,
  links: LinkRows,
  created: readonly NewLinkRow[],
): void {
  const now = new Date().toISOString();
  const insertLink = st(
    `INSERT INTO links (sync, identity, left_key, right_key, base, left_at, right_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const upsertLink = st(
    `INSERT INTO links (id, sync, identity, left_key, right_key, base, left_at, right_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET identity = excluded.identity, left_key = excluded.left_key,
       right_key = excluded.right_key, base = excluded.base, left_at = excluded.left_at, right_at = excluded.right_at`,
  );
  // Most saves only move the base: touching no indexed column keeps the three link indexes as they are.
  const updateBase = st(
    `UPDATE links SET base = ?, left_at = ?, right_at = ?
     WHERE id = ? AND identity = ? AND left_key IS ? AND right_key IS ?`,
  );
  const delLink = st('DELETE FROM links WHERE id = ?');
  const addDetached = st('INSERT OR REPLACE INTO detached (sync, side, key, identity) VALUES (?, ?, ?, ?)');
  const delDetached = st('DELETE FROM detached WHERE sync = ? AND side = ? AND key = ?');
  const addQ = st(
    `INSERT INTO quarantine (sync, side, key, identity, record_side, record_key, reason, message, detail, first_seen, last_seen)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (sync, record_side, record_key) DO UPDATE SET side = excluded.side, key = excluded.key,
       identity = excluded.identity, reason = excluded.reason,
       message = excluded.message, detail = excluded.detail, last_seen = excluded.last_seen`,
  );
  const clearQ = st('DELETE FROM quarantine WHERE sync = ? AND record_side = ? AND record_key = ?');
  const delIntent = st('DELETE FROM intents WHERE token = ?');
  const delRetry = st('DELETE FROM retry WHERE sync = ? AND side = ? AND key = ?');
  const addHistory = st(
    'INSERT INTO history (sync, identity, at, side, action, detail) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const setCursor = st(
    'INSERT INTO cursors (sync, side, position) VALUES (?, ?, ?) ON CONFLICT (sync, side) DO UPDATE SET position = excluded.position',
  );
  // Deletes first: a link re-made under the same identity in this batch must not collide.
  for (const id of b.deleteLinks) delLink.run(id);
  insertCreated(st, b.sync, created, insertLink);
  for (let i = 0; i < links.length; i += LINK_STRIDE) {
    // Read in place (see linksToRows for the order): no array per link.
    const id = links[i];
    const identity = storedKey(links[i + 1] as string);
    const leftKey = storedKeyOrNull(links[i + 2] as string | null);
    const rightKey = storedKeyOrNull(links[i + 3] as string | null);
    const base = links[i + 4];
    const leftAt = links[i + 5];
    const rightAt = links[i + 6];
    if (id === null) {
      insertLink.run(b.sync, identity, leftKey, rightKey, base, leftAt, rightAt);
      continue;
    }
    const moved = updateBase.run(base, leftAt, rightAt, id, identity, leftKey, rightKey);
    if (moved.changes === 0) upsertLink.run(id, b.sync, identity, leftKey, rightKey, base, leftAt, rightAt);
  }
  for (const d of b.removeDetached) delDetached.run(b.sync, d.side, d.key);
  for (const d of b.addDetached) addDetached.run(b.sync, d.side, d.key, d.identity);
  for (const q of b.clearQuarantine) clearQ.run(b.sync, q.side, q.key);
  for (const q of b.addQuarantine) {
    addQ.run(
      b.sync,
      q.side,
      q.key,
      q.identity,
      q.recordSide,
      q.recordKey,
      q.reason,
      q.message,
      q.detail ? JSON.stringify(q.detail) : null,
      now,
      now,
    );
  }
  for (const t of b.removeIntents) delIntent.run(t);
  for (const r of b.dropRetry) delRetry.run(b.sync, r.side, r.key);
  for (const h of b.history) {
    addHistory.run(b.sync, h.identity, h.at, h.side, h.action, h.detail ? JSON.stringify(h.detail) : null);
  }
  for (const side of ['left', 'right'] as const) {
    const pos = b.cursors?.[side];
    if (pos !== undefined) setCursor.run(b.sync, side, pos);
  }
}

/**
 * Links per INSERT for a batch's creates: one statement for many rows costs
 * SQLite far less than one per row (a first sync links every row it copies).
 */
const LINK_GROUP = 50;
const LINK_PARAMS = 7;
const INSERT_LINK_GROUP = `INSERT INTO links (sync, identity, left_key, right_key, base, left_at, right_at) VALUES ${Array(
  LINK_GROUP,
)
  .fill('(?, ?, ?, ?, ?, ?, ?)')
  .join(', ')}`;

function insertCreated(
  st: (sql: string) => Database.Statement,
  sync: string,
  created: readonly NewLinkRow[],
  insertLink: Database.Statement,
): void {
  let i = 0;
  if (created.length >= LINK_GROUP) {
    const insertMany = st(INSERT_LINK_GROUP);
    const params: unknown[] = new Array(LINK_GROUP * LINK_PARAMS);
    for (; i + LINK_GROUP <= created.length; i += LINK_GROUP) {
      for (let r = 0; r < LINK_GROUP; r++) {
        const row = created[i + r]!;
        const at = r * LINK_PARAMS;
        params[at] = sync;
        params[at + 1] = storedKey(row[0]);
        params[at + 2] = storedKey(row[1]);
        params[at + 3] = storedKey(row[2]);
        params[at + 4] = row[3];
        params[at + 5] = row[4];
        params[at + 6] = row[5];
      }
      insertMany.run(params);
    }
  }
  for (; i < created.length; i++) {
    const [identity, leftKey, rightKey, base, leftAt, rightAt] = created[i]!;
    insertLink.run(sync, storedKey(identity), storedKey(leftKey), storedKey(rightKey), base, leftAt, rightAt);
  }
}
