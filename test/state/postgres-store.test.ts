/**
 * The PostgreSQL state store through the state store conformance suite, each
 * test in a database of its own on the private server, plus what only it
 * has: the schema it keeps its tables in (`?schema=`), the rights it needs to
 * make them, no password in what it prints, and a connection that breaks
 * while it is open.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { TandemError } from '../../src/core/errors.js';
import { openStateStore } from '../../src/engine/runtime.js';
import { PostgresStateStore } from '../../src/state/postgres-store.js';
import { emptyCommit, type Link, type StateStore } from '../../src/state/store.js';
import { createPgDatabase, type PgDatabase } from '../support/pg-database.js';
import { storeConformance } from './store-conformance.js';

storeConformance('postgres', {
  async location() {
    const db = await createPgDatabase();
    return {
      open: () => PostgresStateStore.open(db.url),
      async makeNewer() {
        await db.app.query('INSERT INTO tandem_state.migrations (version) VALUES (999)');
      },
      cleanup: () => db.drop(),
    };
  },
});

const link = (identity: string): Link => ({
  sync: 's',
  identity,
  leftKey: identity,
  rightKey: identity,
  base: { email: ['sa', 'sa'] },
  leftAt: null,
  rightAt: null,
});

/** `url` with another user (and password) in it. */
const asUser = (url: string, user: string, password?: string) =>
  url.replace(/\/\/[^@/]*@/, `//${user}${password ? `:${password}` : ''}@`);

describe('postgres state store', () => {
  let db: PgDatabase;
  const stores: StateStore[] = [];
  const roles: string[] = [];
  const keep = <T extends StateStore>(s: T) => {
    stores.push(s);
    return s;
  };
  beforeEach(async () => {
    db = await createPgDatabase();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await db.drop();
    if (roles.length === 0) return;
    const admin = new pg.Client({ connectionString: inject('pgUrl') });
    await admin.connect();
    for (const r of roles.splice(0)) await admin.query(`DROP ROLE IF EXISTS ${r}`);
    await admin.end();
  });

  async function role(password?: string): Promise<string> {
    const name = `tandem_r_${process.pid}_${roles.length}`;
    await db.app.query(`CREATE ROLE ${name} LOGIN${password ? ` PASSWORD '${password}'` : ''}`);
    roles.push(name);
    return name;
  }

  it('state: postgres:// and postgresql:// open it, in schema tandem_state, described without the password', async () => {
    const user = await role('s3cret-pw');
    await db.app.query(`GRANT CREATE ON DATABASE ${db.name} TO ${user}`);
    const url = asUser(db.url, user, 's3cret-pw');
    const a = keep(await openStateStore(url, true));
    expect(a).toBeInstanceOf(PostgresStateStore);
    expect(a.description).not.toContain('s3cret-pw');
    expect(a.description).toBe(url.replace('s3cret-pw', '***'));
    const b = keep(await openStateStore(url.replace('postgres://', 'postgresql://')));
    expect(b).toBeInstanceOf(PostgresStateStore);
    await a.commit({ ...emptyCommit('s'), upsertLinks: [link('x')] });
    expect(await b.countLinks('s')).toBe(1);
    const tables = await db.app.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'tandem_state' ORDER BY 1",
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual([
      'cursors',
      'detached',
      'history',
      'intents',
      'links',
      'meta',
      'migrations',
      'quarantine',
      'retry',
      'sync_status',
    ]);
    const owner = await db.app.query(
      "SELECT nspowner::regrole::text AS o FROM pg_namespace WHERE nspname = 'tandem_state'",
    );
    expect(owner.rows[0].o).toBe(user);
  });

  it('?schema=NAME keeps a state of its own in that schema', async () => {
    const main = keep(await PostgresStateStore.open(db.url));
    const other = keep(await PostgresStateStore.open(`${db.url}?schema=tandem_other&connect_timeout=5`));
    expect(other.description).toMatch(/\?schema=tandem_other$/);
    await other.commit({ ...emptyCommit('s'), upsertLinks: [link('x'), link('y')], cursors: { left: 'L' } });
    expect(await other.countLinks('s')).toBe(2);
    expect(await main.countLinks('s')).toBe(0);
    expect(await main.cursor('s', 'left')).toBeNull();
    const n = await db.app.query('SELECT count(*)::int AS n FROM tandem_other.links');
    expect(n.rows[0].n).toBe(2);
  });

  it('a schema name that is not a plain name is a config error at `state`', async () => {
    const opened = PostgresStateStore.open(`${db.url}?schema=Bad-Name`);
    await expect(opened).rejects.toBeInstanceOf(TandemError);
    await expect(opened).rejects.toMatchObject({ code: 'CONFIG_INVALID', path: 'state' });
  });

  it('a role that may not make the schema is told which right to give; a schema made for it is used', async () => {
    const user = await role();
    const url = asUser(db.url, user);
    const refused = PostgresStateStore.open(url);
    await expect(refused).rejects.toBeInstanceOf(TandemError);
    await expect(refused).rejects.toMatchObject({
      code: 'CONNECT_FAILED',
      message: expect.stringContaining('permission denied'),
      fix: expect.stringContaining(`GRANT CREATE ON DATABASE ${db.name} TO ${user}`),
    });
    await db.app.query(`CREATE SCHEMA tandem_state AUTHORIZATION ${user}`);
    const store = keep(await PostgresStateStore.open(url));
    await store.commit({ ...emptyCommit('s'), upsertLinks: [link('x')] });
    expect(await store.countLinks('s')).toBe(1);
  });

  it('a server that cannot be reached is CONNECT_FAILED, with no password in the message', async () => {
    const port = new URL(db.url).port;
    const url = asUser(db.url, 'someone', 'hunter2').replace(`:${port}/`, ':1/');
    const opened = PostgresStateStore.open(url);
    await expect(opened).rejects.toBeInstanceOf(TandemError);
    const err = (await opened.catch((e) => e)) as TandemError;
    expect(err.code).toBe('CONNECT_FAILED');
    expect(err.path).toBe('state');
    expect(err.format()).not.toContain('hunter2');
    expect(err.message).toContain('someone:***@');
  });

  it('goes on after its connection is cut (a server restart): the next call connects again', async () => {
    const store = keep(await PostgresStateStore.open(db.url));
    await store.commit({ ...emptyCommit('s'), upsertLinks: [link('x')] });
    await db.app.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tandem state' AND datname = $1",
      [db.name],
    );
    // The call in flight when the connection went may fail; the ones after it are served.
    await store.countLinks('s').catch(() => {});
    await store.commit({ ...emptyCommit('s'), upsertLinks: [link('y')] });
    expect(await store.countLinks('s')).toBe(2);
  });

  it('a key PostgreSQL text cannot hold (U+0000) fails its batch whole', async () => {
    const store = keep(await PostgresStateStore.open(db.url));
    const bad = store.commit({
      ...emptyCommit('s'),
      upsertLinks: [link('ok'), { ...link('nul'), leftKey: 'a\u0000b' }],
      cursors: { left: 'L' },
    });
    await expect(bad).rejects.toThrow();
    expect(await store.countLinks('s')).toBe(0);
    expect(await store.cursor('s', 'left')).toBeNull();
  });

  it('closing ends its connection', async () => {
    const store = await PostgresStateStore.open(db.url);
    const count = async () =>
      (
        await db.app.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tandem state' AND datname = $1",
          [db.name],
        )
      ).rows[0].n as number;
    expect(await count()).toBe(1);
    await store.close();
    for (let i = 0; i < 50 && (await count()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await count()).toBe(0);
  });
});
