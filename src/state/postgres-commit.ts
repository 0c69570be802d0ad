/**
 * Writing one batch's commit into the PostgreSQL state store, in the order
 * and with the outcome of the SQLite store's writeCommit (sqlite-commit.ts):
 * links deleted first, then the batch's creates and new links, then moved
 * bases (and links whose identity or keys changed), detachments, quarantine,
 * intents settled, retries dropped, history and capture cursors. Each kind is
 * one statement over arrays (unnest / = ANY), not a round trip per row: a
 * first sync commits thousands of links a batch. Called inside the store's
 * transaction, so all of it lands or none.
 *
 * Where one batch names the same row twice, the last one wins, as when
 * SQLite writes them one after the other (a quarantine entry keeps the id of
 * its first mention).
 */
import { encodeBase } from './base-text.js';
import type { NewLinkRow } from './intent-body.js';
import type { Query } from './postgres-session.js';
import type { BatchCommit, Link } from './store.js';

type Col = (string | number | null)[];

/** Rows (arrays of values) turned into one array per column, for unnest. */
function columns(rows: readonly (readonly (string | number | null)[])[], width: number): Col[] {
  const cols: Col[] = Array.from({ length: width }, () => new Array(rows.length));
  rows.forEach((r, i) => {
    for (let c = 0; c < width; c++) cols[c]![i] = r[c] ?? null;
  });
  return cols;
}

/** The last value per key, at the place of the key's first mention. */
function lastPerKey<T>(items: readonly T[], key: (t: T) => string): T[] {
  const at = new Map<string, number>();
  const out: T[] = [];
  for (const t of items) {
    const k = key(t);
    const i = at.get(k);
    if (i === undefined) {
      at.set(k, out.length);
      out.push(t);
    } else out[i] = t;
  }
  return out;
}

const json = (v: unknown) => (v ? JSON.stringify(v) : null);
const pairKey = (side: string, key: string | null) => `${side}\u0000${key}`;

/** Deletes a sync's rows of `table` whose (side, key) columns are one of `pairs`. */
async function deletePairs(
  q: Query,
  table: string,
  sideColumn: string,
  keyColumn: string,
  sync: string,
  pairs: readonly { side: string; key: string }[],
): Promise<void> {
  if (pairs.length === 0) return;
  await q.run(
    `DELETE FROM ${table} AS t USING unnest($2::text[], $3::text[]) AS v(side, key)
     WHERE t.sync = $1 AND t.${sideColumn} = v.side AND t.${keyColumn} = v.key`,
    [sync, pairs.map((p) => p.side), pairs.map((p) => p.key)],
  );
}

export async function writeCommit(
  q: Query,
  s: string,
  b: BatchCommit,
  created: readonly NewLinkRow[],
): Promise<void> {
  const now = new Date().toISOString();
  const sync = b.sync;

  // Deletes first: a link re-made under the same identity in this batch must not collide.
  if (b.deleteLinks.length > 0) {
    await q.run(`DELETE FROM ${s}.links WHERE id = ANY($1::bigint[])`, [b.deleteLinks]);
  }

  const fresh: (readonly (string | null)[])[] = [...created];
  const saved = new Map<number, Link>();
  for (const l of b.upsertLinks) {
    if (l.id === undefined || l.id === null) {
      fresh.push([l.identity, l.leftKey, l.rightKey, encodeBase(l.base), l.leftAt, l.rightAt]);
    } else {
      saved.delete(l.id);
      saved.set(l.id, l);
    }
  }
  if (fresh.length > 0) {
    await q.run(
      `INSERT INTO ${s}.links (sync, identity, left_key, right_key, base, left_at, right_at)
       SELECT $1, v.identity, v.lk, v.rk, v.base, v.la, v.ra
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
         WITH ORDINALITY AS v(identity, lk, rk, base, la, ra, n)
       ORDER BY v.n`,
      [sync, ...columns(fresh, 6)],
    );
  }

  if (saved.size > 0) {
    const rows = [...saved.values()].map((l) => [
      l.id!,
      l.identity,
      l.leftKey,
      l.rightKey,
      encodeBase(l.base),
      l.leftAt,
      l.rightAt,
    ]);
    // Most saves only move the base: touching no indexed column keeps the link indexes as they are.
    const moved = await q.rows<{ id: number }>(
      `UPDATE ${s}.links AS l SET base = v.base, left_at = v.la, right_at = v.ra
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
         AS v(id, identity, lk, rk, base, la, ra)
       WHERE l.id = v.id AND l.identity = v.identity
         AND l.left_key IS NOT DISTINCT FROM v.lk AND l.right_key IS NOT DISTINCT FROM v.rk
       RETURNING l.id`,
      columns(rows, 7),
    );
    const done = new Set(moved.map((r) => r.id));
    const rest = rows.filter((r) => !done.has(r[0] as number));
    if (rest.length > 0) {
      await q.run(
        `INSERT INTO ${s}.links (id, sync, identity, left_key, right_key, base, left_at, right_at)
         SELECT v.id, $1, v.identity, v.lk, v.rk, v.base, v.la, v.ra
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
           AS v(id, identity, lk, rk, base, la, ra)
         ON CONFLICT (id) DO UPDATE SET identity = excluded.identity, left_key = excluded.left_key,
           right_key = excluded.right_key, base = excluded.base, left_at = excluded.left_at,
           right_at = excluded.right_at`,
        [sync, ...columns(rest, 7)],
      );
      // An id given here is never handed out again for a new link.
      await q.run(`SELECT setval('${s}.links_id_seq', greatest($1::bigint, nextval('${s}.links_id_seq')))`, [
        Math.max(...rest.map((r) => r[0] as number)),
      ]);
    }
  }

  await deletePairs(q, `${s}.detached`, 'side', 'key', sync, b.removeDetached);
  if (b.addDetached.length > 0) {
    const rows = lastPerKey(b.addDetached, (d) => pairKey(d.side, d.key)).map((d) => [
      d.side,
      d.key,
      d.identity,
    ]);
    await q.run(
      `INSERT INTO ${s}.detached (sync, side, key, identity)
       SELECT $1, v.side, v.key, v.identity FROM unnest($2::text[], $3::text[], $4::text[]) AS v(side, key, identity)
       ON CONFLICT (sync, side, key) DO UPDATE SET identity = excluded.identity`,
      [sync, ...columns(rows, 3)],
    );
  }

  await deletePairs(q, `${s}.quarantine`, 'record_side', 'record_key', sync, b.clearQuarantine);
  if (b.addQuarantine.length > 0) {
    const rows = lastPerKey(b.addQuarantine, (e) => pairKey(e.recordSide, e.recordKey)).map((e) => [
      e.side,
      e.key,
      e.identity,
      e.recordSide,
      e.recordKey,
      e.reason,
      e.message,
      json(e.detail),
    ]);
    await q.run(
      `INSERT INTO ${s}.quarantine
         (sync, side, key, identity, record_side, record_key, reason, message, detail, first_seen, last_seen)
       SELECT $1, v.side, v.key, v.identity, v.rside, v.rkey, v.reason, v.message, v.detail, $10, $10
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
         WITH ORDINALITY AS v(side, key, identity, rside, rkey, reason, message, detail, n)
       ORDER BY v.n
       ON CONFLICT (sync, record_side, record_key) DO UPDATE SET side = excluded.side, key = excluded.key,
         identity = excluded.identity, reason = excluded.reason, message = excluded.message,
         detail = excluded.detail, last_seen = excluded.last_seen`,
      [sync, ...columns(rows, 8), now],
    );
  }

  if (b.removeIntents.length > 0) {
    await q.run(`DELETE FROM ${s}.intents WHERE token = ANY($1::text[])`, [b.removeIntents]);
  }
  await deletePairs(q, `${s}.retry`, 'side', 'key', sync, b.dropRetry);
  if (b.history.length > 0) {
    const rows = b.history.map((h) => [h.identity, h.at, h.side, h.action, json(h.detail)]);
    await q.run(
      `INSERT INTO ${s}.history (sync, identity, at, side, action, detail)
       SELECT $1, v.identity, v.at, v.side, v.action, v.detail
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
         WITH ORDINALITY AS v(identity, at, side, action, detail, n)
       ORDER BY v.n`,
      [sync, ...columns(rows, 5)],
    );
  }
  const cursors = (['left', 'right'] as const)
    .filter((side) => b.cursors?.[side] !== undefined)
    .map((side) => [side, b.cursors![side]!]);
  if (cursors.length > 0) {
    await q.run(
      `INSERT INTO ${s}.cursors (sync, side, position)
       SELECT $1, v.side, v.position FROM unnest($2::text[], $3::text[]) AS v(side, position)
       ON CONFLICT (sync, side) DO UPDATE SET position = excluded.position`,
      [sync, ...columns(cursors, 2)],
    );
  }
}
