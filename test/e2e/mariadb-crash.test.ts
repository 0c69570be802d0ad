/**
 * Crash safety with MariaDB as the System of Record: records born in the
 * SQLite side (no app_id yet) are created in MariaDB (AUTO_INCREMENT keys)
 * and get the new key written back, while `tandem run` is SIGKILLed at random
 * moments (during its first full pass and during capture passes) and started
 * again. A final `run --once` must leave exactly one MariaDB row per SQLite
 * record, each SQLite record pointing at its own row, nothing quarantined.
 *
 * Reproduce a failure with TANDEM_CRASH_SEED=<seed printed in the failure>.
 */

import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { createMariaDbDatabase, type MariaDbDatabase } from '../support/mariadb-database.js';
import { runOnce, writes } from './ext-helpers.js';
import { type Workspace, workspace } from './harness.js';
import { writePgSorConfig as writeSorConfig } from './pg-helpers.js';
import { prng } from './sor-helpers.js';

const TOTAL = 200;
const PRELOAD = 40;
const MIN_KILLS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ws: Workspace | undefined;
let my: MariaDbDatabase | undefined;
let current: { pid: number; stop(): Promise<unknown> } | undefined;

afterEach(async () => {
  if (current) {
    try {
      process.kill(current.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await current.stop();
  }
  current = undefined;
  ws?.cleanup();
  await my?.drop();
});

/** MariaDB as SOR (left), a SQLite file on the other side, in this test's own database and temp dir. */
async function setUp(): Promise<{ w: Workspace; db: MariaDbDatabase }> {
  const w = workspace('tandem-e2e-mycrash-');
  ws = w;
  const db = await createMariaDbDatabase();
  my = db;
  await db.exec(
    'CREATE TABLE customers (id BIGINT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(191) NOT NULL, name TEXT)',
  );
  w.exec(
    'crm.db',
    'CREATE TABLE contacts (id INTEGER PRIMARY KEY, app_id INTEGER UNIQUE, email TEXT NOT NULL, full_name TEXT)',
  );
  writeSorConfig(w, db.url, 'email, [name, full_name]');
  return { w, db };
}

async function count(db: MariaDbDatabase): Promise<number> {
  const [rows] = await db.app.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS c FROM customers');
  return Number(rows[0]!.c);
}

async function expectOneRowEach(
  w: Workspace,
  db: MariaDbDatabase,
  total: number,
  tag: string,
): Promise<void> {
  const [myRows] = await db.app.query<mysql.RowDataPacket[]>(
    'SELECT CAST(id AS CHAR) AS id, email, name FROM customers ORDER BY id',
  );
  const pgRows = myRows as { id: string; email: string; name: string }[];
  const crm = w.all<{ app_id: number | null; email: string; full_name: string }>(
    'crm.db',
    'SELECT app_id, email, full_name FROM contacts ORDER BY id',
  );
  expect(crm, tag).toHaveLength(total);
  // Exactly one MariaDB row per SQLite record: no duplicate from a create replayed after a kill.
  expect(pgRows.map((r) => r.email).sort(), tag).toEqual(crm.map((r) => r.email).sort());
  const byId = new Map(pgRows.map((r) => [r.id, r]));
  for (const c of crm) {
    expect(c.app_id, `${tag} ${c.email} has its key written back`).not.toBeNull();
    const row = byId.get(String(c.app_id));
    expect(row && [row.email, row.name], `${tag} ${c.email}`).toEqual([c.email, c.full_name]);
  }
}

it('killed right after MariaDB committed a batch of creates, before tandem saved it: the restart links them, no duplicate', async () => {
  const { w, db } = await setUp();
  const insert = w.db('crm.db').prepare('INSERT INTO contacts (email, full_name) VALUES (?, ?)');
  for (let i = 0; i < 30; i++) insert.run(`n${i}@x`, `Name ${i}`);
  process.env.TANDEM_FAILPOINT = 'after-side-commit:2';
  let killed: ReturnType<Workspace['tandem']>;
  try {
    killed = w.tandem('run', '--once', '--batch-size', '10');
  } finally {
    delete process.env.TANDEM_FAILPOINT;
  }
  expect(killed.code, killed.stderr).toBe(-1);
  // The second batch is in MariaDB; tandem had not saved it when it died.
  expect(await count(db)).toBe(20);
  expect(w.all('crm.db', 'SELECT id FROM contacts WHERE app_id IS NOT NULL').length).toBeLessThan(20);
  runOnce(w);
  await expectOneRowEach(w, db, 30, 'after restart');
});

it(`${TOTAL}+ records born in SQLite while the engine is killed and restarted: one MariaDB row each, all linked`, async () => {
  const seed = Number(process.env.TANDEM_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rnd = prng(seed);
  const tag = `[seed ${seed}]`;
  const { w, db } = await setUp();
  const insert = w.db('crm.db').prepare('INSERT INTO contacts (email, full_name) VALUES (?, ?)');
  const insertMany = w.db('crm.db').transaction((from: number, n: number) => {
    for (let i = from; i < from + n; i++) insert.run(`n${i}@x`, `Name ${i}`);
  });
  const made = () => count(db);
  const start = () =>
    w.startRun('--interval', '10', '--batch-size', String(rnd() < 0.7 ? 1 + Math.floor(rnd() * 4) : 50));
  const kill9 = async () => {
    try {
      process.kill(current!.pid, 'SIGKILL');
    } catch {
      /* it already exited */
    }
    await current!.stop();
  };

  insertMany(0, PRELOAD);
  current = start();
  let kills = 0;
  // The first life dies during its first pass, once some rows are in MariaDB.
  for (let t = 0; t < 400 && (await made()) < 5; t++) await sleep(10);
  await kill9();
  kills++;
  let next = PRELOAD;
  /** Lives killed while they were creating: tandem had made rows in MariaDB during them. */
  let busyKills = 0;
  while (next < TOTAL || kills < MIN_KILLS) {
    current = start();
    const before = await made();
    // Records keep coming while this life runs; it is killed once it has created some (however
    // long a loaded machine takes to start it), a moment later at random.
    for (let t = 0; t < 1000 && (await made()) === before; t++) {
      const n = 1 + Math.floor(rnd() * 5);
      insertMany(next, n);
      next += n;
      await sleep(10 + Math.floor(rnd() * 30));
    }
    if ((await made()) > before) busyKills++;
    await sleep(Math.floor(rnd() * 300));
    await kill9();
    kills++;
  }
  current = undefined;
  expect(busyKills, `${tag} lives killed while creating`).toBe(kills - 1);

  const final = runOnce(w);
  expect(final.sync().quarantined, `${tag} quarantined`).toBe(0);
  await expectOneRowEach(w, db, next, tag);
  expect(kills, tag).toBeGreaterThanOrEqual(MIN_KILLS);
});

it('killed again and again while it streams a busy MariaDB: every change arrives, nothing twice, nothing left over', async () => {
  const seed = Number(process.env.TANDEM_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rnd = prng(seed);
  const tag = `[seed ${seed}]`;
  const { w, db } = await setUp();
  await db.exec(
    `INSERT INTO customers (id, email, name) VALUES ${Array.from({ length: 100 }, (_, i) => `(${i + 1}, 'u${i + 1}@x', 'U${i + 1}')`).join(', ')}`,
  );
  runOnce(w);
  let nextId = 101;
  /** One transaction of 1–5 changes: updates of random rows, an insert now and then, a delete rarely. */
  const change = async (k: number) => {
    const n = 1 + Math.floor(rnd() * 5);
    await db.app.query('BEGIN');
    for (let j = 0; j < n; j++) {
      const r = rnd();
      if (r < 0.1) {
        await db.app.query('INSERT INTO customers (id, email, name) VALUES (?, ?, ?)', [
          nextId,
          `u${nextId}@x`,
          `new ${k}`,
        ]);
        nextId++;
      } else if (r < 0.13) {
        await db.app.query('DELETE FROM customers WHERE id = ?', [1 + Math.floor(rnd() * (nextId - 1))]);
      } else {
        await db.app.query('UPDATE customers SET name = ? WHERE id = ?', [
          `v${k}.${j}`,
          1 + Math.floor(rnd() * (nextId - 1)),
        ]);
      }
    }
    await db.app.query('COMMIT');
  };
  let k = 0;
  let kills = 0;
  while (kills < MIN_KILLS) {
    current = w.startRun(
      '--interval',
      '10',
      '--batch-size',
      String(rnd() < 0.5 ? 2 + Math.floor(rnd() * 8) : 100),
    );
    const lifeMs = 150 + Math.floor(rnd() * 600);
    const until = Date.now() + lifeMs;
    while (Date.now() < until) {
      await change(k++);
      await sleep(Math.floor(rnd() * 15));
    }
    try {
      process.kill(current.pid, 'SIGKILL');
    } catch {
      /* it already exited */
    }
    await current.stop();
    kills++;
  }
  current = undefined;
  const final = runOnce(w).sync();
  expect(final.quarantined, `${tag} quarantined`).toBe(0);
  const [rows] = await db.app.query<mysql.RowDataPacket[]>(
    'SELECT CAST(id AS CHAR) AS id, email, name FROM customers ORDER BY customers.id',
  );
  const crm = w.all<{ app_id: number; email: string; full_name: string }>(
    'crm.db',
    'SELECT app_id, email, full_name FROM contacts ORDER BY app_id',
  );
  // The same records, one each, with the same values: nothing lost, nothing made twice.
  expect(
    crm.map((c) => [String(c.app_id), c.email, c.full_name]),
    `${tag} after ${k} transactions`,
  ).toEqual(rows.map((r) => [r.id, r.email, r.name]));
  // And nothing was left to do.
  expect(writes(runOnce(w).sync()), tag).toBe(0);
}, 120_000);
