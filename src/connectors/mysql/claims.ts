/**
 * Capture claims (Connector.claimCapture) in MySQL/MariaDB: a row per table
 * in `_tandem_claims` of the table's own database, whichever way it is
 * captured (a polled table's log is pruned as it is saved, and one sync per
 * table is the rule either way).
 */
import { claimedError, type StoredClaim } from '../claims.js';
import type { CaptureClaim } from '../connector.js';
import type { MysqlSession } from './session.js';
import { qi, type TableRef } from './sql.js';

const CLAIMS = '_tandem_claims';
const claimsOf = (database: string) => `${qi(database)}.${qi(CLAIMS)}`;

export async function claimCapture(
  s: MysqlSession,
  t: TableRef,
  claim: CaptureClaim,
  where: string,
): Promise<void> {
  const table = claimsOf(t.database);
  await s.run(
    `CREATE TABLE IF NOT EXISTS ${table} (table_name VARCHAR(64) NOT NULL PRIMARY KEY, ` +
      'owner VARCHAR(64) NOT NULL, state VARCHAR(1024) NOT NULL, sync VARCHAR(255) NOT NULL, ' +
      'claimed_at DATETIME(0) NOT NULL) ENGINE=InnoDB',
  );
  // The first claim stays; the primary key makes two first claims at once come out as one.
  await s.run(
    `INSERT IGNORE INTO ${table} (table_name, owner, state, sync, claimed_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP())`,
    [t.name, claim.owner, claim.state, claim.sync],
  );
  await checkClaim(s, t, claim, where);
}

/** Throws CAPTURE_CLAIMED when another state holds the table; reads only. */
export async function checkClaim(
  s: MysqlSession,
  t: TableRef,
  claim: CaptureClaim,
  where: string,
): Promise<void> {
  if (!(await hasClaims(s, t.database))) return;
  const rows = await s.rows(
    `SELECT owner, state, sync, DATE_FORMAT(claimed_at, '%Y-%m-%dT%H:%i:%sZ') FROM ${claimsOf(t.database)} WHERE table_name = ?`,
    [t.name],
  );
  if (rows.length === 0) return;
  const [owner, state, sync, at] = rows[0]!.map((v) => String(v ?? ''));
  if (owner === claim.owner) return;
  const held: StoredClaim = { owner: owner!, state: state!, sync: sync!, at: at! };
  throw claimedError(`${t.database}.${t.name}`, where, claim, held);
}

async function hasClaims(s: MysqlSession, database: string): Promise<boolean> {
  const rows = await s.rows(
    'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [database, CLAIMS],
  );
  return rows.length > 0;
}

/** Lifts the table's claim (removeCapture). */
export async function releaseClaim(s: MysqlSession, t: TableRef): Promise<void> {
  if (!(await hasClaims(s, t.database))) return;
  await s.run(`DELETE FROM ${claimsOf(t.database)} WHERE table_name = ?`, [t.name]);
}

/** Drops the claims table of `database` once no claim is left in it (teardown). */
export async function dropClaimsIfEmpty(s: MysqlSession, database: string): Promise<void> {
  if (!(await hasClaims(s, database))) return;
  if ((await s.rows(`SELECT 1 FROM ${claimsOf(database)} LIMIT 1`)).length === 0) {
    await s.run(`DROP TABLE ${claimsOf(database)}`);
  }
}
