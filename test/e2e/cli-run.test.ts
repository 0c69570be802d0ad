/**
 * The command-line contract of SPEC §3, through the real CLI: `--sync`, exit
 * codes and their precedence, continuous `run`, demo, --help and --version.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS, output, setupTwoSyncs } from './cli-helpers.js';
import {
  byExt,
  contents,
  expectNoWrites,
  extSchema,
  insert,
  LEFT,
  RIGHT,
  runOnce,
  setupExt,
  statusJson,
  update,
  writes,
} from './ext-helpers.js';
import { CLI, eventually, SOR_SCHEMA, type Workspace, workspace } from './harness.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspace();
});
afterEach(() => ws.cleanup());

// ==================================================================== --sync and exit codes

describe('--sync', () => {
  it('restricts a command to one sync', () => {
    setupTwoSyncs(ws);
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
    setupTwoSyncs(ws);
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
    setupTwoSyncs(ws);
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
