/**
 * The slot's side of capture: the names tandem gives its slot and
 * publication, positions and how they sort, each captured table's saved
 * position (`_tandem.capture`), and moving the slot on once every table has
 * saved past a point (through the stream when one reads the slot, else through
 * SQL). Reading the changes is capture.ts, stream.ts and feeds.ts; making and
 * removing what capture needs is capture-setup.ts.
 *
 * Positions are `<commit LSN, 16 hex digits>.<change number in that
 * transaction, 10 digits>`: pgoutput sends transactions in commit order, so
 * these sort in log order as strings. `<commit LSN>.9999999999` stands for
 * "that whole transaction" (one with nothing for this table).
 */
import { formatLsn, type Lsn, parseLsn } from './pgoutput.js';
import type { PgSession } from './session.js';
import { TANDEM_SCHEMA, type TableRef } from './sql.js';

/** Origins of tandem's writing sessions start with this (session.ts). */
export const OWN_ORIGIN_PREFIX = 'tandem_w_';
export const CAPTURE = `${TANDEM_SCHEMA}.capture`;
export const WHOLE_TXN = '9999999999';

export interface CaptureNames {
  slot: string;
  publication: string;
}

/** One slot and one publication per database, named after it. */
export async function captureNames(s: PgSession): Promise<CaptureNames> {
  const db = (await s.rows('SELECT current_database()'))[0]![0]!;
  const base = `tandem_${db.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
  return { slot: base, publication: base };
}

export function position(lsn: Lsn, n: number | typeof WHOLE_TXN): string {
  return `${lsn.toString(16).toUpperCase().padStart(16, '0')}.${String(n).padStart(10, '0')}`;
}

export function positionLsn(pos: string): Lsn {
  return BigInt(`0x${pos.slice(0, 16)}`);
}

/** The table as the catalog names it, schema included (what pgoutput's Relation message says). */
export async function qualified(s: PgSession, t: TableRef): Promise<{ schema: string; name: string }> {
  // A connection's current schema does not change under it (tandem never sets search_path).
  const schema =
    t.schema ??
    (await s.fact('current_schema', async () => (await s.rows('SELECT current_schema()'))[0]![0]!));
  return { schema, name: t.name };
}

export const key = (q: { schema: string; name: string }) => `${q.schema}.${q.name}`;

export async function ackedPosition(s: PgSession, table: string): Promise<string | null> {
  // Once seen, tandem's capture table is taken to stay (teardown empties it, never drops it).
  if (s.known.get(CAPTURE) !== true) {
    const exists = await s.rows('SELECT to_regclass($1) IS NOT NULL', [CAPTURE]);
    if (exists[0]![0] !== 'true' && exists[0]![0] !== 't') return null;
    s.known.set(CAPTURE, true);
  }
  return (await s.rows(`SELECT acked FROM ${CAPTURE} WHERE table_name = $1`, [table]))[0]?.[0] ?? null;
}

/** Now: every transaction that commits from here on sorts after it. */
export async function currentPosition(s: PgSession): Promise<string> {
  const lsn = (await s.rows('SELECT pg_current_wal_insert_lsn()::text'))[0]![0]!;
  return position(parseLsn(lsn), 0);
}

/**
 * Records `upTo` as saved for this table. Returns the commit LSN of the
 * slowest table's position, the furthest the slot may now be moved (null when
 * nothing changed): transactions that ended before it are confirmed; that
 * transaction itself stays (a position inside it may not cover all of it) and
 * its changes up to the position are skipped when read again.
 */
export async function saveAcked(s: PgSession, t: TableRef, upTo: string): Promise<Lsn | null> {
  const q = await qualified(s, t);
  const acked = await ackedPosition(s, key(q));
  if (acked === null || upTo <= acked) return null;
  await s.run(`UPDATE ${CAPTURE} SET acked = $2 WHERE table_name = $1`, [key(q), upTo]);
  return slowestAcked(s);
}

/** The commit LSN of the slowest captured table's saved position: the slot may move up to it. */
export async function slowestAcked(s: PgSession): Promise<Lsn | null> {
  const min = (await s.rows(`SELECT min(acked) FROM ${CAPTURE}`))[0]?.[0];
  return min ? positionLsn(min) : null;
}

/**
 * Moves the slot to `target` through the SQL interface, when no stream of this
 * process holds it (a stream is told instead, see stream.ts).
 */
export async function advanceSlot(s: PgSession, names: CaptureNames, target: Lsn): Promise<void> {
  const slot = await s.rows(
    'SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1',
    [names.slot],
  );
  const confirmed = slot[0]?.[0];
  if (!confirmed || target <= parseLsn(confirmed)) return;
  const flushed = parseLsn((await s.rows('SELECT pg_current_wal_flush_lsn()::text'))[0]![0]!);
  const to = target < flushed ? target : flushed;
  if (to <= parseLsn(confirmed)) return;
  await slotBusyRetry(() =>
    s.run('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [names.slot, formatLsn(to)]),
  );
}

/** How much log the server keeps for the slot (null when there is no slot). */
export async function slotLag(
  s: PgSession,
  names: CaptureNames,
): Promise<{ holder: string; behindBytes: number; active: boolean } | null> {
  const r = await s.rows(
    `SELECT active::text, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text
       FROM pg_replication_slots WHERE slot_name = $1`,
    [names.slot],
  );
  if (r.length === 0) return null;
  return { holder: names.slot, behindBytes: Number(r[0]![1] ?? 0), active: r[0]![0] === 'true' };
}

/**
 * A slot serves one session at a time; another (a stream that is closing) may
 * hold it for a moment: try again.
 */
export async function slotBusyRetry<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if ((err as { code?: string }).code !== '55006' || attempt >= 100) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
