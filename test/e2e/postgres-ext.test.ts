/**
 * External ID mode between two PostgreSQL databases, through the real CLI:
 * records matched on a shared SKU, created where missing, edits and deletes
 * captured from both WALs and carried across, and no echo of tandem's own
 * writes (each side's writing session is tagged with a replication origin).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createPgDatabase, type PgDatabase } from '../support/pg-database.js';
import { runOnce, writes } from './ext-helpers.js';
import { type Workspace, workspace } from './harness.js';

let ws: Workspace;
let left: PgDatabase;
let right: PgDatabase;

beforeEach(async () => {
  ws = workspace('tandem-e2e-pgext-');
  left = await createPgDatabase();
  right = await createPgDatabase();
  for (const db of [left, right]) {
    await db.app.query(
      'CREATE TABLE products (id serial PRIMARY KEY, sku text UNIQUE, title text, price numeric(10,2))',
    );
  }
  ws.writeConfig(`version: 1
connections:
  shop: { url: "${left.url}" }
  erp:  { url: "${right.url}" }
syncs:
  products:
    mode: external-id
    left:  { connection: shop, table: products, external_id: sku }
    right: { connection: erp, table: products, external_id: sku }
    fields: [title, price]
`);
});

afterEach(async () => {
  ws.cleanup();
  await left.drop();
  await right.drop();
});

async function rows(db: PgDatabase): Promise<[string, string, string][]> {
  const r = await db.app.query('SELECT sku, title, price::text AS price FROM products ORDER BY sku');
  return r.rows.map((x) => [x.sku, x.title, x.price]);
}

it('matches on the SKU, creates what is missing both ways, then carries edits and deletes without echoes', async () => {
  await left.app.query(
    "INSERT INTO products (sku, title, price) VALUES ('A', 'Anvil', 10), ('B', 'Bolt', 2.5)",
  );
  await right.app.query(
    "INSERT INTO products (sku, title, price) VALUES ('B', 'Bolt', 2.5), ('C', 'Cog', 7)",
  );
  const first = runOnce(ws).sync();
  expect(first.created).toEqual({ left: 1, right: 1 });
  const all = [
    ['A', 'Anvil', '10.00'],
    ['B', 'Bolt', '2.50'],
    ['C', 'Cog', '7.00'],
  ];
  expect(await rows(left)).toEqual(all);
  expect(await rows(right)).toEqual(all);

  // Different fields edited on each side of one record both survive; a delete crosses over.
  await left.app.query("UPDATE products SET title = 'Big Anvil' WHERE sku = 'A'");
  await right.app.query("UPDATE products SET price = 12 WHERE sku = 'A'");
  await right.app.query("DELETE FROM products WHERE sku = 'C'");
  await left.app.query("INSERT INTO products (sku, title, price) VALUES ('D', 'Drill', 99.99)");
  const second = runOnce(ws).sync();
  expect(second.full_scan).toBe(false);
  expect(second.deleted).toEqual({ left: 1, right: 0 });
  expect(second.created).toEqual({ left: 0, right: 1 });
  const now = [
    ['A', 'Big Anvil', '12.00'],
    ['B', 'Bolt', '2.50'],
    ['D', 'Drill', '99.99'],
  ];
  expect(await rows(left)).toEqual(now);
  expect(await rows(right)).toEqual(now);
  // Neither side's capture hands tandem its own writes back as work.
  expect(writes(runOnce(ws).sync())).toBe(0);
});
