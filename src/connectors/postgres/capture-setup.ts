/**
 * Making and removing what capture needs in a PostgreSQL database: the
 * publication and logical slot (one per database, `tandem_<database>`), the
 * `_tandem.capture` table of saved positions; and the checks `validate` runs
 * before any of it is made, each with the statement or setting that fixes it.
 */
import { TandemError } from '../../core/errors.js';
import type { Lsn } from './pgoutput.js';
import type { PgSession } from './session.js';
import {
  ackedPosition,
  CAPTURE,
  type CaptureNames,
  currentPosition,
  key,
  qualified,
  slotBusyRetry,
  slowestAcked,
} from './slot.js';
import { qi, TANDEM_SCHEMA, type TableRef } from './sql.js';

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

/** Returns how far the slot may now move (the slowest remaining table), or null. */
export async function removeCapture(s: PgSession, t: TableRef, names: CaptureNames): Promise<Lsn | null> {
  const q = await qualified(s, t);
  const has = await s.rows(
    'SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
    [names.publication, q.schema, q.name],
  );
  if (has.length > 0)
    await s.run(`ALTER PUBLICATION ${qi(names.publication)} DROP TABLE ${qi(q.schema)}.${qi(q.name)}`);
  if ((await ackedPosition(s, key(q))) !== null) {
    await s.run(`DELETE FROM ${CAPTURE} WHERE table_name = $1`, [key(q)]);
    return slowestAcked(s);
  }
  return null;
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
