/**
 * What capture by polling keeps in the database, and making and removing it.
 *
 * A *feed* is one table watched one way: on its `updated_at` column (poll), or
 * by comparing a fingerprint of each row (scan, for a table without one). Per
 * feed tandem keeps, in its `_tandem` schema:
 * - a keys table (`_tandem.poll_<hash>`): every key it has seen, with the
 *   row's version then (its `updated_at` as text, or an md5 of the columns
 *   read), the key in the table's own type so both are walked in one order;
 * - a row in `_tandem.poll_feeds`: the (updated_at, key) cursor the last poll
 *   reached, and the last log number written for the feed;
 * - its entries in `_tandem.poll_log`: each change found, numbered in the
 *   order found. The engine reads this log (positions are its numbers) and
 *   prunes it once it has saved past them, so a crash between finding a
 *   change and saving it finds it again in the log (poll.ts).
 */
import { createHash } from 'node:crypto';
import { TandemError } from '../../core/errors.js';
import type { ColumnKind } from '../../core/types.js';
import type { TableSpec } from '../connector.js';
import type { PgSession } from './session.js';
import { qualified, key as qualifiedKey } from './slot.js';
import { kindOf, qi, TANDEM_SCHEMA, type TableRef } from './sql.js';

export const FEEDS = `${TANDEM_SCHEMA}.poll_feeds`;
export const LOG = `${TANDEM_SCHEMA}.poll_log`;
/** Kinds an `updated_at` column may have to be polled on. */
export const POLLABLE: ReadonlySet<ColumnKind> = new Set(['timestamp', 'date']);

export interface Feed {
  /** Its name in `_tandem.poll_feeds`. */
  id: string;
  method: 'poll' | 'scan';
  /** `schema.name`, as `_tandem.capture` names tables. */
  table: string;
  /** The watched table, ready for SQL (schema included). */
  tableSql: string;
  /** The keys table, ready for SQL. */
  keys: string;
  key: string;
  keyKind: ColumnKind;
  /** The polled column (poll only). */
  updatedAt: string | null;
  /** Its declared type, for casting the cursor (poll only). */
  updatedAtType: string | null;
  /** SQL of a row's version, over the table aliased `t`. */
  version: string;
}

/** The feed watching `spec` the given way. */
export async function feedOf(
  s: PgSession,
  t: TableRef,
  spec: TableSpec,
  method: 'poll' | 'scan',
): Promise<Feed> {
  const q = await qualified(s, t);
  const table = qualifiedKey(q);
  const tableSql = `${qi(q.schema)}.${qi(q.name)}`;
  const updatedAt = method === 'poll' ? (spec.updatedAt ?? null) : null;
  // A scan feed depends on the columns compared; a poll feed only on the column polled.
  const what = method === 'poll' ? `poll|${updatedAt}` : `scan|${JSON.stringify([...spec.columns].sort())}`;
  const id = `${table}|${spec.key}|${what}`;
  const hash = createHash('md5').update(id).digest('hex').slice(0, 24);
  let updatedAtType: string | null = null;
  if (updatedAt !== null) {
    updatedAtType = await s.fact(`poll-type:${table}.${updatedAt}`, async () => {
      const r = await s.rows(
        `SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
          WHERE a.attrelid = $1::regclass AND a.attname = $2 AND NOT a.attisdropped`,
        [tableSql, updatedAt],
      );
      return r[0]?.[0] ?? 'timestamptz';
    });
  }
  const version =
    method === 'poll'
      ? `t.${qi(updatedAt!)}::text`
      : `md5(row(${spec.columns.map((c) => `t.${qi(c)}`).join(', ')})::text)`;
  return {
    id,
    method,
    table,
    tableSql,
    keys: `${TANDEM_SCHEMA}.${qi(`poll_${hash}`)}`,
    key: spec.key,
    keyKind: kindOf(spec, spec.key),
    updatedAt,
    updatedAtType,
    version,
  };
}

/** Whether tandem may keep its schema here; throws CAPTURE_UNAVAILABLE with the grant that fixes it. */
export async function pollPreflight(s: PgSession): Promise<void> {
  const [row] = await s.rows(
    `SELECT current_user, current_database(),
            (has_database_privilege(current_database(), 'CREATE')
             OR coalesce((SELECT has_schema_privilege(n.oid, 'CREATE') FROM pg_namespace n WHERE n.nspname = $1), false))::text`,
    [TANDEM_SCHEMA],
  );
  const [role, db, create] = row!;
  if (create !== 'true')
    throw new TandemError(
      'CAPTURE_UNAVAILABLE',
      `Role ${role} may not create tandem's schema ${TANDEM_SCHEMA} in this database, where polling keeps the keys it has seen`,
      `Run GRANT CREATE ON DATABASE ${qi(db!)} TO ${qi(role!)}; or CREATE SCHEMA ${TANDEM_SCHEMA} AUTHORIZATION ${qi(role!)};`,
    );
}

/**
 * Starts watching (idempotent): the keys table is filled with every key as it
 * is now, so a pass that compares in full right after starts from the same
 * place, and the cursor starts at the newest `updated_at` (never later than now).
 */
export async function installFeed(s: PgSession, f: Feed): Promise<void> {
  // Asked first: once a statement fails, the transaction answers nothing more.
  const role = (await s.rows('SELECT current_user'))[0]![0]!;
  await s.run('BEGIN');
  try {
    await rights(role, async () => {
      await s.run(`CREATE SCHEMA IF NOT EXISTS ${TANDEM_SCHEMA}`);
      await s.run(
        `CREATE TABLE IF NOT EXISTS ${FEEDS} (feed text PRIMARY KEY, table_name text NOT NULL,
           keys_table text NOT NULL, cursor_at text, logged bigint NOT NULL DEFAULT 0)`,
      );
      await s.run(
        `CREATE TABLE IF NOT EXISTS ${LOG} (seq bigserial PRIMARY KEY, feed text NOT NULL,
           key text NOT NULL, op text NOT NULL, at timestamptz NOT NULL)`,
      );
      await s.run(`CREATE INDEX IF NOT EXISTS poll_log_feed ON ${LOG} (feed, seq)`);
    });
    const known = await s.rows(`SELECT 1 FROM ${FEEDS} WHERE feed = $1 FOR UPDATE`, [f.id]);
    if (known.length > 0) {
      await s.run('COMMIT');
      return;
    }
    const k = qi(f.key);
    await rights(role, async () => {
      await s.run(`DROP TABLE IF EXISTS ${f.keys}`);
      // CREATE TABLE AS gives the key column the table's own type and collation.
      await s.run(
        `CREATE TABLE ${f.keys} AS SELECT t.${k} AS key, ${f.version} AS version FROM ${f.tableSql} t WHERE t.${k} IS NOT NULL`,
      );
      await s.run(`ALTER TABLE ${f.keys} ADD PRIMARY KEY (key)`);
    });
    let cursor: string | null = null;
    if (f.updatedAt !== null) {
      const u = qi(f.updatedAt);
      const type = f.updatedAtType!;
      cursor = (
        await s.rows(
          `SELECT least(coalesce(max(t.${u}), CAST(now() AS ${type})), CAST(now() AS ${type}))::text FROM ${f.tableSql} t`,
        )
      )[0]![0]!;
    }
    await s.run(
      `INSERT INTO ${FEEDS} (feed, table_name, keys_table, cursor_at, logged)
       VALUES ($1, $2, $3, $4, (SELECT coalesce(max(seq), 0) FROM ${LOG}))`,
      [f.id, f.table, f.keys, cursor],
    );
    await s.run('COMMIT');
  } catch (err) {
    await s.run('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Polling's tables exist (taken to stay once seen: removing capture empties them, never drops them). */
export async function pollTablesExist(s: PgSession): Promise<boolean> {
  if (s.known.get(FEEDS) === true) return true;
  const r = await s.rows('SELECT to_regclass($1) IS NOT NULL', [FEEDS]);
  const exists = r[0]![0] === 'true' || r[0]![0] === 't';
  if (exists) s.known.set(FEEDS, true);
  return exists;
}

export async function feedInstalled(s: PgSession, f: Feed): Promise<boolean> {
  if (!(await pollTablesExist(s))) return false;
  return (await s.rows(`SELECT 1 FROM ${FEEDS} WHERE feed = $1`, [f.id])).length > 0;
}

/** Stops every feed of this table: its keys table, log entries and cursor go. */
export async function removeFeeds(s: PgSession, t: TableRef): Promise<void> {
  if (!(await pollTablesExist(s))) return;
  const table = qualifiedKey(await qualified(s, t));
  const feeds = await s.rows(`SELECT feed, keys_table FROM ${FEEDS} WHERE table_name = $1`, [table]);
  for (const [feed, keys] of feeds as [string, string][]) {
    await s.run(`DROP TABLE IF EXISTS ${keys}`);
    await s.run(`DELETE FROM ${LOG} WHERE feed = $1`, [feed]);
    await s.run(`DELETE FROM ${FEEDS} WHERE feed = $1`, [feed]);
  }
}

/** Making tandem's tables needs rights a role may lack: say which, and how to grant them. */
async function rights(role: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err;
    throw new TandemError(
      'CAPTURE_UNAVAILABLE',
      `Cannot set up polling in ${TANDEM_SCHEMA}: ${(err as Error).message}`,
      `Let the role create tables in ${TANDEM_SCHEMA} (ALTER SCHEMA ${TANDEM_SCHEMA} OWNER TO ${qi(role)}; or GRANT CREATE ON SCHEMA ${TANDEM_SCHEMA} TO ${qi(role)};) and read the table (GRANT SELECT ON … TO ${qi(role)};).`,
    );
  }
}
