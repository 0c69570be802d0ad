/**
 * Applies the ops of one batch. Batches are mostly runs of ops with the
 * same columns, so the last statement per op type is kept and reused while the
 * column list repeats: no SQL is built or looked up per row, and parameters
 * are bound into one array per statement, reused from row to row.
 *
 * A run of inserts into a rowid table goes in multi-row INSERTs (insertGroup):
 * one statement for many rows costs SQLite far less than one per row.
 */
import type { ColumnKind, Row } from '../../core/types.js';
import type { TableSpec, WriteOp, WriteResult } from '../connector.js';
import { type Native, toKeyText, toNative } from './convert.js';
import { groupSize } from './rowid.js';
import { kindOf, qi, type TableRef } from './sql.js';
import type { Statement } from './statements.js';

/** A statement for one column list, with the kinds to bind them as and its parameter array. */
interface Prepared {
  columns: string[];
  kinds: ColumnKind[];
  params: Native[];
  stmt: Statement;
}

export class RowWriter {
  /**
   * Whether the op being applied has run a statement yet. An op that fails
   * before (a value it cannot bind) has changed nothing in the database.
   */
  touched = false;
  private readonly keyKind: ColumnKind;
  private readonly keyCol: string;
  /** Exact key match even on a NOCASE key column; the first term keeps the index usable. */
  private readonly keyMatch: string;
  private readonly exactText: boolean;
  private insert: Prepared | undefined;
  private update: Prepared | undefined;
  private remove: { stmt: Statement; params: Native[] } | undefined;
  /** Multi-row inserts by column list and row count. */
  private readonly groups = new Map<string, Prepared>();
  /**
   * The rowid SQLite would give the next inserted row, while only this
   * writer's grouped inserts have inserted since it was read (undefined: read it
   * again; null: none is left past the largest, SQLite picks them itself).
   */
  private nextKey: bigint | null | undefined;

  /**
   * `rowidKey`: the key column is the table's rowid (an INTEGER PRIMARY KEY),
   * so an insert's key is SQLite's last insert rowid and needs no RETURNING.
   */
  constructor(
    private readonly prepare: (sql: string) => Statement,
    private readonly spec: TableSpec,
    private readonly t: TableRef,
    private readonly rowidKey: boolean,
    /** The rowid SQLite would give the next row (rowid.ts nextRowid), asked once per run of inserts. */
    private readonly nextRowid: () => bigint | null,
  ) {
    this.keyKind = kindOf(spec, spec.key);
    this.keyCol = qi(spec.key);
    this.exactText = this.keyKind === 'text';
    this.keyMatch = this.exactText
      ? `${this.keyCol} = ? AND ${this.keyCol} = ? COLLATE BINARY`
      : `${this.keyCol} = ?`;
  }

  apply(op: WriteOp): WriteResult {
    this.touched = false;
    // A single op may move the table's largest rowid (an insert, a key changed by an update).
    this.nextKey = undefined;
    switch (op.op) {
      case 'delete':
        return this.delete(op.ref, op.key);
      case 'update':
        return this.updateRow(op.ref, op.key, op.values);
      case 'insert':
        return this.insertRow(op.ref, op.values);
    }
  }

  private insertRow(ref: number, values: Row): WriteResult {
    const columns = Object.keys(values);
    if (!this.insert || !sameColumns(this.insert.columns, columns)) {
      const returning = this.rowidKey ? '' : ` RETURNING ${this.keyCol}`;
      const sql =
        columns.length === 0
          ? `INSERT INTO ${this.t.sql} DEFAULT VALUES${returning}`
          : `INSERT INTO ${this.t.sql} (${columns.map(qi).join(', ')}) ` +
            `VALUES (${columns.map(() => '?').join(', ')})${returning}`;
      this.insert = this.prepared(columns, 0, sql);
    }
    const ins = this.insert;
    this.bind(ins, values);
    this.touched = true;
    let key: string | null;
    if (this.rowidKey) {
      // No row inserted (a trigger's RAISE(IGNORE), OR IGNORE): no key, as RETURNING would give none.
      const info = ins.stmt.run(ins.params);
      key = info.changes === 0 ? null : toKeyText(info.lastInsertRowid, this.keyKind);
    } else {
      const row = ins.stmt.get(ins.params) as unknown[] | undefined;
      key = toKeyText(row?.[0], this.keyKind);
    }
    if (key === null) throw new Error(`the inserted row has no value in key column ${this.spec.key}`);
    return { ref, ok: true, key };
  }

  /**
   * How many of the ops from `at` one multi-row INSERT can take: consecutive
   * inserts with the same columns, into a rowid table, leaving the key to
   * the table. 0 or 1: apply them one by one.
   */
  groupable(ops: readonly WriteOp[], at: number, skipped: (i: number) => boolean): number {
    const first = ops[at]!;
    if (!this.rowidKey || first.op !== 'insert' || this.spec.key in first.values) return 0;
    if (this.nextKey === undefined) this.nextKey = this.nextRowid();
    if (this.nextKey === null) return 0;
    const columns = Object.keys(first.values);
    const max = groupSize(columns.length + 1);
    let n = 1;
    while (n < max && at + n < ops.length && this.nextKey + BigInt(n) <= INT64_MAX) {
      const op = ops[at + n]!;
      if (op.op !== 'insert' || skipped(at + n) || !sameKeys(op.values, columns)) break;
      n++;
    }
    return n;
  }

  /**
   * Inserts `ops` (a run `groupable` just allowed) in one statement, each row with
   * the rowid SQLite itself would have given it: the largest so far plus one
   * (AUTOINCREMENT: never below its sqlite_sequence), counted on from row to
   * row. The transaction holds SQLite's write lock, so no other connection
   * inserts meanwhile. Throws when SQLite refuses the statement, or when it
   * inserted fewer rows than asked (a trigger's RAISE(IGNORE)): the batch is
   * then run again a row at a time, where each row gets its own outcome.
   */
  insertGroup(ops: readonly WriteOp[]): WriteResult[] {
    this.touched = false;
    const n = ops.length;
    const values = ops.map((op) => (op as Extract<WriteOp, { op: 'insert' }>).values);
    const columns = Object.keys(values[0]!);
    const first = this.nextKey;
    if (first === undefined || first === null) throw new Error('insertGroup without groupable');
    const g = this.groupStatement(columns, n);
    const stride = columns.length + 1;
    // The rowids as numbers while a double holds them exactly (short of 2^53 rows, always):
    // a BigInt per row, added and written out, costs more than binding the row's values.
    const exact = first >= -MAX_EXACT && first + BigInt(n) <= MAX_EXACT;
    const firstNumber = Number(first);
    for (let r = 0; r < n; r++) {
      g.params[r * stride] = exact ? firstNumber + r : first + BigInt(r);
      const row = values[r]!;
      for (let c = 0; c < columns.length; c++) {
        try {
          g.params[r * stride + 1 + c] = toNative(row[columns[c]!] ?? null, g.kinds[c]!);
        } catch (err) {
          throw new Error(`column ${columns[c]}: ${(err as Error).message}`);
        }
      }
    }
    this.touched = true;
    this.nextKey = undefined;
    const info = g.stmt.run(g.params);
    if (info.changes !== n) throw new Error(`${n - info.changes} of ${n} rows were not inserted`);
    this.nextKey = first + BigInt(n);
    return ops.map((op, r) => ({
      ref: op.ref,
      ok: true,
      key: String(exact ? firstNumber + r : first + BigInt(r)),
    }));
  }

  private groupStatement(columns: string[], n: number): Prepared {
    const id = `${n} ${columns.join('\u0000')}`;
    let g = this.groups.get(id);
    if (!g) {
      const names = [this.keyCol, ...columns.map(qi)];
      const row = `(${names.map(() => '?').join(', ')})`;
      const sql = `INSERT INTO ${this.t.sql} (${names.join(', ')}) VALUES ${Array(n).fill(row).join(', ')}`;
      g = {
        columns,
        kinds: columns.map((column) => kindOf(this.spec, column)),
        params: new Array(n * names.length),
        stmt: this.prepare(sql),
      };
      this.groups.set(id, g);
    }
    return g;
  }

  /** Reports the new key when the update changes it; no row (already gone) is fine: idempotent. */
  private updateRow(ref: number, key: string, values: Row): WriteResult {
    const columns = Object.keys(values);
    if (columns.length === 0) return { ref, ok: true, key };
    if (!this.update || !sameColumns(this.update.columns, columns)) {
      const sets = columns.map((c) => `${qi(c)} = ?`).join(', ');
      const sql = `UPDATE ${this.t.sql} SET ${sets} WHERE ${this.keyMatch} RETURNING ${this.keyCol}`;
      this.update = this.prepared(columns, this.exactText ? 2 : 1, sql);
    }
    const upd = this.update;
    this.bind(upd, values);
    this.bindKey(upd.params, columns.length, key);
    this.touched = true;
    const row = upd.stmt.get(upd.params) as unknown[] | undefined;
    return { ref, ok: true, key: (row && toKeyText(row[0], this.keyKind)) ?? key };
  }

  private delete(ref: number, key: string): WriteResult {
    this.remove ??= {
      stmt: this.prepare(`DELETE FROM ${this.t.sql} WHERE ${this.keyMatch}`),
      params: new Array(this.exactText ? 2 : 1),
    };
    this.bindKey(this.remove.params, 0, key);
    this.touched = true;
    this.remove.stmt.run(this.remove.params);
    return { ref, ok: true, key };
  }

  /** `keyParams` slots for the key follow the columns' parameters. */
  private prepared(columns: string[], keyParams: number, sql: string): Prepared {
    return {
      columns,
      kinds: columns.map((column) => kindOf(this.spec, column)),
      params: new Array(columns.length + keyParams),
      stmt: this.prepare(sql),
    };
  }

  private bindKey(params: Native[], at: number, key: string): void {
    const native = toNative(key, this.keyKind);
    params[at] = native;
    if (this.exactText) params[at + 1] = native;
  }

  private bind(p: Prepared, values: Row): void {
    const { columns, kinds, params } = p;
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      try {
        params[i] = toNative(values[column] ?? null, kinds[i]!);
      } catch (err) {
        throw new Error(`column ${column}: ${(err as Error).message}`);
      }
    }
  }
}

const INT64_MAX = 2n ** 63n - 1n;
/** The largest integer a double holds exactly (Number.MAX_SAFE_INTEGER). */
const MAX_EXACT = 2n ** 53n - 1n;

/** Whether `values` has exactly `columns`, in that order. */
function sameKeys(values: Row, columns: string[]): boolean {
  let i = 0;
  for (const k in values) if (columns[i++] !== k) return false;
  return i === columns.length;
}

function sameColumns(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
