/**
 * Versioned schema of the PostgreSQL state store, and bringing a schema up to
 * date on open. Append a migration; never edit one that has shipped. The
 * `migrations` table of the state's schema records how far it has come; a
 * schema written by a newer tandem is refused (STATE_VERSION), as the SQLite
 * store refuses a newer file.
 *
 * The same tables as the SQLite store (sqlite-migrations.ts), with the same
 * values: times stay the text the engine gave, bases and details the same
 * JSON text. Keys compare and sort byte by byte (COLLATE "C"), as in SQLite,
 * whatever the database's own collation.
 */
import { TandemError } from '../core/errors.js';
import { lockKeys } from './postgres-lock.js';
import type { Query } from './postgres-session.js';

/** Migration `v` (0-based) for the schema named `s` (a plain name, see postgres-url.ts). */
export const MIGRATIONS: ((s: string) => string)[] = [
  (s) => `
  CREATE TABLE ${s}.links (
    id bigserial PRIMARY KEY,
    sync text COLLATE "C" NOT NULL,
    identity text COLLATE "C" NOT NULL,
    left_key text COLLATE "C",
    right_key text COLLATE "C",
    base text NOT NULL,
    left_at text,
    right_at text,
    left_seen bigint NOT NULL DEFAULT 0,
    right_seen bigint NOT NULL DEFAULT 0,
    -- Checked at commit: a batch may move an identity from one link to another (SQLite's order).
    UNIQUE (sync, identity) DEFERRABLE INITIALLY DEFERRED
  ) WITH (fillfactor = 85);
  CREATE INDEX links_left ON ${s}.links (sync, left_key);
  CREATE INDEX links_right ON ${s}.links (sync, right_key);
  CREATE TABLE ${s}.detached (
    sync text COLLATE "C" NOT NULL, side text NOT NULL, key text COLLATE "C" NOT NULL,
    identity text COLLATE "C" NOT NULL,
    PRIMARY KEY (sync, side, key)
  );
  CREATE TABLE ${s}.intents (
    token text COLLATE "C" PRIMARY KEY, sync text COLLATE "C" NOT NULL,
    created_at text COLLATE "C" NOT NULL, body text NOT NULL
  );
  CREATE TABLE ${s}.cursors (
    sync text COLLATE "C" NOT NULL, side text NOT NULL, position text NOT NULL,
    PRIMARY KEY (sync, side)
  );
  CREATE TABLE ${s}.quarantine (
    id bigserial PRIMARY KEY,
    sync text COLLATE "C" NOT NULL, side text NOT NULL, key text COLLATE "C", identity text COLLATE "C",
    record_side text NOT NULL, record_key text COLLATE "C" NOT NULL,
    reason text NOT NULL, message text NOT NULL, detail text,
    first_seen text NOT NULL, last_seen text NOT NULL,
    UNIQUE (sync, record_side, record_key)
  );
  CREATE TABLE ${s}.retry (
    sync text COLLATE "C" NOT NULL, side text NOT NULL, key text COLLATE "C" NOT NULL,
    PRIMARY KEY (sync, side, key)
  );
  CREATE TABLE ${s}.history (
    id bigserial PRIMARY KEY,
    sync text COLLATE "C" NOT NULL, identity text COLLATE "C" NOT NULL, at text NOT NULL,
    side text NOT NULL, action text NOT NULL, detail text
  );
  CREATE INDEX history_identity ON ${s}.history (sync, identity, id);
  CREATE TABLE ${s}.sync_status (
    sync text COLLATE "C" PRIMARY KEY,
    state text NOT NULL DEFAULT 'ok',
    reason text,
    last_pass_at text,
    last_pass text,
    guard text,
    deletes_confirmed boolean NOT NULL DEFAULT false,
    full_scan_due boolean NOT NULL DEFAULT false,
    pass_seq bigint NOT NULL DEFAULT 0,
    lag_ms bigint
  );
  `,
  // 2: the state's own id, which the tables it captures are claimed under (Connector.claimCapture).
  (s) => `
  CREATE TABLE ${s}.meta (key text PRIMARY KEY, value text NOT NULL);
  INSERT INTO ${s}.meta (key, value) VALUES ('instance', replace(gen_random_uuid()::text, '-', ''));
  `,
];

/**
 * Makes the schema and its tables where missing and applies the migrations
 * not yet applied, in one transaction under an advisory lock on the schema,
 * so two processes opening a new state at once do not both make it.
 * `description` names the store in messages.
 */
export async function migrate(q: Query, schema: string, description: string): Promise<void> {
  const [cls, key] = lockKeys(schema);
  await q.run(`SELECT pg_advisory_xact_lock(${cls}, ${key})`);
  const [known] = await q.rows<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
    `${schema}.migrations`,
  ]);
  let version = 0;
  if (known?.t) {
    const [row] = await q.rows<{ v: number }>(
      `SELECT coalesce(max(version), 0)::bigint AS v FROM ${schema}.migrations`,
    );
    version = row!.v;
  } else {
    // CREATE SCHEMA IF NOT EXISTS would ask for CREATE on the database even when the schema exists.
    const ns = await q.rows('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (ns.length === 0) await q.run(`CREATE SCHEMA ${schema}`);
    await q.run(
      `CREATE TABLE ${schema}.migrations (
         version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
  }
  if (version > MIGRATIONS.length) {
    throw new TandemError(
      'STATE_VERSION',
      `the state store ${description} has schema version ${version}, newer than this tandem knows (${MIGRATIONS.length})`,
      'upgrade tandem, or point `state:` at another schema (?schema=NAME) or database',
    );
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    await q.run(MIGRATIONS[v]!(schema));
    await q.run(`INSERT INTO ${schema}.migrations (version) VALUES ($1)`, [v + 1]);
  }
}

/** A migration refused for want of a right, as an error that says which right. */
export async function rightsError(
  q: Query,
  err: unknown,
  schema: string,
  description: string,
): Promise<unknown> {
  if ((err as { code?: string }).code !== '42501') return err;
  const [who] = await q
    .rows<{ role: string; db: string }>('SELECT current_user AS role, current_database() AS db')
    .catch(() => [{ role: 'the role', db: 'the database' }]);
  return new TandemError(
    'CONNECT_FAILED',
    `the state store ${description} cannot be set up: ${(err as Error).message}`,
    `tandem makes the schema ${schema} and its tables once, and needs that right the first time: ` +
      `GRANT CREATE ON DATABASE ${who!.db} TO ${who!.role}, or make the schema for it: ` +
      `CREATE SCHEMA ${schema} AUTHORIZATION ${who!.role}`,
    'state',
  );
}
