/**
 * The key scan of polling: every key of the table, with its row's version,
 * walked in key order page by page beside the keys tandem kept (poll-setup.ts)
 * and compared. A key tandem kept that the table no longer has was deleted; a
 * key it never saw was inserted (a row whose `updated_at` was older than the
 * cursor, or null); a version that differs was updated (a transaction that
 * committed later than the overlap window, or, in a scan feed, any change).
 * What differs is logged and the kept keys are brought up to date, in the
 * poll's transaction.
 *
 * The comparison runs in the server and only the differences come back. It
 * is read with plain (consistent, non-locking) SELECTs, not INSERT … SELECT:
 * that would take shared locks on the user's rows for the whole poll under
 * REPEATABLE READ, holding up the application's writes.
 *
 * Cost: one read of every key (and `updated_at`, or the columns
 * fingerprinted) of the table per scan, PAGE keys per statement, both sides
 * on their primary keys; memory does not grow with the table.
 */
import { toParam } from './convert.js';
import { type FeedWriter, keyOf, keyParam } from './poll-log.js';
import type { PollParam, PollSession } from './poll-session.js';
import { type Feed, qi } from './poll-setup.js';

/** Keys compared per statement. */
export const PAGE = 10_000;

/** Compares every key; `now` (DATETIME(6) text, UTC) is the time its finds are logged at. */
export async function scanKeys(s: PollSession, f: Feed, w: FeedWriter, now: string): Promise<void> {
  let after: unknown = null;
  for (;;) {
    const r = await scanPage(s, f, w, now, after);
    if (r.seen < PAGE) return;
    after = r.last;
  }
}

/**
 * One page: the table's next PAGE keys after `after`, and the kept keys in the
 * same range (to the end on the last page, so kept keys past the table's last
 * key are found gone too).
 */
async function scanPage(
  s: PollSession,
  f: Feed,
  w: FeedWriter,
  now: string,
  after: unknown,
): Promise<{ seen: number; last: unknown }> {
  const k = qi(f.key);
  const from = after === null ? `t.${k} IS NOT NULL` : `t.${k} > ?`;
  const afterParams: PollParam[] = after === null ? [] : [keyParam(f, after)];
  const page = `SELECT t.${k} AS k, ${f.version} AS v FROM ${f.tableSql} t WHERE ${from} ORDER BY t.${k} LIMIT ${PAGE}`;
  const [bound] = await s.rows(`SELECT COUNT(*), MAX(p.k) FROM (${page}) p`, afterParams);
  const seen = Number(bound![0]);
  const last = bound![1] ?? null;
  const changed = await s.rows(
    `SELECT p.k, p.v, kp.k IS NULL FROM (${page}) p LEFT JOIN ${f.keysSql} kp ON kp.k = p.k
      WHERE kp.k IS NULL OR NOT (kp.v <=> p.v) ORDER BY p.k`,
    afterParams,
  );
  const range: string[] = [];
  const rangeParams: PollParam[] = [];
  if (after !== null) {
    range.push('kp.k > ?');
    rangeParams.push(keyParam(f, after));
  }
  if (seen >= PAGE) {
    range.push('kp.k <= ?');
    rangeParams.push(keyParam(f, last));
  }
  const gone = await s.rows(
    `SELECT kp.k FROM ${f.keysSql} kp
      WHERE ${range.length > 0 ? `${range.join(' AND ')} AND ` : ''}NOT EXISTS (SELECT 1 FROM ${f.tableSql} t WHERE t.${k} = kp.k)
      ORDER BY kp.k`,
    rangeParams,
  );
  if (changed.length > 0 || gone.length > 0) {
    const entries = [
      ...changed.map(([key, , fresh]) => ({
        raw: key,
        op: Number(fresh) === 1 ? ('insert' as const) : ('update' as const),
      })),
      ...gone.map(([key]) => ({ raw: key, op: 'delete' as const })),
    ];
    await w.log(entries.map((e) => ({ key: keyOf(f, e.raw), op: e.op, at: now })));
    await w.keep(changed.map(([key, version]) => [key, version]));
    await w.forget(gone.map(([key]) => key));
  }
  return { seen, last };
}

/**
 * tandem's own writes to a polled table, told to the kept keys: a row it
 * inserted is kept (its version unknown, so the next poll reports it once, a
 * no-op for the engine), a row it deleted is forgotten. Without this, a row
 * tandem inserted and the user deleted before any poll saw it would never be
 * found gone. Runs after the write commits, under the feed's lock (as a poll
 * does): a crash in between leaves that row to the next key scan, as before.
 */
export async function keepOwnWrites(
  s: PollSession,
  f: Feed,
  inserted: string[],
  deleted: string[],
): Promise<void> {
  if (inserted.length === 0 && deleted.length === 0) return;
  try {
    await s.transaction(async () => {
      const row = await s.rows(`SELECT logged FROM ${f.feedsSql} WHERE feed = ? FOR UPDATE`, [f.id]);
      if (row.length === 0) return;
      // Canonical keys, as the engine has them.
      const param = (key: string) => toParam(key, f.keyKind) as PollParam;
      for (let i = 0; i < inserted.length; i += 1_000) {
        const chunk = inserted.slice(i, i + 1_000);
        await s.run(
          `INSERT IGNORE INTO ${f.keysSql} (k, v) VALUES ${chunk.map(() => '(?, NULL)').join(', ')}`,
          chunk.map(param),
        );
      }
      for (let i = 0; i < deleted.length; i += 1_000) {
        const chunk = deleted.slice(i, i + 1_000);
        await s.run(
          `DELETE FROM ${f.keysSql} WHERE k IN (${chunk.map(() => '?').join(', ')})`,
          chunk.map(param),
        );
      }
    });
  } catch (err) {
    // Not watched yet (capture not installed): the first poll's scan keeps every key there is.
    if ((err as { errno?: number }).errno !== 1146) throw err;
  }
}
