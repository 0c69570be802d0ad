/**
 * Change capture from PostgreSQL's write-ahead log: logical decoding with the
 * built-in `pgoutput` plugin, one slot and one publication per database,
 * created by tandem and dropped by `tandem teardown`. No trigger touches the
 * user's tables.
 *
 * The slot is read through its SQL interface (`peek`: nothing is consumed by
 * reading), and only moved on (`pg_replication_slot_advance`) once the
 * engine has saved the batch the changes went into: a crash at any moment
 * reads the same changes again. Several tables may share the slot; each
 * table's own acknowledged position is kept in `_tandem.capture`, and the
 * slot only moves as far as the slowest of them.
 *
 * Positions are `<commit LSN, 16 hex digits>.<change number in that
 * transaction, 10 digits>`: pgoutput sends transactions in commit order, so
 * these sort in log order as strings. `<commit LSN>.9999999999` stands for
 * "that whole transaction" (one with nothing for this table).
 *
 * tandem's own writes come from a session tagged with a replication origin
 * named `tandem_w_…` (see session.ts); their transactions carry an Origin
 * message and are skipped here. Base fingerprints remain the second line of
 * defence where the role may not use origins.
 */
import { TandemError } from '../../core/errors.js';
import type { ChangeEvent } from '../../core/types.js';
import type { ChangeBatch, TableSpec } from '../connector.js';
import { toCanonical } from './convert.js';
import { type Lsn, type PgoutputMessage, parseLsn, parsePgoutput, type TupleValue } from './pgoutput.js';
import type { PgSession } from './session.js';
import { kindOf, qi, TANDEM_SCHEMA, type TableRef } from './sql.js';

/** Origins of tandem's writing sessions start with this (session.ts). */
export const OWN_ORIGIN_PREFIX = 'tandem_w_';
const CAPTURE = `${TANDEM_SCHEMA}.capture`;
const WHOLE_TXN = '9999999999';

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

function positionLsn(pos: string): Lsn {
  return BigInt(`0x${pos.slice(0, 16)}`);
}

/** The table as the catalog names it, schema included (what pgoutput's Relation message says). */
async function qualified(s: PgSession, t: TableRef): Promise<{ schema: string; name: string }> {
  // A connection's current schema does not change under it (tandem never sets search_path).
  const schema =
    t.schema ??
    (await s.fact('current_schema', async () => (await s.rows('SELECT current_schema()'))[0]![0]!));
  return { schema, name: t.name };
}

const key = (q: { schema: string; name: string }) => `${q.schema}.${q.name}`;

// ------------------------------------------------------------ install / remove

export async function installCapture(s: PgSession, t: TableRef, names: CaptureNames): Promise<void> {
  const wal = (await s.rows('SHOW wal_level'))[0]![0];
  if (wal !== 'logical') {
    throw new TandemError(
      'CAPTURE_UNAVAILABLE',
      `PostgreSQL has wal_level = ${wal}; change capture needs logical decoding`,
      'Set `wal_level = logical` in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart the server.',
    );
  }
  const q = await qualified(s, t);
  await s.run(`CREATE SCHEMA IF NOT EXISTS ${TANDEM_SCHEMA}`);
  await s.run(`CREATE TABLE IF NOT EXISTS ${CAPTURE} (table_name text PRIMARY KEY, acked text NOT NULL)`);
  await rights(s, async () => {
    const pub = await s.rows('SELECT 1 FROM pg_publication WHERE pubname = $1', [names.publication]);
    if (pub.length === 0) {
      await s.run(`CREATE PUBLICATION ${qi(names.publication)} FOR TABLE ${qi(q.schema)}.${qi(q.name)}`);
    } else {
      const has = await s.rows(
        'SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
        [names.publication, q.schema, q.name],
      );
      if (has.length === 0)
        await s.run(`ALTER PUBLICATION ${qi(names.publication)} ADD TABLE ${qi(q.schema)}.${qi(q.name)}`);
    }
    const slot = await s.rows('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [names.slot]);
    if (slot.length === 0)
      await s.run("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [names.slot]);
  });
  // Acknowledged up to now: what the slot holds from before this table joined is not its business.
  await s.run(
    `INSERT INTO ${CAPTURE} (table_name, acked) VALUES ($1, $2) ON CONFLICT (table_name) DO NOTHING`,
    [key(q), await currentPosition(s)],
  );
}

/** Creating a publication or slot needs rights a role may lack: say which, and how to grant them. */
async function rights(s: PgSession, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== '42501' && code !== '55000' && code !== '53400') throw err;
    const role = (await s.rows('SELECT current_user'))[0]![0]!;
    throw new TandemError(
      'CAPTURE_UNAVAILABLE',
      `Cannot set up change capture: ${(err as Error).message}`,
      code === '42501'
        ? `Give the role the REPLICATION right and make it the tables' owner (ALTER ROLE ${qi(role)} REPLICATION; ALTER TABLE … OWNER TO ${qi(role)}); \`tandem validate\` names what is missing.`
        : 'Raise max_replication_slots / max_wal_senders in postgresql.conf (restart needed), or drop unused slots: SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active;',
    );
  }
}

/**
 * Whether capture can be set up here, checked before anything is made: the
 * server setting, the role's rights, a free slot. The first problem found is
 * thrown as CAPTURE_UNAVAILABLE with the statement or setting that fixes it.
 * Returns how tandem's own writes will be told apart.
 */
export async function preflight(s: PgSession, t: TableRef, names: CaptureNames): Promise<string> {
  const q = await qualified(s, t);
  // tandem's schema needs CREATE on the database, unless it is there already and usable.
  const [row] = await s.rows(
    `SELECT current_setting('wal_level'), current_user,
            (r.rolsuper OR r.rolreplication)::text,
            (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1)::text,
            (current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_replication_slots))::text,
            coalesce((SELECT pg_has_role(c.relowner, 'MEMBER') FROM pg_class c
                      JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = $2 AND c.relname = $3), false)::text,
            (has_database_privilege(current_database(), 'CREATE')
             OR coalesce((SELECT has_schema_privilege(n.oid, 'CREATE') FROM pg_namespace n WHERE n.nspname = $4), false))::text,
            (r.rolsuper OR has_function_privilege('pg_replication_origin_session_setup(text)', 'EXECUTE'))::text
     FROM pg_roles r WHERE r.rolname = current_user`,
    [names.slot, q.schema, q.name, TANDEM_SCHEMA],
  );
  const [wal, role, replication, slotExists, freeSlots, owner, create, origins] = row!;
  const fail = (message: string, fix: string) => {
    throw new TandemError('CAPTURE_UNAVAILABLE', message, fix);
  };
  if (wal !== 'logical')
    fail(
      `PostgreSQL has wal_level = ${wal}; change capture needs logical decoding`,
      'Set `wal_level = logical` in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart the server.',
    );
  if (replication !== 'true')
    fail(
      `Role ${role} may not create a replication slot`,
      `Run ALTER ROLE ${qi(role!)} REPLICATION; (as a superuser), or connect as a role that has it.`,
    );
  if (slotExists === '0' && Number(freeSlots) <= 0)
    fail(
      'No replication slot is free on this server (max_replication_slots are all taken)',
      'Raise max_replication_slots in postgresql.conf and restart, or drop an unused slot: SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active;',
    );
  if (owner !== 'true')
    fail(
      `Role ${role} does not own table ${q.schema}.${q.name}, so it cannot add it to tandem's publication`,
      `Run ALTER TABLE ${qi(q.schema)}.${qi(q.name)} OWNER TO ${qi(role!)}; or connect as the table's owner.`,
    );
  if (create !== 'true')
    fail(
      `Role ${role} may not create tandem's schema ${TANDEM_SCHEMA} in this database`,
      `Run GRANT CREATE ON DATABASE ${qi((await s.rows('SELECT current_database()'))[0]![0]!)} TO ${qi(role!)};`,
    );
  return origins === 'true'
    ? "tandem's own writes are tagged with a replication origin and skipped at capture"
    : "tandem's own writes come back through capture untagged (the role may not use replication origins) and are recognised by their fingerprints";
}

export async function captureInstalled(s: PgSession, t: TableRef, names: CaptureNames): Promise<boolean> {
  const q = await qualified(s, t);
  const rows = await s.rows(
    `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1)
          + (SELECT count(*) FROM pg_publication_tables WHERE pubname = $2 AND schemaname = $3 AND tablename = $4)`,
    [names.slot, names.publication, q.schema, q.name],
  );
  if (Number(rows[0]![0]) !== 2) return false;
  return (await ackedPosition(s, key(q))) !== null;
}

async function ackedPosition(s: PgSession, table: string): Promise<string | null> {
  // Once seen, tandem's capture table is taken to stay (teardown empties it, never drops it).
  if (s.known.get(CAPTURE) !== true) {
    const exists = await s.rows('SELECT to_regclass($1) IS NOT NULL', [CAPTURE]);
    if (exists[0]![0] !== 'true' && exists[0]![0] !== 't') return null;
    s.known.set(CAPTURE, true);
  }
  return (await s.rows(`SELECT acked FROM ${CAPTURE} WHERE table_name = $1`, [table]))[0]?.[0] ?? null;
}

export async function removeCapture(s: PgSession, t: TableRef, names: CaptureNames): Promise<void> {
  const q = await qualified(s, t);
  const has = await s.rows(
    'SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
    [names.publication, q.schema, q.name],
  );
  if (has.length > 0)
    await s.run(`ALTER PUBLICATION ${qi(names.publication)} DROP TABLE ${qi(q.schema)}.${qi(q.name)}`);
  if ((await ackedPosition(s, key(q))) !== null) {
    await s.run(`DELETE FROM ${CAPTURE} WHERE table_name = $1`, [key(q)]);
    await advanceSlot(s, names);
  }
}

/** Drops the slot and publication once no table is captured any more. */
export async function teardown(s: PgSession, names: CaptureNames): Promise<void> {
  const exists = await s.rows('SELECT to_regclass($1) IS NOT NULL', [CAPTURE]);
  if (exists[0]![0] === 'true' || exists[0]![0] === 't') {
    if ((await s.rows(`SELECT 1 FROM ${CAPTURE} LIMIT 1`)).length > 0) return;
  }
  await s.run(`DROP PUBLICATION IF EXISTS ${qi(names.publication)}`);
  const slot = await s.rows('SELECT active::text FROM pg_replication_slots WHERE slot_name = $1', [
    names.slot,
  ]);
  if (slot.length > 0) await slotBusyRetry(() => s.run('SELECT pg_drop_replication_slot($1)', [names.slot]));
}

// ------------------------------------------------------------ positions

/** Now: every transaction that commits from here on sorts after it. */
export async function currentPosition(s: PgSession): Promise<string> {
  const lsn = (await s.rows('SELECT pg_current_wal_insert_lsn()::text'))[0]![0]!;
  return position(parseLsn(lsn), 0);
}

/** Records `upTo` as seen for this table, and moves the slot as far as every table has seen. */
export async function pruneChanges(
  s: PgSession,
  slotSession: PgSession,
  t: TableRef,
  names: CaptureNames,
  upTo: string,
): Promise<void> {
  const q = await qualified(s, t);
  const acked = await ackedPosition(s, key(q));
  if (acked === null || upTo <= acked) return;
  await s.run(`UPDATE ${CAPTURE} SET acked = $2 WHERE table_name = $1`, [key(q), upTo]);
  await advanceSlot(slotSession, names);
}

/**
 * To the commit LSN of the slowest table's position: transactions that ended
 * before it are confirmed; that transaction itself stays (a position inside it
 * may not cover all of it) and its changes up to the position are skipped by
 * readChanges.
 */
async function advanceSlot(s: PgSession, names: CaptureNames): Promise<void> {
  const min = (await s.rows(`SELECT min(acked) FROM ${CAPTURE}`))[0]?.[0];
  if (!min) return;
  const target = positionLsn(min);
  const slot = await s.rows(
    'SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1',
    [names.slot],
  );
  const confirmed = slot[0]?.[0];
  if (!confirmed || target <= parseLsn(confirmed)) return;
  const flushed = parseLsn((await s.rows('SELECT pg_current_wal_flush_lsn()::text'))[0]![0]!);
  // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.min does not take.
  const to = target < flushed ? target : flushed;
  if (to <= parseLsn(confirmed)) return;
  await slotBusyRetry(() =>
    s.run('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [names.slot, lsnText(to)]),
  );
}

/**
 * A slot serves one session at a time. The connector reads and advances it on
 * one connection, so its own calls queue; another session (a second tandem
 * connector on the same database) may hold it for a moment: try again.
 */
async function slotBusyRetry<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if ((err as { code?: string }).code !== '55006' || attempt >= 100) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const lsnText = (lsn: Lsn) => `${(lsn >> 32n).toString(16)}/${(lsn & 0xffffffffn).toString(16)}`;

// ------------------------------------------------------------ reading

interface Relation {
  schema: string;
  name: string;
  columns: { name: string; key: boolean }[];
}

/**
 * Changes of this table after `after` (and after what was acknowledged), at
 * most `limit`, in commit order. Reading consumes nothing.
 */
/** One table's part of the slot, decoded, in log order. */
type Timeline = ({ event: ChangeEvent } | { skip: string })[];

/**
 * The last decoding of the slot for each table, kept between calls: a pass
 * reads a backlog batch by batch, and the slot (advanced only when the pass is
 * saved) would otherwise be decoded from its start for every batch. Positions
 * never change, so a timeline stays true; it is only incomplete at its end,
 * where new transactions arrive, and is decoded again when a read gets there.
 */
export class TimelineCache {
  private readonly byTable = new Map<string, Timeline>();
  get(table: string): Timeline | undefined {
    return this.byTable.get(table);
  }
  set(table: string, timeline: Timeline): void {
    // A huge backlog is not kept whole in memory: it is decoded again instead.
    if (timeline.length > MAX_CACHED) this.byTable.delete(table);
    else this.byTable.set(table, timeline);
  }
  clear(): void {
    this.byTable.clear();
  }
}

const MAX_CACHED = 200_000;

/**
 * Changes of this table after `after` (and after what was acknowledged), at
 * most `limit`, in commit order. Reading consumes nothing.
 */
export async function readChanges(
  s: PgSession,
  t: TableRef,
  spec: TableSpec,
  names: CaptureNames,
  after: string,
  limit: number,
  cache: TimelineCache,
): Promise<ChangeBatch> {
  const q = await qualified(s, t);
  const acked = await ackedPosition(s, key(q));
  if (acked === null) return { changes: [], position: after };
  const floor = acked > after ? acked : after;
  const cacheKey = `${key(q)} ${spec.key}`;
  const cached = cache.get(cacheKey);
  if (cached) {
    const r = walk(cached, floor, after, limit);
    if (!r.exhausted) return r.batch;
  }
  const timeline = decode(await peek(s, names), q, spec);
  cache.set(cacheKey, timeline);
  return walk(timeline, floor, after, limit).batch;
}

/** Up to `limit` events after `floor`; `exhausted` when the timeline ended before the limit. */
function walk(
  timeline: Timeline,
  floor: string,
  after: string,
  limit: number,
): { batch: ChangeBatch; exhausted: boolean } {
  const changes: ChangeEvent[] = [];
  let pos = after;
  for (const e of timeline) {
    if ('skip' in e) {
      // A transaction with nothing for this table: the position may move past it, so the slot can.
      if (e.skip > floor && e.skip > pos && changes.length < limit) pos = e.skip;
      continue;
    }
    if (e.event.position <= floor) continue;
    if (changes.length >= limit) return { batch: { changes, position: pos }, exhausted: false };
    changes.push(e.event);
    pos = e.event.position;
  }
  return { batch: { changes, position: pos }, exhausted: true };
}

/** The slot's messages → this table's events, and the transactions with nothing for it. */
function decode(rows: (string | null)[][], q: { schema: string; name: string }, spec: TableSpec): Timeline {
  const keyKind = kindOf(spec, spec.key);
  const relations = new Map<number, Relation>();
  const timeline: Timeline = [];
  // `relevant`: it holds a change of this table made by someone other than tandem.
  let txn: { lsn: Lsn; at: string; n: number; own: boolean; relevant: boolean } | null = null;
  for (const [hex] of rows) {
    const m: PgoutputMessage = parsePgoutput(Buffer.from(hex!.slice(2), 'hex'));
    switch (m.type) {
      case 'begin':
        txn = { lsn: m.finalLsn, at: m.commitTime.toISOString(), n: 0, own: false, relevant: false };
        break;
      case 'origin':
        if (txn && m.name.startsWith(OWN_ORIGIN_PREFIX)) txn.own = true;
        break;
      case 'relation':
        relations.set(m.relid, { schema: m.schema, name: m.name, columns: m.columns });
        break;
      case 'commit':
        // Nothing in it for this table, or only tandem's own writes.
        if (txn && !txn.relevant) timeline.push({ skip: position(txn.lsn, WHOLE_TXN) });
        txn = null;
        break;
      case 'insert':
      case 'update':
      case 'delete': {
        if (!txn) break;
        const rel = relations.get(m.relid);
        if (!rel || rel.schema !== q.schema || rel.name !== q.name) break;
        for (const [op, keyText] of eventsOf(m, rel, spec.key)) {
          const p = position(txn.lsn, ++txn.n);
          if (txn.own) continue;
          txn.relevant = true;
          if (keyText === null) continue;
          const k = String(toCanonical(keyText, keyKind));
          timeline.push({ event: { key: k, op, at: txn.at, position: p } });
        }
        break;
      }
      default:
        break;
    }
  }
  return timeline;
}

/** Every message the slot holds (nothing is consumed). */
async function peek(s: PgSession, names: CaptureNames): Promise<(string | null)[][]> {
  try {
    return await slotBusyRetry(() =>
      s.rows(
        `SELECT data::text FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL,
           'proto_version', '1', 'publication_names', $2)`,
        [names.slot, names.publication],
      ),
    );
  } catch (err) {
    if ((err as { code?: string }).code !== '42704') throw err;
    throw new TandemError(
      'CAPTURE_UNAVAILABLE',
      `The replication slot ${names.slot} is gone (dropped outside tandem?): changes made since cannot be read from it`,
      'Run `tandem reconcile`: it compares both sides in full and sets capture up again.',
    );
  }
}

/** What a row change means for one key column: an update that moves the key is a delete and an insert. */
function eventsOf(
  m: Extract<PgoutputMessage, { type: 'insert' | 'update' | 'delete' }>,
  rel: Relation,
  keyColumn: string,
): [ChangeEvent['op'], string | null][] {
  const at = rel.columns.findIndex((c) => c.name === keyColumn);
  const text = (tuple: TupleValue[] | null): string | null => {
    const v = tuple?.[at];
    return typeof v === 'string' ? v : null;
  };
  if (at < 0) return [];
  if (m.type === 'insert') return [['insert', text(m.row)]];
  if (m.type === 'delete') return [['delete', text(m.old)]];
  const before = text(m.old);
  const now = text(m.row);
  if (m.old && before !== null && before !== now) {
    return [
      ['delete', before],
      ['insert', now],
    ];
  }
  return [['update', now]];
}
