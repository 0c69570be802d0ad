/**
 * `tandem demo`: two SQLite databases with sample data, a config syncing them
 * in both modes, one pass, and how to watch a change move.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../config/load.js';
import { openRuntime } from '../engine/runtime.js';
import { color, print, table } from './output.js';
import { passCommand } from './run.js';
import type { GlobalOptions } from './session.js';
import { loggerFor } from './session.js';

const APP_SQL = `
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, status TEXT);
INSERT INTO customers (id, email, name, status) VALUES
  (1, 'ada@example.com', 'Ada Lovelace', 'active'),
  (2, 'alan@example.com', 'Alan Turing', 'active'),
  (3, 'grace@example.com', 'Grace Hopper', 'inactive');
CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, title TEXT, price NUMERIC, updated_at TEXT);
INSERT INTO products (sku, title, price, updated_at) VALUES
  ('SKU-1', 'Teapot', '19.90', '2026-01-01T10:00:00Z'),
  ('SKU-2', 'Kettle', '34.50', '2026-01-01T10:00:00Z'),
  (NULL, 'Prototype (no SKU yet: not synced)', '0', '2026-01-01T10:00:00Z');
`;

const CRM_SQL = `
CREATE TABLE contacts (id INTEGER PRIMARY KEY, app_customer_id INTEGER UNIQUE, email TEXT NOT NULL, full_name TEXT, state TEXT);
INSERT INTO contacts (app_customer_id, email, full_name, state) VALUES
  (1, 'ada@example.com', 'A. Lovelace', 'A'),
  (NULL, 'edsger@example.com', 'Edsger Dijkstra', 'A');
CREATE TABLE items (id INTEGER PRIMARY KEY, item_code TEXT UNIQUE, title TEXT, price NUMERIC, updated_at TEXT);
INSERT INTO items (item_code, title, price, updated_at) VALUES
  ('SKU-2', 'Kettle (steel)', '34.50', '2026-02-01T10:00:00Z'),
  ('SKU-3', 'Mug', '7.00', '2026-01-01T10:00:00Z');
`;

const CONFIG = `# Written by \`tandem demo\`. Two SQLite files, synced in both modes.
version: 1
state: sqlite:.tandem/state.db
connections:
  app:
    url: sqlite:./app.db
  crm:
    url: sqlite:./crm.db
syncs:
  customers:                       # System of Record mode: app owns identity
    mode: system-of-record
    system_of_record: left
    left:  { connection: app, table: customers }
    right: { connection: crm, table: contacts, external_id: app_customer_id }
    fields:
      - email
      - [name, full_name]
      - { left: status, right: state, values: { active: A, inactive: I } }
  products:                        # External ID mode: matched on the SKU
    mode: external-id
    left:  { connection: app, table: products, external_id: sku, updated_at: updated_at }
    right: { connection: crm, table: items, external_id: item_code, updated_at: updated_at }
    fields: [title, price]
    conflicts: newest-wins
`;

export async function demoCommand(dir: string, opts: GlobalOptions): Promise<number> {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  for (const f of ['app.db', 'crm.db', 'tandem.yaml', '.tandem'])
    rmSync(join(root, f), { recursive: true, force: true });
  for (const [file, sql] of [
    ['app.db', APP_SQL],
    ['crm.db', CRM_SQL],
  ] as const) {
    const db = new Database(join(root, file));
    db.pragma('journal_mode = WAL');
    db.exec(sql);
    db.close();
  }
  const configPath = join(root, 'tandem.yaml');
  writeFileSync(configPath, CONFIG);
  const rel = relative(process.cwd(), root) || '.';
  print(color.bold(`Tandem demo in ${rel}/`));
  print('  app.db  customers (3 rows), products (3 rows, one without a SKU)');
  print('  crm.db  contacts (2 rows: Ada already linked, Edsger born in the CRM), items (2 rows)\n');

  const config = loadConfig(configPath);
  const rt = await openRuntime(config, loggerFor(opts));
  let exit: number;
  try {
    exit = await passCommand(
      rt,
      config.syncs.map((s) => s.name),
      { dryRun: false, full: false, batchSize: 500 },
    );
  } finally {
    await rt.close();
  }
  if (!opts.json) {
    const app = new Database(join(root, 'app.db'), { readonly: true });
    const crm = new Database(join(root, 'crm.db'), { readonly: true });
    const show = (title: string, db: Database.Database, sql: string) => {
      const rows = db.prepare(sql).all() as Record<string, unknown>[];
      print(`\n${color.bold(title)}`);
      print(
        table(
          Object.keys(rows[0] ?? {}),
          rows.map((r) => Object.values(r).map((v) => (v === null ? '∅' : String(v)))),
        ),
      );
    };
    show('app.db customers', app, 'SELECT id, email, name, status FROM customers ORDER BY id');
    show(
      'crm.db contacts (app_customer_id holds the app key)',
      crm,
      'SELECT id, app_customer_id, email, full_name, state FROM contacts ORDER BY id',
    );
    show('app.db products', app, 'SELECT sku, title, price FROM products ORDER BY id');
    show('crm.db items', crm, 'SELECT item_code, title, price FROM items ORDER BY id');
    app.close();
    crm.close();
    const c = `-c ${rel}/tandem.yaml`;
    print(`
${color.bold('Watch a change move:')}
  1. keep tandem running:      npx tandem run ${c}
  2. in another terminal:      sqlite3 ${rel}/crm.db "UPDATE contacts SET full_name = 'Ada King' WHERE app_customer_id = 1"
     (no sqlite3? node -e "new (require('better-sqlite3'))('${rel}/crm.db').exec(\\"UPDATE contacts SET full_name='Ada King' WHERE app_customer_id=1\\")")
  3. within a second:          sqlite3 ${rel}/app.db "SELECT * FROM customers"
Then: npx tandem status ${c} · npx tandem trace customers 1 ${c} · npx tandem errors ${c}`);
  }
  return exit;
}
