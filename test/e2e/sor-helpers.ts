/**
 * SOR-mode e2e helpers, written so every test reads in terms of S (the system
 * of record) and N (the other side) and runs in both orientations:
 *
 *   S = app.db `customers`  (id, email, name, status, notes [, crm_id] [, updated_at])
 *   N = crm.db `contacts`   (id, app_id, email, full_name, state, notes [, updated_at])
 *
 * `sor: 'left'` puts customers on the left of the sync, `sor: 'right'` on the
 * right (and writes every field mapping, value map and default the other way
 * round), so the same assertion checks both orientations.
 */
import { type CliResult, type Workspace, workspace } from './harness.js';

export type Side = 'left' | 'right';
export const ORIENTATIONS: Side[] = ['left', 'right'];

export interface FieldSpec {
  /** Column in S (customers). */
  s: string;
  /** Column in N (contacts). */
  n: string;
  /** S value → N value (the helper inverts it when N is the left side). */
  values?: Record<string, string>;
  /** Literally as written in the config (left/right, not S/N). */
  direction?: 'both' | 'left-to-right' | 'right-to-left';
  null?: 'clear' | 'skip';
  /** Written to that table when its value would be null. */
  default?: { s?: string | null; n?: string | null };
}

export const DEFAULT_FIELDS: FieldSpec[] = [
  { s: 'email', n: 'email' },
  { s: 'name', n: 'full_name' },
  { s: 'status', n: 'state', values: { active: 'A', inactive: 'I' } },
];

export interface SorOptions {
  sor: Side;
  fields?: FieldSpec[];
  conflicts?: string;
  /** S gets `crm_id` (holds N's key) configured as its external_id. */
  sExternalId?: boolean;
  /** Both tables get `updated_at TEXT`, configured as the sides' updated_at. */
  updatedAt?: boolean;
  /** N.app_id has a UNIQUE constraint (default true). */
  uniqueExternalId?: boolean;
  /** Declared type of N.app_id (default INTEGER). */
  nExternalIdType?: string;
  /** Extra column definitions / table constraints, e.g. `CHECK (length(full_name) <= 10)`. */
  sTableExtra?: string;
  nTableExtra?: string;
  /** Column types of the name columns (e.g. `TEXT NOT NULL`). */
  sNameType?: string;
  nNameType?: string;
  /** Raw YAML lines appended under the sync (indented four spaces). */
  extra?: string;
}

export interface SRow {
  id: number;
  email: string;
  name: string | null;
  status: string | null;
  notes: string | null;
  crm_id?: number | null;
  updated_at?: string | null;
}
export interface NRow {
  id: number;
  app_id: number | string | null;
  email: string;
  full_name: string | null;
  state: string | null;
  notes: string | null;
  updated_at?: string | null;
}

export interface RunCounts {
  created: Record<'s' | 'n', number>;
  updated: Record<'s' | 'n', number>;
  deleted: Record<'s' | 'n', number>;
  conflicts: number;
  quarantined: number;
}

export interface ErrorEntry {
  id: number;
  sync: string;
  side: Side;
  key: string | number | null;
  identity: string | number | null;
  reason: string;
  message: string;
  [k: string]: unknown;
}

export interface StatusEntry {
  name: string;
  state: string;
  reason: string | null;
  linked: number;
  quarantined: number;
  [k: string]: unknown;
}

export interface TraceOut {
  sync: string;
  identity: string;
  link: { left_key: string | null; right_key: string | null } | null;
  history: { at: string; side: string; action: string; detail?: Record<string, unknown> }[];
}

export function sSchema(o: SorOptions): string {
  const cols = [
    'id INTEGER PRIMARY KEY',
    'email TEXT NOT NULL',
    `name ${o.sNameType ?? 'TEXT'}`,
    'status TEXT',
    'notes TEXT',
  ];
  if (o.sExternalId) cols.push('crm_id INTEGER');
  if (o.updatedAt) cols.push('updated_at TEXT');
  if (o.sTableExtra) cols.push(o.sTableExtra);
  return `CREATE TABLE customers (${cols.join(', ')});`;
}

export function nSchema(o: SorOptions): string {
  const unique = o.uniqueExternalId === false ? '' : ' UNIQUE';
  const cols = [
    'id INTEGER PRIMARY KEY',
    `app_id ${o.nExternalIdType ?? 'INTEGER'}${unique}`,
    'email TEXT NOT NULL',
    `full_name ${o.nNameType ?? 'TEXT'}`,
    'state TEXT',
    'notes TEXT',
  ];
  if (o.updatedAt) cols.push('updated_at TEXT');
  if (o.nTableExtra) cols.push(o.nTableExtra);
  return `CREATE TABLE contacts (${cols.join(', ')});`;
}

const y = (v: unknown) => JSON.stringify(v);

function fieldYaml(f: FieldSpec, sIsLeft: boolean): string {
  const left = sIsLeft ? f.s : f.n;
  const right = sIsLeft ? f.n : f.s;
  const parts = [`left: ${y(left)}`, `right: ${y(right)}`];
  if (f.values) {
    const entries = Object.entries(f.values).map(([sv, nv]) => (sIsLeft ? [sv, nv] : [nv, sv]));
    parts.push(`values: { ${entries.map(([k, v]) => `${y(k)}: ${y(v)}`).join(', ')} }`);
  }
  if (f.direction) parts.push(`direction: ${f.direction}`);
  if (f.null) parts.push(`null: ${f.null}`);
  if (f.default) {
    const d: string[] = [];
    if ('s' in f.default) d.push(`${sIsLeft ? 'left' : 'right'}: ${y(f.default.s)}`);
    if ('n' in f.default) d.push(`${sIsLeft ? 'right' : 'left'}: ${y(f.default.n)}`);
    parts.push(`default: { ${d.join(', ')} }`);
  }
  return `      - { ${parts.join(', ')} }`;
}

export function sorYaml(o: SorOptions): string {
  const sIsLeft = o.sor === 'left';
  const ua = o.updatedAt ? ', updated_at: updated_at' : '';
  const s = `{ connection: app, table: customers${o.sExternalId ? ', external_id: crm_id' : ''}${ua} }`;
  const n = `{ connection: crm, table: contacts, external_id: app_id${ua} }`;
  const fields = (o.fields ?? DEFAULT_FIELDS).map((f) => fieldYaml(f, sIsLeft)).join('\n');
  return `version: 1
connections:
  app: { url: sqlite:./app.db }
  crm: { url: sqlite:./crm.db }
syncs:
  customers:
    mode: system-of-record
    system_of_record: ${o.sor}
    left:  ${sIsLeft ? s : n}
    right: ${sIsLeft ? n : s}
    fields:
${fields}
${o.conflicts ? `    conflicts: ${o.conflicts}\n` : ''}${o.extra ?? ''}`;
}

export interface SorWorkspace {
  ws: Workspace;
  opts: SorOptions;
  /** Sync side names of S and N. */
  sSide: Side;
  nSide: Side;
  /** `run --once --json`, with counts turned into S/N terms. */
  run(...more: string[]): { code: number; counts: RunCounts; res: CliResult };
  S(): SRow[];
  N(): NRow[];
  insertS(row: Partial<SRow> & { email: string }): number;
  insertN(row: Partial<NRow> & { email: string }): number;
  updateS(id: number, patch: Partial<SRow>): void;
  updateN(id: number, patch: Partial<NRow>): void;
  deleteS(id: number): void;
  deleteN(id: number): void;
  errors(): ErrorEntry[];
  status(): StatusEntry;
  trace(identity: string | number): TraceOut;
  cleanup(): void;
}

function insert(ws: Workspace, file: string, table: string, row: Record<string, unknown>): number {
  const cols = Object.keys(row);
  const info = ws
    .db(file)
    .prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`)
    .run(...cols.map((c) => row[c]));
  return Number(info.lastInsertRowid);
}

function update(
  ws: Workspace,
  file: string,
  table: string,
  id: number,
  patch: Record<string, unknown>,
): void {
  const cols = Object.keys(patch);
  const info = ws
    .db(file)
    .prepare(`UPDATE ${table} SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`)
    .run(...cols.map((c) => patch[c]), id);
  if (info.changes !== 1) throw new Error(`test setup: no ${table} row ${id}`);
}

export function toCounts(json: Record<string, unknown>, sSide: Side): RunCounts {
  const syncs = (json as { syncs?: Record<string, unknown>[] }).syncs;
  const sync = syncs?.[0] as
    | {
        created: Record<Side, number>;
        updated: Record<Side, number>;
        deleted: Record<Side, number>;
        conflicts: number;
        quarantined: number;
      }
    | undefined;
  if (!sync?.created) throw new Error(`run --json has no counts: ${JSON.stringify(json)}`);
  const nSide: Side = sSide === 'left' ? 'right' : 'left';
  const pick = (c: Record<Side, number>) => ({ s: c[sSide], n: c[nSide] });
  return {
    created: pick(sync.created),
    updated: pick(sync.updated),
    deleted: pick(sync.deleted),
    conflicts: sync.conflicts,
    quarantined: sync.quarantined,
  };
}

export const QUIET = { s: 0, n: 0 };

export function sorWorkspace(opts: SorOptions): SorWorkspace {
  const ws = workspace('tandem-sor-');
  ws.exec('app.db', sSchema(opts));
  ws.exec('crm.db', nSchema(opts));
  ws.writeConfig(sorYaml(opts));
  const sSide = opts.sor;
  const nSide: Side = sSide === 'left' ? 'right' : 'left';
  const sw: SorWorkspace = {
    ws,
    opts,
    sSide,
    nSide,
    run(...more) {
      const res = ws.tandem('run', '--once', '--json', ...more);
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(res.stdout);
      } catch {
        throw new Error(
          `run --once --json printed no JSON (exit ${res.code})\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`,
        );
      }
      return { code: res.code, counts: toCounts(json, sSide), res };
    },
    S: () => ws.all<SRow>('app.db', 'SELECT * FROM customers ORDER BY id'),
    N: () => ws.all<NRow>('crm.db', 'SELECT * FROM contacts ORDER BY id'),
    insertS: (row) => insert(ws, 'app.db', 'customers', row),
    insertN: (row) => insert(ws, 'crm.db', 'contacts', row),
    updateS: (id, patch) => update(ws, 'app.db', 'customers', id, patch),
    updateN: (id, patch) => update(ws, 'crm.db', 'contacts', id, patch),
    deleteS: (id) => ws.exec('app.db', `DELETE FROM customers WHERE id = ${Number(id)}`),
    deleteN: (id) => ws.exec('crm.db', `DELETE FROM contacts WHERE id = ${Number(id)}`),
    errors() {
      const r = ws.tandem('errors', '--json');
      if (r.code !== 0) throw new Error(`errors exited ${r.code}: ${r.stderr}`);
      return r.json<ErrorEntry[]>();
    },
    status() {
      const r = ws.tandem('status', '--json');
      if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stderr}`);
      const s = r.json<{ syncs: StatusEntry[] }>().syncs.find((x) => x.name === 'customers');
      if (!s) throw new Error(`status --json has no sync "customers": ${r.stdout}`);
      return s;
    },
    trace(identity) {
      const r = ws.tandem('trace', 'customers', String(identity), '--json');
      if (r.code !== 0) throw new Error(`trace exited ${r.code}: ${r.stderr}`);
      return r.json<TraceOut>();
    },
    cleanup: () => ws.cleanup(),
  };
  return sw;
}

/** A run that must be clean: exit 0 (with stderr in the failure message). */
export function runClean(sw: SorWorkspace): RunCounts {
  const r = sw.run();
  if (r.code !== 0) {
    throw new Error(
      `run --once exited ${r.code}, expected 0\nstdout:\n${r.res.stdout}\nstderr:\n${r.res.stderr}\nerrors: ${JSON.stringify(safeErrors(sw))}`,
    );
  }
  return r.counts;
}

function safeErrors(sw: SorWorkspace): unknown {
  try {
    return sw.errors();
  } catch (e) {
    return String(e);
  }
}

/** Keys compared as text: the CLI may print a native key as a number or a string. */
export const txt = (v: unknown) => (v === null || v === undefined ? null : String(v));

/** The S row's fields as the default mapping makes them on N. */
export function nView(s: SRow): Pick<NRow, 'email' | 'full_name' | 'state'> {
  const map: Record<string, string> = { active: 'A', inactive: 'I' };
  return { email: s.email, full_name: s.name, state: s.status === null ? null : (map[s.status] ?? s.status) };
}

/** Seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export { workspace };
