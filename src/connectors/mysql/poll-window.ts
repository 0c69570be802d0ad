/**
 * The window of a poll on `updated_at`: the rows whose `updated_at` is at or
 * after the cursor less OVERLAP_SECONDS, compared (in the server) with the
 * version kept for each key. Those that differ are logged, in (updated_at,
 * key) order, and kept. The overlap re-reads the last few seconds, so a
 * transaction that committed after the cursor passed its (earlier)
 * `updated_at` is still found; the kept versions stop the rows already
 * reported there from being reported again.
 *
 * Read with plain SELECTs in the poll's transaction (one snapshot under
 * REPEATABLE READ, no locks on the user's rows), paged by (updated_at, key)
 * so a bulk update of a million rows is a million rows in pages, not in
 * memory.
 */
import { type FeedWriter, fullTime, keyOf, keyParam } from './poll-log.js';
import type { PollParam, PollSession } from './poll-session.js';
import { type Feed, nowFor, qi } from './poll-setup.js';

/** How far behind its cursor each poll looks again for late commits. */
export const OVERLAP_SECONDS = 5;
const PAGE = 10_000;

/**
 * Logs what changed in the window; returns the new cursor: the latest
 * `updated_at` seen, never later than now (a row stamped in the future is
 * looked at again each poll until its time comes, and reported only when it
 * changes). `now` (UTC) caps the change times logged.
 */
export async function pollWindow(
  s: PollSession,
  f: Feed,
  w: FeedWriter,
  cursor: string,
  now: string,
): Promise<string> {
  const k = `t.${qi(f.key)}`;
  const u = `t.${qi(f.updatedAt!)}`;
  const from = `${u} >= CAST(? AS DATETIME(6)) - INTERVAL ${OVERLAP_SECONDS} SECOND AND ${k} IS NOT NULL`;
  let after: [unknown, unknown] | null = null;
  for (;;) {
    const params: PollParam[] = [cursor];
    let next = '';
    if (after !== null) {
      next = ` AND (${u} > CAST(? AS DATETIME(6)) OR (${u} = CAST(? AS DATETIME(6)) AND ${k} > ?))`;
      params.push(after[0] as string, after[0] as string, keyParam(f, after[1]));
    }
    const rows = await s.rows(
      `SELECT ${k}, ${f.version}, CAST(${u} AS DATETIME(6)), kp.k IS NULL
         FROM ${f.tableSql} t LEFT JOIN ${f.keysSql} kp ON kp.k = ${k}
        WHERE ${from}${next} AND (kp.k IS NULL OR NOT (kp.v <=> ${f.version}))
        ORDER BY ${u}, ${k} LIMIT ${PAGE}`,
      params,
    );
    if (rows.length > 0) {
      const nowFull = fullTime(now);
      await w.log(
        rows.map(([key, , at, fresh]) => {
          const t = fullTime(String(at));
          return {
            key: keyOf(f, key),
            op: Number(fresh) === 1 ? 'insert' : 'update',
            // biome-ignore lint/complexity/useMathMinMax: texts (DATETIME(6), UTC), compared as strings.
            at: t < nowFull ? t : nowFull,
          };
        }),
      );
      await w.keep(rows.map(([key, version]) => [key, version]));
    }
    if (rows.length < PAGE) break;
    const last = rows.at(-1)!;
    after = [last[2], last[0]];
  }
  const now_ = nowFor(f);
  const [row] = await s.rows(
    `SELECT CAST(LEAST(GREATEST(CAST(? AS DATETIME(6)), COALESCE(MAX(${u}), CAST(? AS DATETIME(6)))), ${now_}) AS DATETIME(6))
       FROM ${f.tableSql} t WHERE ${u} >= CAST(? AS DATETIME(6)) - INTERVAL ${OVERLAP_SECONDS} SECOND`,
    [cursor, cursor, cursor],
  );
  return String(row![0] ?? cursor);
}
