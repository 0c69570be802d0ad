/**
 * An in-memory database and a Connector over it, for the deterministic
 * simulation. Records live in Maps of canonical values; every user change is
 * appended to an in-memory change log whose positions are zero-padded
 * sequence numbers (they sort as strings, like the SQLite connector's). The
 * engine's own writes are not captured (as with a writer flag read by
 * triggers) unless `captureEngineWrites` is set. Write receipts are stored in
 * the same synchronous step as the insert, so a crash can never separate them.
 *
 * Everything here is synchronous inside each call: a crash injected around a
 * call lands either before the call had any effect or after all of it.
 */
import { claimedError, type StoredClaim } from '../../src/connectors/claims.js';
import type {
  CaptureClaim,
  CaptureStatus,
  ChangeBatch,
  Connector,
  TableSpec,
  WriteOp,
  WriteOptions,
  WriteReceipt,
  WriteResult,
} from '../../src/connectors/connector.js';
import type {
  Canonical,
  ChangeEvent,
  ColumnKind,
  Row,
  SourceRecord,
  TableInfo,
} from '../../src/core/types.js';

export interface MemoryColumn {
  name: string;
  kind: ColumnKind;
}

export interface MemoryTableDef {
  name: string;
  /** Key column; keys are assigned 1, 2, 3… when an insert does not give one. */
  key: string;
  columns: MemoryColumn[];
  /** Columns with a unique constraint (NULLs never collide). None by default, so duplicates stay visible. */
  unique?: string[];
}

interface LogEntry {
  seq: number;
  table: string;
  event: ChangeEvent;
}

interface Table {
  def: MemoryTableDef;
  rows: Map<string, Row>;
  nextKey: number;
  /** Write receipts (see Connector.readReceipts): token → receipt. */
  created: Map<string, WriteReceipt>;
}

const POSITION_WIDTH = 20;
export const toPosition = (seq: number): string => String(seq).padStart(POSITION_WIDTH, '0');
const fromPosition = (p: string): number => {
  if (!/^\d+$/.test(p)) throw new Error(`not a memory position: ${p}`);
  return Number(p);
};

/** Canonical text a value is matched by (as identities are): booleans as 'true'/'false'. */
export function matchText(v: Canonical | undefined): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'boolean' ? String(v) : v;
}

export class MemoryDatabase {
  readonly name: string;
  private readonly tables = new Map<string, Table>();
  /** Capture claims per table (Connector.claimCapture), kept with the database as a real one keeps them. */
  readonly claims = new Map<string, StoredClaim>();
  private readonly log: LogEntry[] = [];
  /** Highest sequence number ever issued (never goes back, even after pruning). */
  private seq = 0;
  /** When set, the engine's writes are logged too (a system without echo suppression). */
  captureEngineWrites = false;

  constructor(
    name: string,
    private readonly clock: () => string,
  ) {
    this.name = name;
  }

  createTable(def: MemoryTableDef): void {
    this.tables.set(def.name, { def, rows: new Map(), nextKey: 1, created: new Map() });
  }

  table(name: string): Table {
    const t = this.tables.get(name);
    if (!t) throw new Error(`no table ${name} in memory database ${this.name}`);
    return t;
  }

  // ------------------------------------------------------------ user changes (captured)

  insert(table: string, values: Row): string {
    const t = this.table(table);
    const r = this.doInsert(t, values);
    if (!r.ok) throw new Error(r.message);
    this.capture(table, 'insert', r.key);
    return r.key;
  }

  update(table: string, key: string, values: Row): void {
    const t = this.table(table);
    if (!t.rows.has(key)) throw new Error(`${table}: no record ${key}`);
    const r = this.doUpdate(t, key, values);
    if (r) throw new Error(r);
    this.capture(table, 'update', key);
  }

  delete(table: string, key: string): void {
    const t = this.table(table);
    if (!t.rows.delete(key)) throw new Error(`${table}: no record ${key}`);
    this.capture(table, 'delete', key);
  }

  /** A copy of every record, by key. */
  rows(table: string): Map<string, Row> {
    return new Map([...this.table(table).rows].map(([k, r]) => [k, { ...r }]));
  }

  get(table: string, key: string): Row | undefined {
    const r = this.table(table).rows.get(key);
    return r ? { ...r } : undefined;
  }

  // ------------------------------------------------------------ storage

  private capture(table: string, op: ChangeEvent['op'], key: string): void {
    const seq = ++this.seq;
    const position = toPosition(seq);
    this.log.push({ seq, table, event: { key, op, at: this.clock(), position } });
  }

  private uniqueViolation(t: Table, row: Row, exceptKey: string | null): string | undefined {
    for (const col of t.def.unique ?? []) {
      const v = matchText(row[col]);
      if (v === null) continue;
      for (const [k, other] of t.rows) {
        if (k !== exceptKey && matchText(other[col]) === v)
          return `UNIQUE constraint failed: ${t.def.name}.${col}`;
      }
    }
    return undefined;
  }

  doInsert(t: Table, values: Row): { ok: true; key: string } | { ok: false; message: string } {
    const keyCol = t.def.key;
    const given = matchText(values[keyCol]);
    let key: string;
    if (given !== null) {
      key = given;
      if (t.rows.has(key)) return { ok: false, message: `UNIQUE constraint failed: ${t.def.name}.${keyCol}` };
      const n = Number(key);
      if (Number.isInteger(n) && n >= t.nextKey) t.nextKey = n + 1;
    } else {
      key = String(t.nextKey++);
    }
    const row: Row = {};
    for (const c of t.def.columns) row[c.name] = values[c.name] ?? null;
    for (const [c, v] of Object.entries(values)) {
      if (!t.def.columns.some((col) => col.name === c))
        return { ok: false, message: `table ${t.def.name} has no column named ${c}` };
      row[c] = v;
    }
    row[keyCol] = key;
    const dup = this.uniqueViolation(t, row, null);
    if (dup) return { ok: false, message: dup };
    t.rows.set(key, row);
    return { ok: true, key };
  }

  /** Returns an error message, or undefined when the update landed (or the record is gone: idempotent). */
  doUpdate(t: Table, key: string, values: Row): string | undefined {
    const cur = t.rows.get(key);
    if (!cur) return undefined;
    for (const c of Object.keys(values)) {
      if (!t.def.columns.some((col) => col.name === c)) return `table ${t.def.name} has no column named ${c}`;
    }
    if (t.def.key in values && matchText(values[t.def.key]) !== key)
      return `the key column ${t.def.key} cannot be updated here`;
    const next = { ...cur, ...values };
    const dup = this.uniqueViolation(t, next, key);
    if (dup) return dup;
    t.rows.set(key, next);
    return undefined;
  }

  /** Logs an engine write when `captureEngineWrites` is set. */
  engineWrote(table: string, op: ChangeEvent['op'], key: string): void {
    if (this.captureEngineWrites) this.capture(table, op, key);
  }

  // ------------------------------------------------------------ change log

  position(): string {
    return toPosition(this.seq);
  }

  changes(table: string, after: string, limit: number): ChangeBatch {
    const from = fromPosition(after);
    const out: ChangeEvent[] = [];
    for (const e of this.log) {
      if (out.length >= limit) break;
      if (e.table === table && e.seq > from) out.push({ ...e.event });
    }
    return { changes: out, position: out.length > 0 ? out[out.length - 1]!.position : after };
  }

  prune(table: string, upTo: string): void {
    const to = fromPosition(upTo);
    for (let i = this.log.length - 1; i >= 0; i--) {
      const e = this.log[i]!;
      if (e.table === table && e.seq <= to) this.log.splice(i, 1);
    }
  }

  /** Change-log entries still kept (for tests of pruning). */
  logLength(table?: string): number {
    return table ? this.log.filter((e) => e.table === table).length : this.log.length;
  }
}

export interface MemoryConnectorOptions {
  /**
   * Per-row failure injection: return a message to make the database refuse
   * this row (the others of the write still land), or undefined to let it through.
   */
  failRow?: (table: string, op: WriteOp) => string | undefined;
  /** Scope: records for which this returns false are out of scope (stands in for a SQL filter). */
  inScope?: (table: string, row: Row) => boolean;
}

export class MemoryConnector implements Connector {
  readonly system = 'sqlite' as const;
  readonly description: string;
  private capturing = new Set<string>();

  constructor(
    readonly db: MemoryDatabase,
    readonly options: MemoryConnectorOptions = {},
  ) {
    this.description = `memory:${db.name}`;
  }

  async close(): Promise<void> {}

  async introspect(table: string): Promise<TableInfo | null> {
    let t: Table;
    try {
      t = this.db.table(table);
    } catch {
      return null;
    }
    return {
      name: table,
      columns: t.def.columns.map((c) => ({
        name: c.name,
        kind: c.kind,
        nativeType: c.kind,
        nullable: c.name !== t.def.key,
      })),
      primaryKey: [t.def.key],
      uniqueIndexes: (t.def.unique ?? []).map((c) => ({
        name: `${table}_${c}_key`,
        columns: [c],
        caseInsensitive: false,
      })),
    };
  }

  private record(spec: TableSpec, key: string, row: Row): SourceRecord {
    const values: Row = {};
    for (const c of spec.columns) values[c] = row[c] ?? null;
    return { key, values, inScope: this.options.inScope ? this.options.inScope(spec.table, row) : true };
  }

  async readByKeys(spec: TableSpec, keys: string[]): Promise<SourceRecord[]> {
    const t = this.db.table(spec.table);
    const out: SourceRecord[] = [];
    for (const k of new Set(keys)) {
      const row = t.rows.get(k);
      if (row) out.push(this.record(spec, k, row));
    }
    return out;
  }

  async readByColumn(spec: TableSpec, column: string, values: string[]): Promise<SourceRecord[]> {
    const t = this.db.table(spec.table);
    const wanted = new Set(values);
    const out: SourceRecord[] = [];
    for (const [k, row] of t.rows) {
      const v = matchText(row[column]);
      if (v !== null && wanted.has(v)) out.push(this.record(spec, k, row));
    }
    return out;
  }

  private compareKeys(spec: TableSpec): (a: string, b: string) => number {
    const kind = spec.kinds[spec.key];
    if (kind === 'integer') return (a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);
    return (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  }

  async scan(spec: TableSpec, afterKey: string | null, limit: number): Promise<SourceRecord[]> {
    const t = this.db.table(spec.table);
    const cmp = this.compareKeys(spec);
    return [...t.rows.keys()]
      .filter((k) => afterKey === null || cmp(k, afterKey) > 0)
      .sort(cmp)
      .map((k) => this.record(spec, k, t.rows.get(k)!))
      .filter((r) => r.inScope)
      .slice(0, limit);
  }

  async count(spec: TableSpec): Promise<number> {
    const t = this.db.table(spec.table);
    return [...t.rows].filter(([k, r]) => this.record(spec, k, r).inScope).length;
  }

  async write(
    spec: TableSpec,
    ops: WriteOp[],
    receipt?: string,
    options?: WriteOptions,
  ): Promise<WriteResult[]> {
    // One atomic step in this model: it waits first for what must be durable before it.
    await options?.beforeCommit?.();
    const t = this.db.table(spec.table);
    const results: WriteResult[] = [];
    for (const op of ops) {
      const refused = this.options.failRow?.(spec.table, op);
      if (refused !== undefined) {
        results.push({ ref: op.ref, ok: false, message: refused });
        continue;
      }
      if (op.op === 'insert') {
        const r = this.db.doInsert(t, op.values);
        if (!r.ok) {
          results.push({ ref: op.ref, ok: false, message: r.message });
          continue;
        }
        this.db.engineWrote(spec.table, 'insert', r.key);
        results.push({ ref: op.ref, ok: true, key: r.key });
      } else if (op.op === 'update') {
        const existed = t.rows.has(op.key);
        const err = this.db.doUpdate(t, op.key, op.values);
        if (err) {
          results.push({ ref: op.ref, ok: false, message: err });
          continue;
        }
        if (existed && Object.keys(op.values).length > 0) this.db.engineWrote(spec.table, 'update', op.key);
        results.push({ ref: op.ref, ok: true, key: op.key });
      } else {
        if (t.rows.delete(op.key)) this.db.engineWrote(spec.table, 'delete', op.key);
        results.push({ ref: op.ref, ok: true, key: op.key });
      }
    }
    // The receipt lands with the rows: write() is one atomic step in this model.
    if (receipt !== undefined) {
      const r: WriteReceipt = { ok: [], keys: {} };
      for (const x of results) {
        if (!x.ok) continue;
        r.ok.push(x.ref);
        r.keys[x.ref] = x.key;
      }
      t.created.set(receipt, r);
    }
    return results;
  }

  async readReceipts(spec: TableSpec, tokens: string[]): Promise<Map<string, WriteReceipt>> {
    const t = this.db.table(spec.table);
    const found = new Map<string, WriteReceipt>();
    for (const tok of tokens) {
      const r = t.created.get(tok);
      if (r !== undefined) found.set(tok, structuredClone(r));
    }
    return found;
  }

  async forgetReceipts(spec: TableSpec, tokens: string[]): Promise<void> {
    const t = this.db.table(spec.table);
    for (const tok of tokens) t.created.delete(tok);
  }

  /** Tokens still remembered (for assertions). */
  createdTokens(table: string): number {
    return this.db.table(table).created.size;
  }

  async claimCapture(spec: TableSpec, claim: CaptureClaim): Promise<void> {
    const held = this.db.claims.get(spec.table);
    if (!held) this.db.claims.set(spec.table, { ...claim, at: new Date(0).toISOString() });
    else if (held.owner !== claim.owner) throw claimedError(spec.table, this.description, claim, held);
  }

  async checkClaim(spec: TableSpec, claim: CaptureClaim): Promise<void> {
    const held = this.db.claims.get(spec.table);
    if (held && held.owner !== claim.owner) throw claimedError(spec.table, this.description, claim, held);
  }

  async installCapture(spec: TableSpec): Promise<void> {
    this.capturing.add(spec.table);
  }

  async captureStatus(spec: TableSpec): Promise<CaptureStatus> {
    const installed = this.capturing.has(spec.table);
    return { installed, method: 'triggers', detail: installed ? 'in-memory change log' : 'not installed' };
  }

  async currentPosition(_spec: TableSpec): Promise<string> {
    return this.db.position();
  }

  async readChanges(spec: TableSpec, after: string, limit: number): Promise<ChangeBatch> {
    return this.db.changes(spec.table, after, limit);
  }

  async latestChanges(
    spec: TableSpec,
    after: string,
    keys: string[],
  ): Promise<Map<string, { at: string; op: ChangeEvent['op'] }>> {
    const wanted = new Set(keys);
    const out = new Map<string, { at: string; op: ChangeEvent['op'] }>();
    for (const c of this.db.changes(spec.table, after, Number.MAX_SAFE_INTEGER).changes) {
      if (wanted.has(c.key)) out.set(c.key, { at: c.at, op: c.op });
    }
    return out;
  }

  async pruneChanges(spec: TableSpec, upTo: string): Promise<void> {
    this.db.prune(spec.table, upTo);
  }

  async removeCapture(spec: TableSpec): Promise<void> {
    this.capturing.delete(spec.table);
    this.db.claims.delete(spec.table);
    this.db.prune(spec.table, this.db.position());
    this.db.table(spec.table).created.clear();
  }

  async teardown(): Promise<void> {}
}
