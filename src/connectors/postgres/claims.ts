/**
 * Capture claims (Connector.claimCapture) in a PostgreSQL database: a row per
 * table in `_tandem.claims`, whichever way the table is captured (the slot is
 * one per database, and a polled table's log is pruned as it is saved).
 */
import { claimedError, type StoredClaim } from '../claims.js';
import type { CaptureClaim } from '../connector.js';
import type { PgSession } from './session.js';
import { key, qualified } from './slot.js';
import { TANDEM_SCHEMA, type TableRef } from './sql.js';

const CLAIMS = `${TANDEM_SCHEMA}.claims`;

export async function claimCapture(
  s: PgSession,
  t: TableRef,
  claim: CaptureClaim,
  where: string,
): Promise<void> {
  const table = key(await qualified(s, t));
  await s.run(`CREATE SCHEMA IF NOT EXISTS ${TANDEM_SCHEMA}`);
  await s.run(
    `CREATE TABLE IF NOT EXISTS ${CLAIMS} (table_name text PRIMARY KEY, owner text NOT NULL, ` +
      'state text NOT NULL, sync text NOT NULL, claimed_at timestamptz NOT NULL DEFAULT now())',
  );
  // The first claim stays; the primary key makes two first claims at once come out as one.
  await s.run(
    `INSERT INTO ${CLAIMS} (table_name, owner, state, sync) VALUES ($1, $2, $3, $4) ON CONFLICT (table_name) DO NOTHING`,
    [table, claim.owner, claim.state, claim.sync],
  );
  await checkClaim(s, t, claim, where);
}

/** Throws CAPTURE_CLAIMED when another state holds the table; reads only. */
export async function checkClaim(
  s: PgSession,
  t: TableRef,
  claim: CaptureClaim,
  where: string,
): Promise<void> {
  if (!(await hasClaims(s))) return;
  const table = key(await qualified(s, t));
  const [row] = await s.rows(
    `SELECT owner, state, sync, to_char(claimed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM ${CLAIMS} WHERE table_name = $1`,
    [table],
  );
  if (!row || row[0] === claim.owner) return;
  const [owner, state, sync, at] = row;
  const held: StoredClaim = { owner: owner!, state: state!, sync: sync!, at: at! };
  throw claimedError(table, where, claim, held);
}

async function hasClaims(s: PgSession): Promise<boolean> {
  const exists = await s.rows('SELECT to_regclass($1) IS NOT NULL', [CLAIMS]);
  return exists[0]?.[0] === 't' || exists[0]?.[0] === 'true';
}

/** Lifts the table's claim (removeCapture). */
export async function releaseClaim(s: PgSession, t: TableRef): Promise<void> {
  if (!(await hasClaims(s))) return;
  await s.run(`DELETE FROM ${CLAIMS} WHERE table_name = $1`, [key(await qualified(s, t))]);
}

/** Drops the claims table once no claim is left in it (teardown). */
export async function dropClaimsIfEmpty(s: PgSession): Promise<void> {
  if (!(await hasClaims(s))) return;
  if ((await s.rows(`SELECT 1 FROM ${CLAIMS} LIMIT 1`)).length === 0) await s.run(`DROP TABLE ${CLAIMS}`);
}
