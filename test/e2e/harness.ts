/**
 * End-to-end harness: real SQLite files in a temp dir, a real tandem.yaml, and
 * the real CLI (`node dist/cli/main.js`, built by `npm test`) run as a child
 * process, exactly as a user runs it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = unknown>(): T;
}

export interface Workspace {
  dir: string;
  /** Opens (and caches) a connection to a database file in the workspace. */
  db(name: string): Database.Database;
  exec(name: string, sql: string): void;
  all<T = Record<string, unknown>>(name: string, sql: string, ...params: unknown[]): T[];
  get<T = Record<string, unknown>>(name: string, sql: string, ...params: unknown[]): T | undefined;
  writeConfig(yaml: string, file?: string): string;
  tandem(...args: string[]): CliResult;
  /** Starts `tandem run` in the background; `stop()` sends SIGTERM and waits. */
  startRun(...args: string[]): { stop(): Promise<CliResult>; pid: number };
  cleanup(): void;
}

export function workspace(prefix = 'tandem-e2e-'): Workspace {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dbs = new Map<string, Database.Database>();
  const ws: Workspace = {
    dir,
    db(name) {
      let d = dbs.get(name);
      if (!d) {
        d = new Database(join(dir, name));
        d.pragma('journal_mode = WAL');
        d.pragma('busy_timeout = 5000');
        dbs.set(name, d);
      }
      return d;
    },
    exec(name, sql) {
      ws.db(name).exec(sql);
    },
    all(name, sql, ...params) {
      return ws
        .db(name)
        .prepare(sql)
        .all(...params) as never;
    },
    get(name, sql, ...params) {
      return ws
        .db(name)
        .prepare(sql)
        .get(...params) as never;
    },
    writeConfig(yaml, file = 'tandem.yaml') {
      const p = join(dir, file);
      writeFileSync(p, yaml);
      return p;
    },
    tandem(...args) {
      const r = spawnSync(process.execPath, [CLI, ...withConfig(args, dir)], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
        timeout: 60_000,
      });
      return result(r.status ?? -1, r.stdout, r.stderr);
    },
    startRun(...args) {
      const child = spawn(process.execPath, [CLI, 'run', ...withConfig(args, dir)], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: '1' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const done = new Promise<CliResult>((res) =>
        child.on('exit', (code) => res(result(code ?? -1, stdout, stderr))),
      );
      return {
        pid: child.pid!,
        stop() {
          child.kill('SIGTERM');
          return done;
        },
      };
    },
    cleanup() {
      for (const d of dbs.values()) d.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return ws;
}

function withConfig(args: string[], dir: string): string[] {
  return args.includes('-c') ? args : [...args, '-c', join(dir, 'tandem.yaml')];
}

function result(code: number, stdout: string, stderr: string): CliResult {
  return {
    code,
    stdout,
    stderr,
    json<T>() {
      try {
        return JSON.parse(stdout) as T;
      } catch {
        throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`);
      }
    },
  };
}

/** Polls `check` until it returns true or `ms` pass. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 5000,
  every = 25,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** A two-file SOR setup: app.db customers (SOR, left) ↔ crm.db contacts (right). */
export const SOR_SCHEMA = {
  app: `CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, status TEXT);`,
  crm: `CREATE TABLE contacts (id INTEGER PRIMARY KEY, app_id INTEGER UNIQUE, email TEXT NOT NULL, full_name TEXT, state TEXT);`,
};

export function sorConfig(extra = ''): string {
  return `version: 1
connections:
  app: { url: sqlite:./app.db }
  crm: { url: sqlite:./crm.db }
syncs:
  customers:
    mode: system-of-record
    system_of_record: left
    left:  { connection: app, table: customers }
    right: { connection: crm, table: contacts, external_id: app_id }
    fields:
      - email
      - [name, full_name]
      - { left: status, right: state, values: { active: A, inactive: I } }
${extra}`;
}

/** A two-file External ID setup: app.db products ↔ crm.db items, matched on sku/code. */
export const EXT_SCHEMA = {
  app: `CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, title TEXT, price NUMERIC, updated_at TEXT);`,
  crm: `CREATE TABLE items (id INTEGER PRIMARY KEY, code TEXT UNIQUE, title TEXT, price NUMERIC, updated_at TEXT);`,
};

/**
 * The External ID config; `side.left`/`side.right` add keys to a side (`, filter: "…"`),
 * `extra` adds sync-level lines (`    conflicts: manual`).
 */
export function extConfig(extra = '', side: { left?: string; right?: string; fields?: string } = {}): string {
  return `version: 1
connections:
  app: { url: sqlite:./app.db }
  crm: { url: sqlite:./crm.db }
syncs:
  products:
    mode: external-id
    left:  { connection: app, table: products, external_id: sku${side.left ?? ''} }
    right: { connection: crm, table: items, external_id: code${side.right ?? ''} }
    fields: ${side.fields ?? '[title, price]'}
${extra}`;
}

export function sqliteAvailable(): boolean {
  return spawnSync(process.execPath, ['-e', 'require("better-sqlite3")']).status === 0;
}
