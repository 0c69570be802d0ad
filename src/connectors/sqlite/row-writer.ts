/**
 * Applies single ops of one batch. Batches are mostly runs of ops with the
 * same columns, so the last statement per op type is kept and reused while the
 * column list repeats: no SQL is built or looked up per row, and parameters
 * are bound into one array per statement, reused from row to row.
 */
import type { ColumnKind, Row } from '../../core/types.js';
import type { TableSpec, WriteOp, WriteResult } from '../connector.js';
import { type Native, toKeyText, toNative } from './convert.js';
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

  /**
   * `rowidKey`: the key column is the table's rowid (an INTEGER PRIMARY KEY),
   * so an insert's key is SQLite's last insert rowid and needs no RETURNING.
   */
  constructor(
    private readonly prepare: (sql: string) => Statement,
    private readonly spec: TableSpec,
    private readonly t: TableRef,
    private readonly rowidKey: boolean,
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

function sameColumns(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
