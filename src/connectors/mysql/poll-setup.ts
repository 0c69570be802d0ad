/**
 * What capture by polling keeps in the database, and making and removing it.
 *
 * A *feed* is one table watched one way: on its `updated_at` column (poll), or
 * by comparing a fingerprint of each row (scan, for a table without one). Per
 * feed tandem keeps, in the watched table's own database:
 * - a keys table (`_tandem_poll_<hash>`): every key it has seen, with the
 *   row's version then, the key in the table's own type and collation so
 *   both are walked and compared in one order;
 * - a row in `_tandem_poll_feeds`: the updated_at cursor the last poll
 *   reached, and the last log number written for the feed;
 * - its entries in `_tandem_poll_log`: each change found, numbered per feed
 *   in the order found. The engine reads this log (positions are its
 *   numbers) and prunes it once it has saved past them, so a crash between
 *   finding a change and saving it finds it again in the log (poll.ts).
 *
 * Why tables prefixed `_tandem_` in the table's database, and not a database
 * of tandem's own (PostgreSQL's `_tandem` schema): in MySQL a schema is a
 * database, and making one needs CREATE on `*.*` (in effect, an
 * administrator); a user that syncs a table can usually already create
 * tables beside it, and tandem's receipts table (`_tandem_receipts`, sql.ts)
 * lives there too, so one GRANT on the database covers all of tandem.
 *
 * A row's *version* is its `updated_at` as text when that column holds
 * microseconds (DATETIME(6)/TIMESTAMP(6)): two changes of a row in one
 * microsecond do not happen. With coarser precision (DATETIME, or DATE) two
 * changes within one second (or day) would have the same `updated_at`, so the
 * version is then a fingerprint of the columns read, as in a scan feed.
 */
import { createHash } from 'node:crypto';
import { TandemError } from '../../core/errors.js';
import type { ColumnKind } from '../../core/types.js';
import type { TableSpec } from '../connector.js';
import { keyParam, seqParam } from './poll-log.js';
import type { PollParam, PollSession } from './poll-session.js';

/** Kinds an `updated_at` column may have to be polled on (DATETIME and TIMESTAMP are `timestamp`). */
export const POLLABLE: ReadonlySet<ColumnKind> = new Set(['timestamp', 'date']);
export const FEEDS_TABLE = '_tandem_poll_feeds';
export const LOG_TABLE = '_tandem_poll_log';

export const qi = (name: string): string => `\`${name.replace(/`/g, '``')}\``;

export interface Feed {
  /** Its name in `_tandem_poll_feeds` (a hash of `what`). */
  id: string;
  /** What it watches, readable: `db.table|key|poll|updated_at`. */
  what: string;
  method: 'poll' | 'scan';
  database: string;
  /** `db.name`, as `_tandem_poll_feeds` names tables. */
  table: string;
  /** The watched table, ready for SQL. */
  tableSql: string;
  feedsSql: string;
  logSql: string;
  keysSql: string;
  key: string;
  keyKind: ColumnKind;
  /** COLUMN_TYPE of the key, for convert.ts and the keys table. */
  keyType: string;
  /** `CHARACTER SET … COLLATE …` of a text key, else empty. */
  keyCollation: string;
  /** The polled column (poll only). */
  updatedAt: string | null;
  /** DATETIME/TIMESTAMP (clamped against UTC now differently) or DATE. */
  updatedAtType: string | null;
  /** SQL of a row's version (binary), over the table aliased `t`. */
  version: string;
  /** The version is `updated_at` itself (else a fingerprint of the columns read). */
  versionIsTime: boolean;
}

interface ColumnFacts {
  dataType: string;
  columnType: string;
  precision: number;
  charset: string | null;
  collation: string | null;
}

async function columnFacts(
  s: PollSession,
  database: string,
  name: string,
): Promise<Map<string, ColumnFacts>> {
  const rows = await s.rows(
    `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, DATETIME_PRECISION, CHARACTER_SET_NAME, COLLATION_NAME, TABLE_NAME
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
    [database, name],
  );
  const out = new Map<string, ColumnFacts>();
  // information_schema compares names without regard to case on some systems: keep the exact ones.
  for (const [column, dataType, columnType, precision, charset, collation, table] of rows) {
    if (table !== name) continue;
    out.set(String(column), {
      dataType: String(dataType).toLowerCase(),
      columnType: String(columnType),
      precision: Number(precision ?? 0),
      charset: charset === null ? null : String(charset),
      collation: collation === null ? null : String(collation),
    });
  }
  return out;
}

/**
 * A fingerprint of the columns read, as binary: each value quoted (NULL is
 * the bare word, a string is quoted and escaped, so no two rows collide by
 * where a comma falls), as bytes (no collation to mix), FLOAT widened first
 * (its text has six digits only).
 */
function fingerprint(columns: string[], facts: Map<string, ColumnFacts>): string {
  const parts = columns.map((c) => {
    const col = /^float/.test(facts.get(c)?.dataType ?? '') ? `CAST(t.${qi(c)} AS DOUBLE)` : `t.${qi(c)}`;
    return `QUOTE(CAST(${col} AS BINARY))`;
  });
  return `CAST(MD5(CONCAT_WS(',', ${parts.join(', ')})) AS BINARY)`;
}

/** The feed watching `spec` the given way. */
export async function feedOf(
  s: PollSession,
  t: { schema: string; name: string },
  spec: TableSpec,
  method: 'poll' | 'scan',
): Promise<Feed> {
  const facts = await columnFacts(s, t.schema, t.name);
  const keyFacts = facts.get(spec.key);
  if (!keyFacts) {
    throw new TandemError(
      'COLUMN_MISSING',
      `Key column ${spec.key} of ${t.schema}.${t.name} does not exist`,
      'Check the table and the side’s `key:` in the config (tandem validate lists what is there).',
    );
  }
  const updatedAt = method === 'poll' ? (spec.updatedAt ?? null) : null;
  const u = updatedAt === null ? undefined : facts.get(updatedAt);
  if (updatedAt !== null && !u) {
    throw new TandemError(
      'COLUMN_MISSING',
      `updated_at column ${updatedAt} of ${t.schema}.${t.name} does not exist`,
      'Check the side’s `updated_at:` in the config.',
    );
  }
  const versionIsTime =
    u !== undefined && (u.dataType === 'datetime' || u.dataType === 'timestamp') && u.precision >= 6;
  const columns = [...spec.columns].sort();
  const table = `${t.schema}.${t.name}`;
  // A scan feed depends on the columns compared; a poll feed on the column polled (and the columns, when they are its version).
  const what = `${table}|${spec.key}|${method}|${updatedAt ?? ''}|${versionIsTime ? '' : JSON.stringify(columns)}`;
  const id = createHash('md5').update(what).digest('hex').slice(0, 24);
  const db = qi(t.schema);
  return {
    id,
    what,
    method,
    database: t.schema,
    table,
    tableSql: `${db}.${qi(t.name)}`,
    feedsSql: `${db}.${qi(FEEDS_TABLE)}`,
    logSql: `${db}.${qi(LOG_TABLE)}`,
    keysSql: `${db}.${qi(`_tandem_poll_${id}`)}`,
    key: spec.key,
    keyKind: spec.kinds[spec.key] ?? 'text',
    keyType: keyFacts.columnType,
    keyCollation: keyFacts.collation ? `CHARACTER SET ${keyFacts.charset} COLLATE ${keyFacts.collation}` : '',
    updatedAt,
    updatedAtType: u?.dataType ?? null,
    version: versionIsTime ? `CAST(t.${qi(updatedAt!)} AS BINARY)` : fingerprint(columns, facts),
    versionIsTime,
  };
}

/** `user@host` → `'user'@'host'`, as GRANT and information_schema write it. */
export function grantee(user: string): string {
  const at = user.lastIndexOf('@');
  const q = (x: string) => `'${x.replace(/'/g, "''")}'`;
  return at < 0 ? q(user) : `${q(user.slice(0, at))}@${q(user.slice(at + 1))}`;
}

/**
 * Whether tandem may keep its tables in `database` (CREATE there, globally or
 * on a database pattern that matches it); throws CAPTURE_UNAVAILABLE with the
 * GRANT that fixes it. Rights through a role are not seen here: such a user
 * is told to grant them directly.
 */
export async function pollPreflight(s: PollSession, database: string): Promise<void> {
  const user = String((await s.rows('SELECT CURRENT_USER()'))[0]![0]);
  const who = grantee(user);
  const rows = await s.rows(
    `SELECT 1 FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ? AND PRIVILEGE_TYPE = 'CREATE'
     UNION ALL
     SELECT 1 FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? AND PRIVILEGE_TYPE = 'CREATE' AND ? LIKE TABLE_SCHEMA`,
    [who, who, database],
  );
  if (rows.length > 0) return;
  throw new TandemError(
    'CAPTURE_UNAVAILABLE',
    `User ${user} may not create tables in database ${database}, where polling keeps the keys it has seen (tables named _tandem_poll_…)`,
    `Run GRANT CREATE, DROP, SELECT, INSERT, UPDATE, DELETE ON ${qi(database)}.* TO ${who}; (as an administrator).`,
  );
}

/** Polling's shared tables, made once per database (each CREATE commits by itself in MySQL). */
async function ensureTables(s: PollSession, f: Feed): Promise<void> {
  await rights(s, f.database, async () => {
    await s.run(
      `CREATE TABLE IF NOT EXISTS ${f.feedsSql} (
         feed CHAR(24) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
         what TEXT NOT NULL,
         table_name VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
         keys_table VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
         cursor_at DATETIME(6) NULL,
         logged BIGINT UNSIGNED NOT NULL,
         KEY (table_name)
       ) ENGINE = InnoDB`,
    );
    await s.run(
      `CREATE TABLE IF NOT EXISTS ${f.logSql} (
         feed CHAR(24) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
         seq BIGINT UNSIGNED NOT NULL,
         k TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
         op VARCHAR(6) CHARACTER SET ascii NOT NULL,
         at DATETIME(6) NOT NULL,
         PRIMARY KEY (feed, seq)
       ) ENGINE = InnoDB`,
    );
  });
}

/**
 * The first log number of a new feed: the time in milliseconds × 10⁶. A feed
 * removed and made again (or made after a teardown) then numbers on from
 * above where the old one stopped, unless it logged more than a million
 * changes per millisecond it lived, so a position saved for the old one
 * never hides a change of the new one. Fits 19 digits until the year 2262.
 */
const firstNumber = (): bigint => BigInt(Date.now()) * 1_000_000n;

/** Keys copied per statement while filling the keys table. */
const FILL = 1_000;
/** Keys read per page while filling. */
const PAGE = 10_000;

/**
 * Starts watching (idempotent): the keys table is filled with every key as it
 * is now, so a pass that compares in full right after starts from the same
 * place, and the cursor starts at the newest `updated_at` (never later than
 * now). The fill and the cursor read one snapshot.
 */
export async function installFeed(s: PollSession, f: Feed): Promise<void> {
  await ensureTables(s, f);
  if (await feedInstalled(s, f)) return;
  await rights(s, f.database, async () => {
    await s.run(`DROP TABLE IF EXISTS ${f.keysSql}`);
    await s.run(
      `CREATE TABLE ${f.keysSql} (k ${f.keyType} ${f.keyCollation} NOT NULL PRIMARY KEY, v VARBINARY(64) NULL) ENGINE = InnoDB`,
    );
  });
  await s.transaction(async () => {
    // Another tandem made it meanwhile: its keys table is the one just replaced, so make it again.
    await s.run(`DELETE FROM ${f.feedsSql} WHERE feed = ?`, [f.id]);
    const k = qi(f.key);
    let after: unknown = null;
    for (;;) {
      const rows = await s.rows(
        `SELECT t.${k}, ${f.version} FROM ${f.tableSql} t
          WHERE ${after === null ? `t.${k} IS NOT NULL` : `t.${k} > ?`} ORDER BY t.${k} LIMIT ${PAGE}`,
        after === null ? [] : [keyParam(f, after)],
      );
      for (let i = 0; i < rows.length; i += FILL) {
        const chunk = rows.slice(i, i + FILL);
        await s.run(
          `INSERT INTO ${f.keysSql} (k, v) VALUES ${chunk.map(() => '(?, ?)').join(', ')}`,
          chunk.flat() as PollParam[],
        );
      }
      if (rows.length < PAGE) break;
      after = rows.at(-1)![0];
    }
    let cursor: string | null = null;
    if (f.updatedAt !== null) {
      const u = `t.${qi(f.updatedAt)}`;
      cursor = String(
        (
          await s.rows(`SELECT LEAST(COALESCE(MAX(${u}), ${nowFor(f)}), ${nowFor(f)}) FROM ${f.tableSql} t`)
        )[0]![0],
      );
    }
    await s.run(
      `INSERT INTO ${f.feedsSql} (feed, what, table_name, keys_table, cursor_at, logged)
       VALUES (?, ?, ?, ?, CAST(? AS DATETIME(6)), GREATEST(?, (SELECT COALESCE(MAX(l.seq), 0) FROM ${f.logSql} l WHERE l.feed = ?)))`,
      [f.id, f.what, f.table, `_tandem_poll_${f.id}`, cursor, seqParam(firstNumber()), f.id],
    );
  }, 'START TRANSACTION WITH CONSISTENT SNAPSHOT');
}

/**
 * "Now" for the polled column, as DATETIME(6). A TIMESTAMP reads in UTC (this
 * session's zone). A DATETIME holds whatever wall time the application's
 * sessions wrote (CURRENT_TIMESTAMP is in the writer's time_zone), so "now"
 * is the later of UTC and the server's default zone: a cursor is never
 * clamped below rows written in local time ahead of UTC, and a row stamped
 * in the future does not move the cursor past the present.
 */
export function nowFor(f: Feed): string {
  if (f.updatedAtType === 'timestamp') return 'UTC_TIMESTAMP(6)';
  return `GREATEST(UTC_TIMESTAMP(6), COALESCE(CONVERT_TZ(UTC_TIMESTAMP(6), '+00:00', @@global.time_zone), UTC_TIMESTAMP(6) + INTERVAL 14 HOUR))`;
}

export async function tablesExist(s: PollSession, database: string): Promise<boolean> {
  const rows = await s.rows(
    'SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [database, FEEDS_TABLE],
  );
  return rows.some((r) => r[0] === FEEDS_TABLE);
}

export async function feedInstalled(s: PollSession, f: Feed): Promise<boolean> {
  if (!(await tablesExist(s, f.database))) return false;
  return (await s.rows(`SELECT 1 FROM ${f.feedsSql} WHERE feed = ?`, [f.id])).length > 0;
}

/** Stops every feed of this table: its keys table, log entries and cursor go. */
export async function removeFeeds(s: PollSession, t: { schema: string; name: string }): Promise<void> {
  if (!(await tablesExist(s, t.schema))) return;
  const db = qi(t.schema);
  const feeds = `${db}.${qi(FEEDS_TABLE)}`;
  const rows = await s.rows(`SELECT feed, keys_table FROM ${feeds} WHERE table_name = ?`, [
    `${t.schema}.${t.name}`,
  ]);
  for (const [feed, keys] of rows) {
    await s.run(`DROP TABLE IF EXISTS ${db}.${qi(String(keys))}`);
    await s.run(`DELETE FROM ${db}.${qi(LOG_TABLE)} WHERE feed = ?`, [String(feed)]);
    await s.run(`DELETE FROM ${feeds} WHERE feed = ?`, [String(feed)]);
  }
}

/** Drops polling's shared tables in `database` once no feed is left there. */
export async function dropTablesIfUnused(s: PollSession, database: string): Promise<void> {
  if (!(await tablesExist(s, database))) return;
  const db = qi(database);
  if ((await s.rows(`SELECT 1 FROM ${db}.${qi(FEEDS_TABLE)} LIMIT 1`)).length > 0) return;
  await s.run(`DROP TABLE IF EXISTS ${db}.${qi(LOG_TABLE)}, ${db}.${qi(FEEDS_TABLE)}`);
}

/** Making tandem's tables needs rights a user may lack: say which, and how to grant them. */
async function rights(s: PollSession, database: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    // 1142 table access denied, 1044 database access denied.
    const errno = (err as { errno?: number }).errno;
    if (errno !== 1142 && errno !== 1044) throw err;
    const user = String((await s.rows('SELECT CURRENT_USER()'))[0]![0]);
    throw new TandemError(
      'CAPTURE_UNAVAILABLE',
      `Cannot set up polling in database ${database}: ${(err as Error).message}`,
      `Run GRANT CREATE, DROP, SELECT, INSERT, UPDATE, DELETE ON ${qi(database)}.* TO ${grantee(user)}; (as an administrator).`,
    );
  }
}
