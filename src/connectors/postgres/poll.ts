/**
 * Change capture by polling, where logical replication is not allowed
 * (`change_detection: poll`, or `auto` without the rights).
 *
 * A *poll* finds what changed since the last one and writes it to the feed's
 * log in `_tandem` (poll-setup.ts); the engine reads that log, and its
 * positions are the log's numbers (`poll:` and 19 digits, so they sort as
 * strings). Finding and logging are one transaction, and the log is pruned
 * only once the engine has saved past an entry, so a crash in between finds
 * the change again in the log; a read with nothing new returns nothing.
 *
 * - Inserts and updates: the rows whose `updated_at` is at or after the
 *   (updated_at, key) cursor less OVERLAP_SECONDS, compared with the version
 *   kept for each key (its `updated_at` then). The overlap re-reads the last
 *   few seconds, so a transaction that committed after the cursor passed its
 *   (earlier) `updated_at` is still found; the kept versions stop the rows
 *   already reported there from being reported again.
 * - Deletes: the key scan (poll-keys.ts), on a tandem's first poll of the
 *   table and then every `keyScanMs` (10 × poll_interval by default). It
 *   also finds what the window cannot: a row whose `updated_at` was not
 *   moved, or a transaction open for longer than the overlap.
 * - A scan feed (no usable `updated_at`) runs the key scan, comparing a
 *   fingerprint of the columns read, at every poll.
 *
 * A read polls when the log holds nothing after its position, at most once
 * per poll_interval. tandem's own writes come back through polling like any
 * other change; the engine's base fingerprints make them no-ops.
 */
import type { ChangeEvent } from '../../core/types.js';
import type { ChangeBatch } from '../connector.js';
import { toCanonical } from './convert.js';
import { scanKeys } from './poll-keys.js';
import { FEEDS, type Feed, LOG, pollTablesExist } from './poll-setup.js';
import type { PgSession } from './session.js';
import { qi } from './sql.js';

/** How far behind its cursor each poll looks again for late commits. */
export const OVERLAP_SECONDS = 5;
const PREFIX = 'poll:';

export const isPollPosition = (pos: string): boolean => pos.startsWith(PREFIX);
const position = (seq: string): string => `${PREFIX}${seq.padStart(19, '0')}`;
const seqOf = (pos: string): string => String(BigInt(pos.slice(PREFIX.length)));

export interface PollTiming {
  pollIntervalMs: number;
  /** Between key scans of a poll feed (a scan feed scans at every poll). */
  keyScanMs: number;
}

export class PollCapture {
  /** When each feed was last polled, and last key-scanned, by this process. */
  private readonly polledAt = new Map<string, number>();
  private readonly scannedAt = new Map<string, number>();

  constructor(
    /** Reads the log. */
    private readonly reader: PgSession,
    /** Runs polls (they write tandem's tables), in the connector's write order. */
    private readonly poller: <T>(work: (s: PgSession) => Promise<T>) => Promise<T>,
    private readonly timing: PollTiming,
  ) {}

  async currentPosition(f: Feed): Promise<string> {
    if (!(await pollTablesExist(this.reader))) return position('0');
    const r = await this.reader.rows(`SELECT logged::text FROM ${FEEDS} WHERE feed = $1`, [f.id]);
    return position(r[0]?.[0] ?? '0');
  }

  async readChanges(f: Feed, after: string, limit: number): Promise<ChangeBatch> {
    // A position from logical replication: the table was captured another way until now,
    // and where that left off means nothing here. Compare in full (as after a TRUNCATE).
    if (!isPollPosition(after)) return { changes: [], position: after, truncatedAt: after };
    if (!(await pollTablesExist(this.reader))) return { changes: [], position: after };
    let changes = await this.readLog(f, after, limit);
    if (changes.length === 0 && this.due(f)) {
      await this.poll(f);
      changes = await this.readLog(f, after, limit);
    }
    return { changes, position: changes.at(-1)?.position ?? after };
  }

  async latestChanges(
    f: Feed,
    after: string,
    keys: string[],
  ): Promise<Map<string, { at: string; op: ChangeEvent['op'] }>> {
    const out = new Map<string, { at: string; op: ChangeEvent['op'] }>();
    if (keys.length === 0 || !isPollPosition(after) || !(await pollTablesExist(this.reader))) return out;
    // The log only (no poll): what was found and not yet read, the last entry of a key winning.
    const rows = await this.reader.rows(
      `SELECT DISTINCT ON (key) key, op, ${AT} FROM ${LOG}
        WHERE feed = $1 AND seq > $2::bigint AND key = ANY ($3::text[]) ORDER BY key, seq DESC`,
      [f.id, seqOf(after), keys],
    );
    for (const [key, op, at] of rows) out.set(key!, { at: at!, op: op as ChangeEvent['op'] });
    return out;
  }

  /** The log up to and including `upTo` is saved by the engine. */
  async prune(f: Feed, upTo: string): Promise<void> {
    if (!isPollPosition(upTo) || !(await pollTablesExist(this.reader))) return;
    await this.poller((s) =>
      s.run(`DELETE FROM ${LOG} WHERE feed = $1 AND seq <= $2::bigint`, [f.id, seqOf(upTo)]),
    );
  }

  private due(f: Feed): boolean {
    const last = this.polledAt.get(f.id);
    return last === undefined || Date.now() - last >= this.timing.pollIntervalMs;
  }

  /** One poll: finds what changed and logs it, in one transaction. */
  async poll(f: Feed): Promise<void> {
    const started = Date.now();
    const lastScan = this.scannedAt.get(f.id);
    const scan = f.method === 'scan' || lastScan === undefined || started - lastScan >= this.timing.keyScanMs;
    const done = await this.poller(async (s) => {
      await s.run('BEGIN');
      try {
        // One poll of a feed at a time, across processes too: log numbers then follow commit order.
        const row = await s.rows(`SELECT cursor_at FROM ${FEEDS} WHERE feed = $1 FOR UPDATE`, [f.id]);
        if (row.length === 0) {
          await s.run('ROLLBACK');
          return false;
        }
        let cursor = row[0]![0] ?? null;
        if (f.method === 'poll' && cursor !== null) cursor = await pollWindow(s, f, cursor);
        if (scan) await scanKeys(s, f);
        await s.run(
          `UPDATE ${FEEDS} SET cursor_at = $2,
             logged = greatest(logged, coalesce((SELECT max(seq) FROM ${LOG} WHERE feed = $1), 0))
           WHERE feed = $1`,
          [f.id, cursor],
        );
        await s.run('COMMIT');
        return true;
      } catch (err) {
        await s.run('ROLLBACK').catch(() => {});
        throw err;
      }
    });
    if (!done) return;
    this.polledAt.set(f.id, started);
    if (scan) this.scannedAt.set(f.id, started);
  }

  private async readLog(f: Feed, after: string, limit: number): Promise<ChangeEvent[]> {
    const rows = await this.reader.rows(
      `SELECT seq::text, key, op, ${AT} FROM ${LOG}
        WHERE feed = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3::bigint`,
      [f.id, seqOf(after), String(limit)],
    );
    return rows.map(([seq, key, op, at]) => ({
      key: String(toCanonical(key!, f.keyKind)),
      op: op as ChangeEvent['op'],
      at: at!,
      position: position(seq!),
    }));
  }
}

/** A change's time as the engine wants it: ISO 8601 in UTC, milliseconds. */
const AT = `to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Rows whose `updated_at` is at or after the cursor less the overlap, against
 * the versions kept: those that differ are logged (in (updated_at, key)
 * order) and kept. Returns the new cursor: the latest `updated_at` seen, never
 * later than now (a row stamped in the future is looked at again each poll
 * until its time comes, and reported only when it changes).
 */
async function pollWindow(s: PgSession, f: Feed, cursor: string): Promise<string> {
  const k = qi(f.key);
  const u = qi(f.updatedAt!);
  const type = f.updatedAtType!;
  const rows = await s.rows(
    `WITH src AS (
       SELECT t.${k} AS key, ${f.version} AS version, t.${u} AS u FROM ${f.tableSql} t
        WHERE t.${u} >= CAST($2 AS ${type}) - interval '${OVERLAP_SECONDS} seconds' AND t.${k} IS NOT NULL
     ),
     diff AS (
       SELECT s.key, s.version, s.u, f.key IS NULL AS fresh FROM src s LEFT JOIN ${f.keys} f ON f.key = s.key
        WHERE f.key IS NULL OR f.version IS DISTINCT FROM s.version
     ),
     up AS (
       INSERT INTO ${f.keys} (key, version) SELECT key, version FROM diff
       ON CONFLICT (key) DO UPDATE SET version = excluded.version RETURNING 1
     ),
     logged AS (
       INSERT INTO ${LOG} (feed, key, op, at)
       SELECT $1, key::text, CASE WHEN fresh THEN 'insert' ELSE 'update' END, least(u::timestamptz, now())
         FROM diff ORDER BY u, key RETURNING 1
     )
     SELECT least(greatest(CAST($2 AS ${type}), (SELECT max(u) FROM src)), CAST(now() AS ${type}))::text,
            (SELECT count(*) FROM logged)::text, (SELECT count(*) FROM up)::text`,
    [f.id, cursor],
  );
  return rows[0]![0] ?? cursor;
}
