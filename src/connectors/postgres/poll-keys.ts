/**
 * The key scan of polling: every key of the table, with its row's version,
 * walked in key order page by page beside the keys tandem kept (poll-setup.ts)
 * and compared. A key tandem kept that the table no longer has was deleted; a
 * key it never saw was inserted (a row whose `updated_at` was older than the
 * cursor, or null); a version that differs was updated (a transaction that
 * committed later than the overlap window, or, in a scan feed, any change).
 * What differs is logged and the kept keys are brought up to date, in the
 * caller's transaction.
 *
 * Cost: one read of every key (and `updated_at`, or the columns compared) of
 * the table per scan, PAGE keys per statement, both sides on their primary
 * key indexes; memory does not grow with the table (the comparison runs in
 * the server).
 */
import type { Feed } from './poll-setup.js';
import { LOG } from './poll-setup.js';
import type { PgSession } from './session.js';
import { qi } from './sql.js';

/** Keys compared per statement. */
export const PAGE = 10_000;

/** Compares every key; returns how many changes it logged. */
export async function scanKeys(s: PgSession, f: Feed): Promise<number> {
  let after: string | null = null;
  let logged = 0;
  for (;;) {
    const r = await scanPage(s, f, after);
    logged += r.logged;
    if (r.seen < PAGE || r.last === null) return logged;
    after = r.last;
  }
}

/**
 * One page: the table's next PAGE keys after `after`, and the kept keys in the
 * same range (to the table's end on the last page, so kept keys past the
 * table's last key are found gone too).
 */
async function scanPage(
  s: PgSession,
  f: Feed,
  after: string | null,
): Promise<{ seen: number; last: string | null; logged: number }> {
  const k = qi(f.key);
  // `$4` takes the type of the key column it is compared with.
  const fromTable = after === null ? `t.${k} IS NOT NULL` : `t.${k} > $4`;
  const fromKept = after === null ? 'true' : 'f.key > $4';
  const params = [f.id, String(PAGE), String(PAGE), ...(after === null ? [] : [after])];
  const rows = await s.rows(
    `WITH src AS (
       SELECT t.${k} AS key, ${f.version} AS version FROM ${f.tableSql} t
        WHERE ${fromTable} ORDER BY t.${k} LIMIT $2::bigint
     ),
     bound AS (SELECT max(key) AS hi, count(*) AS n FROM src),
     kept AS (
       SELECT f.key, f.version FROM ${f.keys} f
        WHERE ${fromKept} AND ((SELECT n FROM bound) < $3::bigint OR f.key <= (SELECT hi FROM bound))
     ),
     diff AS (
       SELECT coalesce(s.key, k.key) AS key, s.version, s.key IS NULL AS gone, k.key IS NULL AS fresh
         FROM src s FULL JOIN kept k ON s.key = k.key
        WHERE s.key IS NULL OR k.key IS NULL OR s.version IS DISTINCT FROM k.version
     ),
     up AS (
       INSERT INTO ${f.keys} (key, version) SELECT key, version FROM diff WHERE NOT gone
       ON CONFLICT (key) DO UPDATE SET version = excluded.version RETURNING 1
     ),
     del AS (DELETE FROM ${f.keys} f USING diff WHERE diff.gone AND f.key = diff.key RETURNING 1),
     logged AS (
       INSERT INTO ${LOG} (feed, key, op, at)
       SELECT $1, key::text, CASE WHEN gone THEN 'delete' WHEN fresh THEN 'insert' ELSE 'update' END, now()
         FROM diff ORDER BY key RETURNING 1
     )
     SELECT (SELECT n FROM bound)::text, (SELECT hi FROM bound)::text, (SELECT count(*) FROM logged)::text,
            (SELECT count(*) FROM up)::text, (SELECT count(*) FROM del)::text`,
    params,
  );
  const [seen, last, logged] = rows[0]!;
  return { seen: Number(seen), last: last ?? null, logged: Number(logged) };
}

/**
 * tandem's own writes to a polled table, told to the kept keys: a row it
 * inserted is kept (its version unknown, so the next poll reports it once, a
 * no-op for the engine), a row it deleted is forgotten. Without this, a row
 * tandem inserted and the user deleted before any poll saw it would never be
 * found gone. Runs after the write commits: a crash in between leaves that
 * row to the next key scan's comparison, as before.
 */
export async function keepOwnWrites(
  s: PgSession,
  f: Feed,
  inserted: string[],
  deleted: string[],
): Promise<void> {
  if (inserted.length === 0 && deleted.length === 0) return;
  try {
    await keep(s, f, inserted, deleted);
  } catch (err) {
    // Not watched yet (capture not installed): the first poll's scan keeps every key there is.
    if ((err as { code?: string }).code !== '42P01') throw err;
  }
}

async function keep(s: PgSession, f: Feed, inserted: string[], deleted: string[]): Promise<void> {
  const type = await s.fact(`poll-key-type:${f.keys}`, async () => {
    const r = await s.rows(
      `SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
        WHERE a.attrelid = $1::regclass AND a.attname = 'key' AND NOT a.attisdropped`,
      [f.keys],
    );
    return r[0]![0]!;
  });
  if (inserted.length > 0) {
    await s.run(
      `INSERT INTO ${f.keys} (key, version) SELECT u.k::${type}, NULL FROM unnest($1::text[]) AS u(k)
       ON CONFLICT (key) DO NOTHING`,
      [inserted],
    );
  }
  if (deleted.length > 0) {
    await s.run(`DELETE FROM ${f.keys} WHERE key = ANY ($1::${type}[])`, [deleted]);
  }
}
