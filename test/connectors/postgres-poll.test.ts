/**
 * PostgreSQL capture by polling (change_detection: poll, and auto without the
 * rights for logical replication): the shared conformance suite with a
 * connector that polls on `updated_at`, then what only polling has: the
 * overlap window, deletes found by the key scan, the full comparison of a
 * table without `updated_at`, and the choice `auto` makes and explains.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TableSpec } from '../../src/connectors/connector.js';
import { PostgresConnector, type PostgresOptions } from '../../src/connectors/postgres/connector.js';
import { TandemError } from '../../src/core/errors.js';
import type { ChangeEvent } from '../../src/core/types.js';
import { createPgDatabase, type PgDatabase, storedReceipts } from '../support/pg-database.js';
import { createPgRole, type PgRole } from '../support/pg-role.js';
import { connectorConformance } from './conformance.js';

/** `updated_at` set on insert (its default) and on every update (a trigger), as applications keep it. */
const touchTrigger = (table: string): string[] => [
  `CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN NEW.updated_at := now(); RETURN NEW; END $$`,
  `CREATE TRIGGER ${table}_touch BEFORE UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION touch()`,
];

connectorConformance('postgres (polling)', {
  open: async () => {
    const db = await createPgDatabase();
    // Every read may poll, and every poll scans keys: the suite reads right after each change.
    const connector = PostgresConnector.open(db.url, {
      changeDetection: 'poll',
      pollIntervalMs: 0,
      keyScanMs: 0,
    });
    return {
      connector,
      exec: async (sql) => {
        await db.app.query(sql);
      },
      cleanup: async () => {
        await connector.close();
        await db.drop();
      },
      storedReceipts: () => storedReceipts(db.app),
    };
  },
  updatedAt: {
    column: 'updated_at',
    ddl: 'updated_at timestamptz NOT NULL DEFAULT now()',
    after: touchTrigger,
  },
  skips: {
    "capture: the connector's own writes are not captured":
      "polling sees tandem's own writes like anyone's; the engine's base fingerprints make them no-ops (no echo: test/e2e/postgres-poll.test.ts)",
  },
});

interface Fixture {
  db: PgDatabase;
  role?: PgRole;
  connectors: PostgresConnector[];
  open(options: PostgresOptions, url?: string): PostgresConnector;
}

let f: Fixture;

beforeEach(async () => {
  const db = await createPgDatabase();
  await db.app.query(
    'CREATE TABLE items (id bigint PRIMARY KEY, name text, updated_at timestamptz NOT NULL DEFAULT now())',
  );
  for (const sql of touchTrigger('items')) await db.app.query(sql);
  await db.app.query('CREATE TABLE plain (id bigint PRIMARY KEY, name text)');
  f = {
    db,
    connectors: [],
    open(options, url = db.url) {
      const c = PostgresConnector.open(url, options);
      this.connectors.push(c);
      return c;
    },
  };
});

afterEach(async () => {
  for (const c of f.connectors) await c.close();
  await f.db.drop();
  await f.role?.drop();
});

async function specOf(c: PostgresConnector, table: string, updatedAt?: string): Promise<TableSpec> {
  const info = (await c.introspect(table))!;
  return {
    table,
    key: info.primaryKey[0]!,
    columns: info.columns.map((col) => col.name),
    kinds: Object.fromEntries(info.columns.map((col) => [col.name, col.kind])),
    ...(updatedAt ? { updatedAt } : {}),
  };
}

const ops = (events: ChangeEvent[]) => events.map((e) => [e.op, e.key]);

/** Reads the log to its end from `after`. */
async function readAll(c: PostgresConnector, spec: TableSpec, after: string) {
  const events: ChangeEvent[] = [];
  let position = after;
  for (;;) {
    const batch = await c.readChanges(spec, position, 1000);
    events.push(...batch.changes);
    if (batch.changes.length === 0) return { events, position, batch };
    position = batch.position;
  }
}

async function role(replication = false): Promise<PgRole> {
  f.role = await createPgRole(f.db, ['items', 'plain'], replication);
  return f.role;
}

describe('postgres polling', () => {
  it('finds a transaction that commits late with an earlier updated_at (the overlap window), once', async () => {
    // Key scans far apart: only the window can find the late commit.
    const c = f.open({ changeDetection: 'poll', pollIntervalMs: 0, keyScanMs: 3_600_000 });
    await f.db.app.query("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')");
    const spec = await specOf(c, 'items', 'updated_at');
    await c.installCapture(spec);
    let { position } = await readAll(c, spec, await c.currentPosition(spec));

    // A transaction stamps row 1 (updated_at = its start) and stays open...
    const late = new pg.Client({ connectionString: f.db.url });
    await late.connect();
    try {
      await late.query('BEGIN');
      await late.query("UPDATE items SET name = 'late' WHERE id = 1");
      await new Promise((r) => setTimeout(r, 300));
      // ...while a later change is polled, moving the cursor past row 1's updated_at.
      await f.db.app.query("UPDATE items SET name = 'early' WHERE id = 2");
      const first = await readAll(c, spec, position);
      expect(ops(first.events)).toEqual([['update', '2']]);
      position = first.position;
      await late.query('COMMIT');
    } finally {
      await late.end();
    }
    const found = await readAll(c, spec, position);
    expect(ops(found.events)).toEqual([['update', '1']]);
    // Re-read in the next windows, but not reported again.
    const again = await readAll(c, spec, found.position);
    expect(again.events).toEqual([]);
    expect(again.batch.position).toBe(found.position);
  });

  it('finds deletes by the key scan, and rows the window cannot see; a read with nothing new returns nothing', async () => {
    const c = f.open({ changeDetection: 'poll', pollIntervalMs: 0, keyScanMs: 0 });
    await f.db.app.query("INSERT INTO items (id, name) SELECT g, 'x' FROM generate_series(1, 25000) g");
    const spec = await specOf(c, 'items', 'updated_at');
    await c.installCapture(spec);
    const start = await c.currentPosition(spec);
    expect((await readAll(c, spec, start)).events).toEqual([]);
    // Keys on several pages of the scan, the last key included; a row stamped long ago
    // (outside any window) is new all the same.
    await f.db.app.query('DELETE FROM items WHERE id IN (2, 12000, 25000)');
    await f.db.app.query("INSERT INTO items (id, name, updated_at) VALUES (30000, 'old', '2001-01-01')");
    const { events, position } = await readAll(c, spec, start);
    expect(ops(events).sort()).toEqual([
      ['delete', '12000'],
      ['delete', '2'],
      ['delete', '25000'],
      ['insert', '30000'],
    ]);
    expect((await readAll(c, spec, position)).events).toEqual([]);
    // Pruned once saved; the position stays where it was.
    await c.pruneChanges(spec, position);
    expect((await readAll(c, spec, start)).events).toEqual([]);
    expect(await c.currentPosition(spec)).toBe(position);
  });

  it('scans keys on a first poll, then every keyScanMs: a later delete waits for the next scan', async () => {
    const c = f.open({ changeDetection: 'poll', pollIntervalMs: 0, keyScanMs: 1500 });
    await f.db.app.query("INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')");
    const spec = await specOf(c, 'items', 'updated_at');
    await c.installCapture(spec);
    let { position } = await readAll(c, spec, await c.currentPosition(spec));
    await f.db.app.query('DELETE FROM items WHERE id = 2');
    expect((await readAll(c, spec, position)).events).toEqual([]);
    await new Promise((r) => setTimeout(r, 1600));
    const later = await readAll(c, spec, position);
    expect(ops(later.events)).toEqual([['delete', '2']]);
    position = later.position;
  });

  it('auto, with a role lacking REPLICATION: polls on updated_at and says why; cdc stays refused with the fix', async () => {
    const r = await role();
    const auto = f.open({ changeDetection: 'auto' }, r.url);
    const spec = await specOf(auto, 'items', 'updated_at');
    const st = await auto.captureStatus(spec);
    expect(st.method).toBe('poll');
    expect(st.installed).toBe(false);
    expect(st.detail).toMatch(/^poll on updated_at \(updated_at\) every 2 s/);
    expect(st.detail).toContain(`Role ${r.name} may not create a replication slot`);
    expect(st.detail).toContain(`ALTER ROLE "${r.name}" REPLICATION`);
    await auto.installCapture(spec);
    expect((await auto.captureStatus(spec)).installed).toBe(true);

    const cdc = f.open({ changeDetection: 'cdc' }, r.url);
    const err = await cdc.captureStatus(spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TandemError);
    expect((err as TandemError).code).toBe('CAPTURE_UNAVAILABLE');
    expect((err as TandemError).fix).toContain('REPLICATION');
  });

  it('auto with the rights uses logical replication', async () => {
    const c = f.open({ changeDetection: 'auto' });
    const spec = await specOf(c, 'items', 'updated_at');
    const st = await c.captureStatus(spec);
    expect(st.method).toBe('cdc');
    expect(st.detail).toMatch(/^logical replication/);
  });

  it('poll without updated_at is CONFIG_INVALID; an updated_at that is no time is refused with the fix', async () => {
    const c = f.open({ changeDetection: 'poll' });
    const none = await c.captureStatus(await specOf(c, 'plain')).catch((e: unknown) => e);
    expect((none as TandemError).code).toBe('CONFIG_INVALID');
    const text = await c.captureStatus(await specOf(c, 'plain', 'name')).catch((e: unknown) => e);
    expect((text as TandemError).code).toBe('CAPTURE_UNAVAILABLE');
    expect((text as TandemError).fix).toMatch(/timestamptz/);
  });

  it('auto, no REPLICATION and no updated_at: a full comparison of keys and fingerprints at each poll, said so', async () => {
    const r = await role();
    const c = f.open({ changeDetection: 'auto', pollIntervalMs: 0, keyScanMs: 3_600_000 }, r.url);
    await f.db.app.query("INSERT INTO plain (id, name) VALUES (1, 'a'), (2, 'b')");
    const spec = await specOf(c, 'plain');
    const st = await c.captureStatus(spec);
    expect(st.method).toBe('scan');
    expect(st.detail).toMatch(/^full scan of keys and row fingerprints/);
    expect(st.detail).toContain('cost grows with the table');
    expect(st.detail).toContain('updated_at');
    await c.installCapture(spec);
    const start = await c.currentPosition(spec);
    expect((await readAll(c, spec, start)).events).toEqual([]);
    // Any change to a column read shows, however updated_at (there is none) stands.
    await f.db.app.query("UPDATE plain SET name = 'A' WHERE id = 1");
    await f.db.app.query('DELETE FROM plain WHERE id = 2');
    await f.db.app.query("INSERT INTO plain (id, name) VALUES (3, 'c')");
    const { events, position } = await readAll(c, spec, start);
    expect(ops(events).sort()).toEqual([
      ['delete', '2'],
      ['insert', '3'],
      ['update', '1'],
    ]);
    // Writing the same value again is no change.
    await f.db.app.query("UPDATE plain SET name = 'A' WHERE id = 1");
    expect((await readAll(c, spec, position)).events).toEqual([]);
  });

  it('a saved position of the other kind (the table was captured another way) asks for a full comparison', async () => {
    const poll = f.open({ changeDetection: 'poll', pollIntervalMs: 0 });
    const spec = await specOf(poll, 'items', 'updated_at');
    await poll.installCapture(spec);
    const cdc = f.open({ changeDetection: 'cdc' });
    await cdc.installCapture(spec);
    const cdcPos = await cdc.currentPosition(spec);
    const pollPos = await poll.currentPosition(spec);
    expect((await poll.readChanges(spec, cdcPos, 10)).truncatedAt).toBe(cdcPos);
    expect((await cdc.readChanges(spec, pollPos, 10)).truncatedAt).toBe(pollPos);
  });

  it('removeCapture drops what polling kept', async () => {
    const c = f.open({ changeDetection: 'poll', pollIntervalMs: 0 });
    const spec = await specOf(c, 'items', 'updated_at');
    await c.installCapture(spec);
    const tables = async () =>
      (
        await f.db.app.query<{ n: string }>(
          "SELECT count(*)::text AS n FROM pg_tables WHERE schemaname = '_tandem' AND tablename LIKE 'poll\\_%' AND tablename NOT IN ('poll_feeds', 'poll_log')",
        )
      ).rows[0]!.n;
    expect(await tables()).toBe('1');
    await c.removeCapture(spec);
    expect(await tables()).toBe('0');
    expect((await c.captureStatus(spec)).installed).toBe(false);
  });
});
