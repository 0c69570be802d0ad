/**
 * Capture claims (Connector.claimCapture) in a SQLite file: a row per table
 * in `_tandem_claims`, beside the change table of the table's own schema.
 */
import { claimedError, type StoredClaim } from '../claims.js';
import type { CaptureClaim } from '../connector.js';
import { CLAIMS, qi, type TableRef } from './sql.js';
import type { Statements } from './statements.js';

export function claimCapture(q: Statements, t: TableRef, claim: CaptureClaim, where: string): void {
  const table = `${qi(t.schema)}.${CLAIMS}`;
  if (!q.exists(t.schema, 'table', CLAIMS)) {
    q.db.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (table_name TEXT PRIMARY KEY, owner TEXT NOT NULL, ` +
        'state TEXT NOT NULL, sync TEXT NOT NULL, claimed_at TEXT NOT NULL)',
    );
  }
  // The first claim stays; the primary key makes two first claims at once come out as one.
  q.run(
    `INSERT OR IGNORE INTO ${table} (table_name, owner, state, sync, claimed_at) ` +
      "VALUES (?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    t.name,
    claim.owner,
    claim.state,
    claim.sync,
  );
  checkClaim(q, t, claim, where);
}

/** Throws CAPTURE_CLAIMED when another state holds the table; reads only. */
export function checkClaim(q: Statements, t: TableRef, claim: CaptureClaim, where: string): void {
  if (!q.exists(t.schema, 'table', CLAIMS)) return;
  const row = q.get(
    `SELECT owner, state, sync, claimed_at FROM ${qi(t.schema)}.${CLAIMS} WHERE table_name = ?`,
    t.name,
  ) as string[] | undefined;
  if (!row || row[0] === claim.owner) return;
  const [owner, state, sync, at] = row;
  const held: StoredClaim = { owner: owner!, state: state!, sync: sync!, at: at! };
  throw claimedError(t.schema === 'main' ? t.name : `${t.schema}.${t.name}`, where, claim, held);
}
