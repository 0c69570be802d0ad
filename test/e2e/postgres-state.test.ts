/**
 * `state: postgres://…` through the real CLI: two SQLite files synced with
 * tandem's state kept in PostgreSQL. The same scenario runs with the default
 * SQLite state alongside, and every pass, `status --json` and `errors --json`
 * must report the same; the state is in the `tandem_state` schema (no state
 * file is made), a pass after the last writes nothing, and `teardown`
 * removes the sync's state from PostgreSQL. `tandem run` keeps syncing
 * with it and stops cleanly.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pgDriver from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createPgDatabase, type PgDatabase } from '../support/pg-database.js';
import { errorsJson, runOnce, type StatusJson, statusJson, writes } from './ext-helpers.js';
import { eventually, sorConfig, type Workspace, workspace } from './harness.js';

const { Client } = pgDriver;

let pgState: Workspace;
let sqliteState: Workspace;
let pg: PgDatabase;

function setUp(ws: Workspace): void {
  ws.exec(
    'app.db',
    'CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, status TEXT)',
  );
  ws.exec(
    'crm.db',
    'CREATE TABLE contacts (id INTEGER PRIMARY KEY, app_id INTEGER UNIQUE, email TEXT, full_name TEXT, state TEXT)',
  );
}

/** The same change on both workspaces. */
function both(db: string, sql: string): void {
  for (const ws of [pgState, sqliteState]) ws.exec(db, sql);
}

beforeEach(async () => {
  pg = await createPgDatabase();
  pgState = workspace('tandem-e2e-pgstate-');
  sqliteState = workspace('tandem-e2e-sqlitestate-');
  for (const ws of [pgState, sqliteState]) setUp(ws);
  pgState.writeConfig(sorConfig().replace('version: 1\n', `version: 1\nstate: "${pg.url}"\n`));
  sqliteState.writeConfig(sorConfig());
});

afterEach(async () => {
  pgState.cleanup();
  sqliteState.cleanup();
  await pg.drop();
});

/** What `status --json` says that does not depend on when the pass ran. */
function timeless(s: StatusJson) {
  return s.syncs.map(({ last_pass_at, lag_ms, ...rest }) => ({
    ...rest,
    ran: typeof last_pass_at === 'string',
  }));
}

/** `errors --json` without the times. */
const errorsOf = (ws: Workspace) => errorsJson(ws).map(({ first_seen, last_seen, ...rest }) => rest);

const crm = (ws: Workspace) =>
  ws.all('crm.db', 'SELECT app_id, email, full_name, state FROM contacts ORDER BY app_id, email');
const app = (ws: Workspace) => ws.all('app.db', 'SELECT id, email, name, status FROM customers ORDER BY id');

/** One statement from the server's own database (a database cannot close itself to connections). */
async function asAdmin(sql: string): Promise<void> {
  const admin = new Client({ connectionString: inject('pgUrl') });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

async function stateRows(table: string): Promise<number> {
  const r = await pg.app.query(`SELECT count(*)::int AS n FROM tandem_state.${table}`);
  return r.rows[0].n;
}

describe('state: postgres://', () => {
  it('syncs creates, updates and deletes across, reporting as with SQLite state; a pass after writes nothing', async () => {
    both(
      'app.db',
      "INSERT INTO customers (email, name, status) VALUES ('ann@x.com', 'Ann', 'active'), ('bob@x.com', 'Bob', 'inactive')",
    );
    both('crm.db', "INSERT INTO contacts (email, full_name, state) VALUES ('cy@x.com', 'Cy', 'A')");
    // No email: the app refuses it (NOT NULL), so it is held in quarantine (exit 4).
    both('crm.db', "INSERT INTO contacts (email, full_name, state) VALUES (NULL, 'Nobody', 'I')");

    const first = runOnce(pgState, 4).sync();
    expect(first).toEqual(runOnce(sqliteState, 4).sync());
    expect(first.created).toEqual({ left: 1, right: 2 });
    expect(first.quarantined).toBe(1);
    expect(crm(pgState)).toEqual(crm(sqliteState));
    expect(app(pgState)).toEqual([
      { id: 1, email: 'ann@x.com', name: 'Ann', status: 'active' },
      { id: 2, email: 'bob@x.com', name: 'Bob', status: 'inactive' },
      { id: 3, email: 'cy@x.com', name: 'Cy', status: 'active' },
    ]);
    expect(await stateRows('links')).toBe(3);
    expect(await stateRows('quarantine')).toBe(1);
    expect(existsSync(join(pgState.dir, '.tandem'))).toBe(false);

    // An update on each side and a delete in the CRM.
    both('app.db', "UPDATE customers SET name = 'Ann B' WHERE id = 1");
    both('crm.db', "UPDATE contacts SET state = 'A' WHERE app_id = 2");
    both('crm.db', 'DELETE FROM contacts WHERE app_id = 3');
    const second = runOnce(pgState, 4).sync();
    expect(second).toEqual(runOnce(sqliteState, 4).sync());
    expect(second.updated).toEqual({ left: 1, right: 1 });
    expect(second.deleted).toEqual({ left: 1, right: 0 });
    expect(app(pgState)).toEqual([
      { id: 1, email: 'ann@x.com', name: 'Ann B', status: 'active' },
      { id: 2, email: 'bob@x.com', name: 'Bob', status: 'active' },
    ]);
    expect(crm(pgState)).toEqual(crm(sqliteState));
    expect(await stateRows('links')).toBe(2);

    const status = statusJson(pgState);
    expect(timeless(status)).toEqual(timeless(statusJson(sqliteState)));
    expect(status.syncs[0]).toMatchObject({ name: 'customers', state: 'ok', linked: 2, quarantined: 1 });
    expect(errorsOf(pgState)).toEqual(errorsOf(sqliteState));

    // Nothing echoes back, and nothing is left to do.
    const third = runOnce(pgState, 4).sync();
    expect(writes(third)).toBe(0);
    expect(third).toEqual(runOnce(sqliteState, 4).sync());

    // Teardown removes the sync's state from PostgreSQL, and leaves the schema.
    const down = pgState.tandem('teardown');
    expect(down.code, down.stderr).toBe(0);
    expect(await stateRows('links')).toBe(0);
    expect(await stateRows('quarantine')).toBe(0);
    expect(await stateRows('history')).toBe(0);
  });

  it('`tandem run` keeps syncing with its state in PostgreSQL, and stops cleanly on SIGTERM', async () => {
    pgState.exec(
      'app.db',
      "INSERT INTO customers (email, name, status) VALUES ('ann@x.com', 'Ann', 'active')",
    );
    const run = pgState.startRun();
    try {
      await eventually(() => crm(pgState).length === 1, 10_000);
      pgState.exec('app.db', "UPDATE customers SET name = 'Ann live' WHERE id = 1");
      pgState.exec(
        'crm.db',
        "INSERT INTO contacts (email, full_name, state) VALUES ('dee@x.com', 'Dee', 'I')",
      );
      await eventually(
        () => crm(pgState)[0]?.full_name === 'Ann live' && app(pgState).some((r) => r.email === 'dee@x.com'),
        10_000,
      );
    } finally {
      const r = await run.stop();
      expect(r.code, r.stderr).toBe(0);
    }
    expect(await stateRows('links')).toBe(2);
    expect(writes(runOnce(pgState).sync())).toBe(0);
  });

  it('`tandem run` waits out a state database it cannot reach, then catches up', async () => {
    pgState.exec(
      'app.db',
      "INSERT INTO customers (email, name, status) VALUES ('ann@x.com', 'Ann', 'active')",
    );
    const run = pgState.startRun();
    try {
      await eventually(() => crm(pgState).length === 1, 10_000);
      // The state database refuses connections, and the store's own is cut.
      await asAdmin(`ALTER DATABASE ${pg.name} ALLOW_CONNECTIONS false`);
      await pg.app.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'tandem state'",
        [pg.name],
      );
      pgState.exec('app.db', "UPDATE customers SET name = 'Ann later' WHERE id = 1");
      await new Promise((r) => setTimeout(r, 700));
      // Without its state, nothing is written.
      expect(crm(pgState)[0]?.full_name).toBe('Ann');
      await asAdmin(`ALTER DATABASE ${pg.name} ALLOW_CONNECTIONS true`);
      await eventually(() => crm(pgState)[0]?.full_name === 'Ann later', 10_000);
    } finally {
      const r = await run.stop();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('CONNECT_FAILED');
    }
    expect(writes(runOnce(pgState).sync())).toBe(0);
  });

  it('a state in PostgreSQL written by a newer tandem stops `run` and `status` with STATE_VERSION', async () => {
    expect(pgState.tandem('status').code).toBe(0);
    await pg.app.query('INSERT INTO tandem_state.migrations (version) VALUES (999)');
    for (const args of [['run', '--once'], ['status']]) {
      const r = pgState.tandem(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('[STATE_VERSION]');
      expect(r.stderr).toContain('upgrade tandem');
    }
  });

  it('a state server that cannot be reached is exit 3 with the fix, and no password printed', () => {
    const url = pg.url.replace(/\/\/[^@/]*@/, '//tandem:hunter2@').replace(/:\d+\//, ':1/');
    pgState.writeConfig(sorConfig().replace('version: 1\n', `version: 1\nstate: "${url}"\n`));
    const r = pgState.tandem('status');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('[CONNECT_FAILED]');
    expect(r.stderr).toContain('tandem:***@');
    expect(r.stderr).not.toContain('hunter2');
  });
});
