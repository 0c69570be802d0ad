/**
 * The command-line contract of SPEC §3, through the real CLI: commands, exit
 * codes and their precedence, `--json` shapes, `--sync`, continuous `run`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  byExt,
  contents,
  dumpDb,
  errorsJson,
  expectNoWrites,
  expectQuiet,
  extConfigWith,
  extSchema,
  insert,
  LEFT,
  pass,
  RIGHT,
  runOnce,
  setupExt,
  statusJson,
  tandemObjects,
  traceJson,
  update,
  writes,
} from './ext-helpers.js';
import { CLI, eventually, SOR_SCHEMA, type Workspace, workspace } from './harness.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspace();
});
afterEach(() => ws.cleanup());

const COMMANDS = [
  'demo',
  'init',
  'validate',
  'run',
  'status',
  'errors',
  'retry',
  'reconcile',
  'trace',
  'teardown',
];

/** Two syncs over the same two files: `products` (External ID) and `customers` (SOR). */
function twoSyncsConfig(extraSyncs = ''): string {
  return `version: 1
connections:
  app: { url: sqlite:./app.db }
  crm: { url: sqlite:./crm.db }
syncs:
  products:
    mode: external-id
    left:  { connection: app, table: products, external_id: sku }
    right: { connection: crm, table: items, external_id: code }
    fields: [title, price]
  customers:
    mode: system-of-record
    system_of_record: left
    left:  { connection: app, table: customers }
    right: { connection: crm, table: contacts, external_id: app_id }
    fields: [email, [name, full_name]]
${extraSyncs}`;
}

function setupTwoSyncs(extraSyncs = '') {
  const ext = extSchema();
  ws.exec('app.db', ext.app + SOR_SCHEMA.app);
  ws.exec('crm.db', ext.crm + SOR_SCHEMA.crm);
  ws.writeConfig(twoSyncsConfig(extraSyncs));
}

const output = (r: { stdout: string; stderr: string }) => r.stdout + r.stderr;

// ==================================================================== init / validate

describe('init', () => {
  it('writes a commented config that validate accepts once the tables exist', () => {
    const r = ws.tandem('init');
    expect(r.code, r.stderr).toBe(0);
    const file = join(ws.dir, 'tandem.yaml');
    expect(existsSync(file)).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\s*#/m);

    // The databases it names do not exist yet: a connection/schema fault.
    expect(ws.tandem('validate').code).toBe(3);
    ws.exec('left.db', 'CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT);');
    ws.exec(
      'right.db',
      'CREATE TABLE contacts (id INTEGER PRIMARY KEY, customer_id INTEGER UNIQUE, email TEXT, full_name TEXT);',
    );
    const v = ws.tandem('validate');
    expect(v.code, output(v)).toBe(0);

    // And it syncs.
    ws.exec('left.db', "INSERT INTO customers (id, email, name) VALUES (1, 'a@x', 'Ann')");
    runOnce(ws);
    expect(ws.all('right.db', 'SELECT customer_id, email, full_name FROM contacts')).toEqual([
      { customer_id: 1, email: 'a@x', full_name: 'Ann' },
    ]);
  });

  it('does not overwrite an existing config', () => {
    ws.writeConfig('# mine\n');
    const r = ws.tandem('init');
    expect(r.code).not.toBe(0);
    expect(readFileSync(join(ws.dir, 'tandem.yaml'), 'utf8')).toBe('# mine\n');
  });
});

describe('validate', () => {
  beforeEach(() => {
    setupExt(ws);
  });

  it('exits 0 on a valid config and says so', () => {
    const r = ws.tandem('validate');
    expect(r.code, output(r)).toBe(0);
    expect(r.stdout).toMatch(/valid/i);
    const j = ws.tandem('validate', '--json');
    expect(j.code).toBe(0);
    expect(j.json<{ ok: boolean; syncs: { name: string; warnings: unknown[] }[] }>()).toMatchObject({
      ok: true,
      syncs: [{ name: 'products', warnings: [] }],
    });
  });

  const fileFaults: [string, string, string][] = [
    // [what, path, config]
    ['an unknown key', 'syncs.products.left.colour', extConfigWith({ left: ', colour: red' })],
    [
      'external-id mode without an external_id column',
      'syncs.products.right.external_id',
      extConfigWith().replace(', external_id: code', ''),
    ],
    [
      'system_of_record outside SOR mode',
      'syncs.products.system_of_record',
      extConfigWith({ extra: '    system_of_record: left\n' }),
    ],
    [
      'a field named twice on one side',
      'syncs.products.fields.2',
      extConfigWith({ fields: '[title, price, title]' }),
    ],
    [
      'the external-ID column mapped as a field',
      'syncs.products.fields.1',
      extConfigWith({ fields: '[title, [sku, price]]' }),
    ],
    ['a missing required key', 'syncs.products.mode', extConfigWith().replace('    mode: external-id\n', '')],
    [
      'a change_detection the connection cannot use',
      'connections.app.change_detection',
      extConfigWith().replace(
        'app: { url: sqlite:./app.db }',
        'app: { url: sqlite:./app.db, change_detection: poll }',
      ),
    ],
  ];

  it.each(fileFaults)('exits 2 on %s, naming %s', (_what, path, yaml) => {
    ws.writeConfig(yaml);
    const r = ws.tandem('validate');
    expect(r.code, output(r)).toBe(2);
    expect(output(r)).toContain(path);
    const j = ws.tandem('validate', '--json');
    expect(j.code).toBe(2);
    expect(JSON.stringify(j.json())).toContain(path);
  });

  const dbFaults: [string, string, string][] = [
    [
      'a table that does not exist',
      'syncs.products.right.table',
      extConfigWith().replace('table: items', 'table: itemz'),
    ],
    [
      'a mapped column that does not exist',
      'syncs.products.fields.1',
      extConfigWith({ fields: '[title, colour]' }),
    ],
    [
      'an external_id column that does not exist',
      'syncs.products.left.external_id',
      extConfigWith().replace('external_id: sku', 'external_id: skew'),
    ],
    [
      'a database file that does not exist',
      'connections.crm.url',
      extConfigWith().replace('./crm.db', './nope.db'),
    ],
  ];

  it.each(dbFaults)('exits 3 on %s, naming %s', (_what, path, yaml) => {
    ws.writeConfig(yaml);
    const r = ws.tandem('validate');
    expect(r.code, output(r)).toBe(3);
    expect(output(r)).toContain(path);
  });

  it('warns, exit 0, about an external-ID column without a unique index', () => {
    ws.exec(
      'crm.db',
      'DROP TABLE items; CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT, title TEXT, price NUMERIC, updated_at TEXT);',
    );
    const r = ws.tandem('validate');
    expect(r.code, output(r)).toBe(0);
    expect(r.stdout).toMatch(/warning/i);
    expect(r.stdout).toContain('syncs.products.right.external_id');
    const j = ws
      .tandem('validate', '--json')
      .json<{ syncs: { warnings: { path: string; message: string }[] }[] }>();
    expect(j.syncs[0]!.warnings).toEqual([
      expect.objectContaining({ path: 'syncs.products.right.external_id' }),
    ]);
    expect(j.syncs[0]!.warnings[0]!.message).toMatch(/unique/i);
  });

  it.each([
    [
      'a NOCASE column',
      'CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT COLLATE NOCASE UNIQUE, title TEXT, price NUMERIC, updated_at TEXT);',
    ],
    [
      'a NOCASE index',
      'CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT, title TEXT, price NUMERIC, updated_at TEXT); CREATE UNIQUE INDEX items_code ON items (code COLLATE NOCASE);',
    ],
  ])('warns, exit 0, about a case-insensitive unique index (%s)', (_what, ddl) => {
    ws.exec('crm.db', `DROP TABLE items; ${ddl}`);
    const r = ws.tandem('validate');
    expect(r.code, output(r)).toBe(0);
    const j = ws
      .tandem('validate', '--json')
      .json<{ syncs: { warnings: { path: string; message: string }[] }[] }>();
    expect(j.syncs[0]!.warnings).toHaveLength(1);
    expect(j.syncs[0]!.warnings[0]!.path).toBe('syncs.products.right.external_id');
    expect(j.syncs[0]!.warnings[0]!.message).toMatch(/case/i);
  });
});

// ==================================================================== status / errors / trace

describe('--json shapes', () => {
  it('status --json: {"syncs":[{name,state,reason,linked,quarantined,lag_ms,…}]}', () => {
    setupExt(ws, { schema: extSchema({ unique: false }) });
    insert(ws, LEFT, { ext: 'A', title: 'a', price: 1 });
    insert(ws, RIGHT, { ext: 'B', title: 'b', price: 2 });
    insert(ws, LEFT, { ext: 'DUP', title: 'd1', price: 3 });
    insert(ws, LEFT, { ext: 'DUP', title: 'd2', price: 4 });
    runOnce(ws, 4);
    const s = statusJson(ws);
    expect(Object.keys(s)).toEqual(['syncs']);
    expect(s.syncs).toHaveLength(1);
    const row = s.syncs[0]!;
    for (const k of ['name', 'state', 'reason', 'linked', 'quarantined', 'lag_ms'])
      expect(row).toHaveProperty(k);
    expect(row).toMatchObject({ name: 'products', state: 'ok', reason: null, linked: 2, quarantined: 2 });
    expect(typeof row.lag_ms).toBe('number');
    const human = ws.tandem('status');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('products');
  });

  it('errors --json: [{id,sync,side,key,identity,reason,message,…}]', () => {
    setupExt(ws, { schema: extSchema({ unique: false }) });
    const d1 = insert(ws, RIGHT, { ext: 'DUP', title: 'd1', price: 3 });
    const d2 = insert(ws, RIGHT, { ext: 'DUP', title: 'd2', price: 4 });
    runOnce(ws, 4);
    const errs = errorsJson(ws);
    expect(Array.isArray(errs)).toBe(true);
    expect(errs).toHaveLength(2);
    for (const e of errs) {
      for (const k of ['id', 'sync', 'side', 'key', 'identity', 'reason', 'message'])
        expect(e).toHaveProperty(k);
      expect(typeof e.id).toBe('number');
      expect(e).toMatchObject({
        sync: 'products',
        side: 'right',
        identity: 'DUP',
        reason: 'duplicate_external_id',
      });
      expect(typeof e.message).toBe('string');
      expect(e.message.length).toBeGreaterThan(0);
      expect(typeof e.first_seen).toBe('string');
      expect(typeof e.last_seen).toBe('string');
    }
    expect(errs.map((e) => e.key).sort()).toEqual([String(d1), String(d2)].sort());
    expect(new Set(errs.map((e) => e.id)).size).toBe(2);
    const human = ws.tandem('errors');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('duplicate_external_id');
  });

  it('trace SYNC IDENTITY shows the history of one record: what was seen where, and what was written', () => {
    setupExt(ws);
    runOnce(ws);
    insert(ws, LEFT, { ext: 'T-1', title: 'first', price: 1 });
    runOnce(ws);
    update(ws, RIGHT, byExt(ws, RIGHT, 'T-1')[0]!.id, { title: 'second' });
    runOnce(ws);
    const t = traceJson(ws, 'products', 'T-1');
    expect(t.identity).toBe('T-1');
    expect(t.link).toEqual({
      left_key: String(byExt(ws, LEFT, 'T-1')[0]!.id),
      right_key: String(byExt(ws, RIGHT, 'T-1')[0]!.id),
    });
    expect(t.history.length).toBeGreaterThanOrEqual(2);
    const created = t.history.findIndex((h) => h.side === 'left' && /creat/i.test(h.action));
    const updated = t.history.findIndex((h) => h.side === 'right' && /updat/i.test(h.action));
    expect(created, JSON.stringify(t.history)).toBeGreaterThanOrEqual(0);
    expect(updated, JSON.stringify(t.history)).toBeGreaterThan(created);
    for (const h of t.history) expect(typeof h.at).toBe('string');

    const human = ws.tandem('trace', 'products', 'T-1');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('T-1');
    expect(human.stdout).toMatch(/created/i);

    const none = traceJson(ws, 'products', 'NOPE');
    expect(none.link).toBeNull();
    expect(none.history).toEqual([]);
    expect(ws.tandem('trace', 'nosuchsync', 'T-1').code).toBe(2);
  });
});

// ==================================================================== reconcile / teardown

describe('reconcile', () => {
  function dropTriggers(db: string) {
    for (const t of ws.all<{ name: string }>(
      db,
      "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '_tandem_%'",
    )) {
      ws.exec(db, `DROP TRIGGER "${t.name}"`);
    }
  }

  it('--dry-run prints the plan and writes nothing; reconcile then repairs drift made without capture', () => {
    setupExt(ws);
    for (const i of [1, 2, 3, 4]) insert(ws, LEFT, { ext: `R-${i}`, title: `t${i}`, price: i });
    runOnce(ws);
    expect(tandemObjects(ws, 'app.db').some((n) => n.startsWith('_tandem_products'))).toBe(true);

    // Drift made while tandem's triggers are gone: nothing is captured.
    dropTriggers('app.db');
    dropTriggers('crm.db');
    ws.exec('app.db', "UPDATE products SET title = 'left drift' WHERE sku = 'R-1'");
    ws.exec('app.db', "INSERT INTO products (sku, title, price) VALUES ('R-9', 'new on left', 9)");
    ws.exec('crm.db', "UPDATE items SET price = 99 WHERE code = 'R-2'");
    ws.exec('crm.db', "DELETE FROM items WHERE code = 'R-3'");
    const before = { app: dumpDb(ws, 'app.db'), crm: dumpDb(ws, 'crm.db') };
    const objects = { app: tandemObjects(ws, 'app.db'), crm: tandemObjects(ws, 'crm.db') };

    const dry = pass(ws, 'reconcile', '--dry-run');
    expect(dry.code, dry.raw.stderr).toBe(0);
    expect(dry.json.dry_run).toBe(true);
    expect(dry.sync()).toMatchObject({
      created: { left: 0, right: 1 },
      updated: { left: 1, right: 1 },
      deleted: { left: 1, right: 0 },
    });
    const human = ws.tandem('reconcile', '--dry-run');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/dry run/i);
    expect({ app: dumpDb(ws, 'app.db'), crm: dumpDb(ws, 'crm.db') }).toEqual(before);
    expect({ app: tandemObjects(ws, 'app.db'), crm: tandemObjects(ws, 'crm.db') }).toEqual(objects);

    const rec = pass(ws, 'reconcile');
    expect(rec.code, rec.raw.stderr).toBe(0);
    expect(rec.sync()).toMatchObject({
      created: { left: 0, right: 1 },
      updated: { left: 1, right: 1 },
      deleted: { left: 1, right: 0 },
    });
    expect(contents(ws, LEFT)).toEqual(contents(ws, RIGHT));
    expect(contents(ws, RIGHT)).toEqual([
      { ext: 'R-1', title: 'left drift', price: 1 },
      { ext: 'R-2', title: 't2', price: 99 },
      { ext: 'R-4', title: 't4', price: 4 },
      { ext: 'R-9', title: 'new on left', price: 9 },
    ]);
    expectQuiet(ws);
  });
});

describe('teardown', () => {
  it("removes tandem's triggers and _tandem_* tables from the user's databases, leaving the data", () => {
    setupExt(ws);
    insert(ws, LEFT, { ext: 'X', title: 'x', price: 1 });
    runOnce(ws);
    for (const db of ['app.db', 'crm.db']) {
      expect(
        ws.all(
          db,
          "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_tandem\\_%' ESCAPE '\\'",
        ).length,
      ).toBe(3);
      expect(tandemObjects(ws, db)).toContain('_tandem_changes');
    }
    const before = { app: dumpDb(ws, 'app.db'), crm: dumpDb(ws, 'crm.db') };

    const r = ws.tandem('teardown');
    expect(r.code, output(r)).toBe(0);
    for (const db of ['app.db', 'crm.db']) expect(tandemObjects(ws, db)).toEqual([]);
    expect({ app: dumpDb(ws, 'app.db'), crm: dumpDb(ws, 'crm.db') }).toEqual(before);

    // Changes made now are not captured; reconcile compares in full and repairs them.
    ws.exec('app.db', "UPDATE products SET title = 'edited after teardown' WHERE sku = 'X'");
    ws.exec('app.db', "INSERT INTO products (sku, title, price) VALUES ('Y', 'y', 2)");
    expect(pass(ws, 'reconcile').code).toBe(0);
    expect(contents(ws, RIGHT)).toEqual(contents(ws, LEFT));
    expect(byExt(ws, RIGHT, 'X')).toHaveLength(1);
    // And syncing goes on after it.
    update(ws, RIGHT, byExt(ws, RIGHT, 'Y')[0]!.id, { title: 'y2' });
    runOnce(ws);
    expect(byExt(ws, LEFT, 'Y')[0]!.title).toBe('y2');
  });
});

// ==================================================================== --sync and exit codes

describe('--sync', () => {
  it('restricts a command to one sync', () => {
    setupTwoSyncs();
    insert(ws, LEFT, { ext: 'P-1', title: 'p', price: 1 });
    ws.exec('app.db', "INSERT INTO customers (id, email, name) VALUES (1, 'a@x', 'Ann')");
    const r = runOnce(ws, 0, '--sync', 'products');
    expect(r.json.syncs.map((s) => s.name)).toEqual(['products']);
    expect(byExt(ws, RIGHT, 'P-1')).toHaveLength(1);
    expect(ws.all('crm.db', 'SELECT * FROM contacts')).toEqual([]);
    expect(statusJson(ws, '--sync', 'products').syncs.map((s) => s.name)).toEqual(['products']);

    const c = runOnce(ws, 0, '--sync', 'customers');
    expect(c.json.syncs.map((s) => s.name)).toEqual(['customers']);
    expect(ws.all('crm.db', 'SELECT app_id, email FROM contacts')).toEqual([{ app_id: 1, email: 'a@x' }]);
    expect(
      statusJson(ws)
        .syncs.map((s) => s.name)
        .sort(),
    ).toEqual(['customers', 'products']);
  });

  it.each([
    ['run', '--once'],
    ['status'],
    ['errors'],
    ['validate'],
    ['reconcile'],
    ['retry', '--all'],
    ['teardown'],
  ])('an unknown sync name exits 2 (%s)', (...cmd) => {
    setupTwoSyncs();
    const r = ws.tandem(...cmd, '--sync', 'nope');
    expect(r.code, output(r)).toBe(2);
    expect(output(r)).toContain('nope');
    expect(ws.all('crm.db', 'SELECT * FROM items')).toEqual([]);
  });
});

describe('exit codes', () => {
  it('precedence 2, 3, 5, 4 when several apply', () => {
    // `quar`: a record the target refuses (4). `customers`: the delete guard (5).
    const quarSync = `  quar:
    mode: external-id
    left:  { connection: app, table: products, external_id: sku }
    right: { connection: crm, table: strict_items, external_id: code }
    fields: [title]
`;
    ws.exec('app.db', `${extSchema().app}${SOR_SCHEMA.app}`);
    ws.exec(
      'crm.db',
      `${SOR_SCHEMA.crm} CREATE TABLE strict_items (id INTEGER PRIMARY KEY, code TEXT UNIQUE, title TEXT NOT NULL);`,
    );
    const config = `version: 1
connections:
  app: { url: sqlite:./app.db }
  crm: { url: sqlite:./crm.db }
syncs:
${quarSync}  customers:
    mode: system-of-record
    system_of_record: left
    left:  { connection: app, table: customers }
    right: { connection: crm, table: contacts, external_id: app_id }
    fields: [email, [name, full_name]]
`;
    ws.writeConfig(config);
    insert(ws, LEFT, { ext: 'Q-1', title: null, price: 1 });
    const seed = ws.db('app.db').prepare('INSERT INTO customers (id, email, name) VALUES (?, ?, ?)');
    ws.db('app.db').transaction(() => {
      for (let i = 1; i <= 40; i++) seed.run(i, `c${i}@x`, `C ${i}`);
    })();

    // 4 alone.
    runOnce(ws, 4);
    expect(ws.all('crm.db', 'SELECT * FROM contacts')).toHaveLength(40);

    // 5 and 4: 5.
    ws.exec('app.db', 'DELETE FROM customers WHERE id <= 20');
    let r = runOnce(ws, 5);
    expect(ws.all('crm.db', 'SELECT * FROM contacts')).toHaveLength(40);

    // 3, 5 and 4: 3 — and the other syncs still ran. (The broken sync's tables are both
    // missing; a table may be in one sync only.)
    ws.writeConfig(
      `${config}  broken:
    mode: external-id
    left:  { connection: app, table: old_products, external_id: sku }
    right: { connection: crm, table: missing_table, external_id: code }
    fields: [title]
`,
    );
    r = runOnce(ws, 3);
    expect(r.json.syncs.map((s) => s.name).sort()).toEqual(['broken', 'customers', 'quar']);
    expect(r.sync('customers').state).toBe('paused');

    // 2 beats everything: the file itself is wrong.
    ws.writeConfig(`${config}  broken:
    mode: external-id
    colour: red
    left:  { connection: app, table: old_products, external_id: sku }
    right: { connection: crm, table: missing_table, external_id: code }
    fields: [title]
`);
    const bad = ws.tandem('run', '--once');
    expect(bad.code, output(bad)).toBe(2);
    expect(output(bad)).toContain('syncs.broken.colour');
  });

  it('a sync paused by schema drift counts as 3; status says why; other syncs go on', () => {
    setupTwoSyncs();
    insert(ws, LEFT, { ext: 'P-1', title: 'p', price: 1 });
    runOnce(ws);
    ws.exec('crm.db', 'ALTER TABLE items DROP COLUMN price');
    update(ws, LEFT, byExt(ws, LEFT, 'P-1')[0]!.id, { price: 2, title: 'p2' });
    ws.exec('app.db', "INSERT INTO customers (id, email, name) VALUES (5, 'e@x', 'Eve')");
    const r = runOnce(ws, 3);
    expect(r.sync('products').state).toBe('paused');
    const st = statusJson(ws).syncs.find((s) => s.name === 'products')!;
    expect(st.state).toBe('paused');
    expect(st.reason).toContain('price');
    // Nothing written to the drifted table; the other sync went on.
    expect(ws.all('crm.db', 'SELECT code, title FROM items')).toEqual([{ code: 'P-1', title: 'p' }]);
    expect(ws.all('crm.db', 'SELECT app_id FROM contacts')).toEqual([{ app_id: 5 }]);
  });
});

// ==================================================================== run (continuous)

describe('run (continuous)', () => {
  it('a committed change appears on the other side within 1 s; SIGTERM exits 0', async () => {
    setupExt(ws);
    insert(ws, LEFT, { ext: 'C-0', title: 'before start', price: 1 });
    const run = ws.startRun();
    try {
      await eventually(() => byExt(ws, RIGHT, 'C-0').length === 1, 20_000);

      // Three of each, and their medians, so one hiccup of a loaded machine does not decide it.
      const created: number[] = [];
      const updated: number[] = [];
      for (let i = 1; i <= 3; i++) {
        insert(ws, RIGHT, { ext: `C-${i}`, title: 'made on right', price: 2 });
        created.push(await eventually(() => byExt(ws, LEFT, `C-${i}`).length === 1, 5000));
        update(ws, LEFT, byExt(ws, LEFT, 'C-0')[0]!.id, { title: `edited on left ${i}` });
        updated.push(
          await eventually(() => byExt(ws, RIGHT, 'C-0')[0]!.title === `edited on left ${i}`, 5000),
        );
      }
      const median = (ms: number[]) => [...ms].sort((a, b) => a - b)[1]!;
      expect(median(created), `created, ms: ${created.join(', ')}`).toBeLessThan(1000);
      expect(median(updated), `updated, ms: ${updated.join(', ')}`).toBeLessThan(1000);
    } finally {
      const res = await run.stop();
      expect(res.code, res.stderr).toBe(0);
    }
    // State was saved: nothing left to do, nothing echoes.
    const after = runOnce(ws);
    expectNoWrites(after.sync());
    expect(contents(ws, LEFT)).toEqual(contents(ws, RIGHT));
  });
});

// ==================================================================== demo / help

describe('demo and --help', () => {
  it('tandem demo --dir X works on a fresh dir and exits 0', () => {
    const r = ws.tandem('demo', '--dir', 'demo-x');
    expect(r.code, output(r)).toBe(0);
    const dir = join(ws.dir, 'demo-x');
    for (const f of ['app.db', 'crm.db', 'tandem.yaml']) expect(existsSync(join(dir, f))).toBe(true);
    expect(r.stdout).toMatch(/tandem run/);
    const cfg = join(dir, 'tandem.yaml');
    const st = ws
      .tandem('status', '--json', '-c', cfg)
      .json<{ syncs: { name: string; state: string; linked: number }[] }>();
    expect(st.syncs.map((s) => s.name).sort()).toEqual(['customers', 'products']);
    for (const s of st.syncs) {
      expect(s.state).toBe('ok');
      expect(s.linked).toBeGreaterThan(0);
    }
    const again = ws.tandem('run', '--once', '--json', '-c', cfg);
    expect(again.code, output(again)).toBe(0);
    for (const s of again.json<{ syncs: Parameters<typeof writes>[0][] }>().syncs) expect(writes(s)).toBe(0);
  });

  it('--version prints the version; a command on SQLite files loads no PostgreSQL or MySQL driver', () => {
    const v = ws.tandem('--version');
    expect(v.code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(dirname(CLI), '../../package.json'), 'utf8')) as {
      version: string;
    };
    expect(v.stdout.trim()).toBe(pkg.version);
    expect(ws.tandem('demo', '--dir', 'demo-v').code).toBe(0);
    // At exit, the drivers the process loaded (CommonJS packages are all in require.cache).
    const probe = `data:text/javascript,${encodeURIComponent(
      "import { createRequire } from 'node:module';" +
        "process.on('exit', () => { const names = Object.keys(createRequire(process.cwd() + '/').cache)" +
        '.map((k) => /node_modules\\/(pg|mysql2|better-sqlite3)\\//.exec(k)?.[1]).filter(Boolean);' +
        "process.stderr.write('LOADED ' + JSON.stringify([...new Set(names)].sort()) + '\\n'); });",
    )}`;
    const r = spawnSync(
      process.execPath,
      ['--import', probe, CLI, 'run', '--once', '-c', 'demo-v/tandem.yaml'],
      {
        cwd: ws.dir,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(/LOADED (.*)/.exec(r.stderr)?.[1] ?? 'null')).toEqual(['better-sqlite3']);
  });

  it('--help lists every command', () => {
    const r = ws.tandem('--help');
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });
});
