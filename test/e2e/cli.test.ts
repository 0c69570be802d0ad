/**
 * The command-line contract of SPEC §3, through the real CLI: init, validate,
 * the `--json` shapes of status, errors and trace, reconcile and teardown.
 * (cli-run.test.ts: --sync, exit codes and their precedence, continuous run,
 * demo, --help and --version.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { output } from './cli-helpers.js';
import {
  byExt,
  contents,
  dumpDb,
  errorsJson,
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
} from './ext-helpers.js';
import { type Workspace, workspace } from './harness.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspace();
});
afterEach(() => ws.cleanup());

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
