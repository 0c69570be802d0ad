/**
 * Helpers for the e2e suites in ext/rules/cli.test.ts: reading the `--json`
 * output of the real CLI, and naming the two sides of the External ID setup so
 * a scenario can be written once and run in both directions.
 */
import { expect } from 'vitest';
import { type CliResult, EXT_SCHEMA, extConfig, type Workspace } from './harness.js';

export type Side = 'left' | 'right';
export interface Pair {
  left: number;
  right: number;
}

/** One sync's entry in `run --once --json` / `reconcile --json`. */
export interface SyncPass {
  name: string;
  state: string;
  created: Pair;
  updated: Pair;
  deleted: Pair;
  conflicts: number;
  quarantined: number;
  detached: number;
  full_scan: boolean;
  guard: unknown;
  error?: { code: string; message: string; fix: string };
}

export interface PassJson {
  dry_run: boolean;
  syncs: SyncPass[];
}

export interface StatusJson {
  syncs: {
    name: string;
    state: string;
    reason: string | null;
    linked: number;
    quarantined: number;
    lag_ms: number;
    [k: string]: unknown;
  }[];
}

export interface ErrorJson {
  id: number;
  sync: string;
  side: Side;
  key: string | null;
  identity: string | null;
  reason: string;
  message: string;
  [k: string]: unknown;
}

export interface PassRun {
  code: number;
  raw: CliResult;
  json: PassJson;
  /** The entry for `name`, or the only sync. */
  sync(name?: string): SyncPass;
}

/** Runs a pass command with `--json` (default `run --once`) and parses its output. */
export function pass(ws: Workspace, ...args: string[]): PassRun {
  const argv = args.length === 0 ? ['run', '--once'] : args;
  const raw = ws.tandem(...argv, '--json');
  const json = raw.json<PassJson>();
  return {
    code: raw.code,
    raw,
    json,
    sync(name?: string) {
      const s = name === undefined ? json.syncs[0] : json.syncs.find((x) => x.name === name);
      if (!s) throw new Error(`no sync ${name ?? '(first)'} in output:\n${raw.stdout}\n${raw.stderr}`);
      return s;
    },
  };
}

/** `run --once --json`, expecting the given exit code (default 0). */
export function runOnce(ws: Workspace, expectCode = 0, ...extra: string[]): PassRun {
  const r = pass(ws, 'run', '--once', ...extra);
  expect(r.code, `exit code of run --once\nstdout:\n${r.raw.stdout}\nstderr:\n${r.raw.stderr}`).toBe(
    expectCode,
  );
  return r;
}

export function writes(s: SyncPass): number {
  return (
    s.created.left + s.created.right + s.updated.left + s.updated.right + s.deleted.left + s.deleted.right
  );
}

export const NONE: Pair = { left: 0, right: 0 };

/** Counts of a pass that wrote nothing. */
export function expectNoWrites(s: SyncPass): void {
  expect({ created: s.created, updated: s.updated, deleted: s.deleted }).toEqual({
    created: NONE,
    updated: NONE,
    deleted: NONE,
  });
}

/** One more `run --once` writes nothing and quarantines nothing new (exit `code`). */
export function expectQuiet(ws: Workspace, code = 0): PassRun {
  const r = runOnce(ws, code);
  for (const s of r.json.syncs) expectNoWrites(s);
  return r;
}

export function errorsJson(ws: Workspace, ...extra: string[]): ErrorJson[] {
  const r = ws.tandem('errors', '--json', ...extra);
  expect(r.code, r.stderr).toBe(0);
  return r.json<ErrorJson[]>();
}

export function statusJson(ws: Workspace, ...extra: string[]): StatusJson {
  const r = ws.tandem('status', '--json', ...extra);
  expect(r.code, r.stderr).toBe(0);
  return r.json<StatusJson>();
}

export interface TraceJson {
  sync: string;
  identity: string;
  link: { left_key: string; right_key: string } | null;
  history: { at: string; side: string; action: string; detail?: Record<string, unknown> }[];
}

export function traceJson(ws: Workspace, sync: string, identity: string): TraceJson {
  const r = ws.tandem('trace', sync, identity, '--json');
  expect(r.code, r.stderr).toBe(0);
  return r.json<TraceJson>();
}

/** Every row of every user table in a database file, for "nothing changed" checks. */
export function dumpDb(ws: Workspace, db: string): Record<string, unknown[]> {
  const tables = ws.all<{ name: string }>(
    db,
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_tandem_%' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  );
  const out: Record<string, unknown[]> = {};
  for (const t of tables) out[t.name] = ws.all(db, `SELECT * FROM "${t.name}" ORDER BY rowid`);
  return out;
}

/** Names of tandem's objects (triggers, tables, indexes) in a database file. */
export function tandemObjects(ws: Workspace, db: string): string[] {
  return ws
    .all<{ name: string }>(
      db,
      "SELECT name FROM sqlite_master WHERE name LIKE '\\_tandem\\_%' ESCAPE '\\' ORDER BY name",
    )
    .map((r) => r.name);
}

// ---------------------------------------------------------------- External ID sides

/** One side of the External ID setup of harness.ts (app.db products.sku ↔ crm.db items.code). */
export interface SideRef {
  side: Side;
  db: string;
  table: string;
  ext: string;
}

export const LEFT: SideRef = { side: 'left', db: 'app.db', table: 'products', ext: 'sku' };
export const RIGHT: SideRef = { side: 'right', db: 'crm.db', table: 'items', ext: 'code' };

/** Both directions: the record is made on A, and must show up on B. */
export const DIRECTIONS = [
  { dir: 'made on left', A: LEFT, B: RIGHT },
  { dir: 'made on right', A: RIGHT, B: LEFT },
] as const;

export interface Item {
  id: number;
  ext: string | null;
  title: string | null;
  price: number | string | null;
}

/** External ID schema like harness.ts, with hooks to change the column definitions. */
export function extSchema(opts: { unique?: boolean; extraLeft?: string; extraRight?: string } = {}): {
  app: string;
  crm: string;
} {
  if (opts.unique !== false && !opts.extraLeft && !opts.extraRight) return EXT_SCHEMA;
  const u = opts.unique === false ? '' : ' UNIQUE';
  return {
    app: `CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT${u}, title TEXT, price NUMERIC, updated_at TEXT${opts.extraLeft ?? ''});`,
    crm: `CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT${u}, title TEXT, price NUMERIC, updated_at TEXT${opts.extraRight ?? ''});`,
  };
}

export function setupExt(
  ws: Workspace,
  opts: { schema?: { app: string; crm: string }; extra?: string; config?: string } = {},
): void {
  const schema = opts.schema ?? EXT_SCHEMA;
  ws.exec('app.db', schema.app);
  ws.exec('crm.db', schema.crm);
  ws.writeConfig(opts.config ?? extConfig(opts.extra ?? ''));
}

export function insert(
  ws: Workspace,
  s: SideRef,
  row: {
    ext?: string | null;
    title?: string | null;
    price?: number | string | null;
    updated_at?: string | null;
  },
): number {
  const r = ws
    .db(s.db)
    .prepare(`INSERT INTO ${s.table} (${s.ext}, title, price, updated_at) VALUES (?, ?, ?, ?)`)
    .run(row.ext ?? null, row.title ?? null, row.price ?? null, row.updated_at ?? null);
  return Number(r.lastInsertRowid);
}

export function update(ws: Workspace, s: SideRef, id: number, values: Record<string, unknown>): void {
  const cols = Object.keys(values).map((c) => (c === 'ext' ? s.ext : c));
  const r = ws
    .db(s.db)
    .prepare(`UPDATE ${s.table} SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`)
    .run(...Object.values(values), id);
  if (r.changes !== 1) throw new Error(`update of ${s.table} id ${id} changed ${r.changes} rows`);
}

export function remove(ws: Workspace, s: SideRef, id: number): void {
  const r = ws.db(s.db).prepare(`DELETE FROM ${s.table} WHERE id = ?`).run(id);
  if (r.changes !== 1) throw new Error(`delete of ${s.table} id ${id} changed ${r.changes} rows`);
}

export function items(ws: Workspace, s: SideRef): Item[] {
  return ws.all<Item>(s.db, `SELECT id, ${s.ext} AS ext, title, price FROM ${s.table} ORDER BY id`);
}

export function byExt(ws: Workspace, s: SideRef, ext: string): Item[] {
  return ws.all<Item>(
    s.db,
    `SELECT id, ${s.ext} AS ext, title, price FROM ${s.table} WHERE ${s.ext} = ? COLLATE BINARY ORDER BY id`,
    ext,
  );
}

export function byId(ws: Workspace, s: SideRef, id: number): Item | undefined {
  return ws.get<Item>(s.db, `SELECT id, ${s.ext} AS ext, title, price FROM ${s.table} WHERE id = ?`, id);
}

/** The record's content without its local id, for comparing across sides. */
export const content = (i: Item | undefined) =>
  i ? { ext: i.ext, title: i.title, price: i.price } : undefined;

/** Records of both sides, as {ext,title,price} sorted by ext: in step when both lists are equal. */
export function contents(
  ws: Workspace,
  s: SideRef,
): { ext: string | null; title: string | null; price: unknown }[] {
  return items(ws, s)
    .map((i) => content(i)!)
    .sort((a, b) => String(a.ext).localeCompare(String(b.ext)));
}

/**
 * The harness's External ID config with extra keys on each side (`, filter: "…"`,
 * `, updated_at: updated_at`) and extra sync-level lines (`    conflicts: manual`).
 */
export function extConfigWith(
  opts: { left?: string; right?: string; extra?: string; fields?: string } = {},
): string {
  return extConfig(opts.extra ?? '', opts);
}

/** Inserts `n` records with external ids `${prefix}-1…n` in one transaction. */
export function insertMany(ws: Workspace, s: SideRef, n: number, prefix = 'R'): void {
  const db = ws.db(s.db);
  const stmt = db.prepare(`INSERT INTO ${s.table} (${s.ext}, title, price) VALUES (?, ?, ?)`);
  db.transaction(() => {
    for (let i = 1; i <= n; i++) stmt.run(`${prefix}-${i}`, `title ${i}`, i);
  })();
}
