/**
 * Batch writes, and the receipt each leaves in its own transaction.
 *
 * One IMMEDIATE transaction per batch, in which a refused row rolls back alone
 * with SQLite's own message. The `_tandem_writer` flag is 1 only inside this
 * transaction, which tells the capture triggers to skip our own writes (no
 * other connection can see it: SQLite has one writer at a time and the flag is
 * back to 0 before COMMIT).
 *
 * Isolating a row takes a savepoint around it, which costs about as much as
 * the insert itself. So a batch first runs without any; if a row then fails
 * after it touched the database (what a failed statement leaves behind cannot
 * be told apart from the rows before it), the transaction is rolled back and
 * the batch runs again with a savepoint per row. Either way the database ends
 * up as if every op had had its own savepoint. (One savepoint over a whole
 * chunk of rows is no cheaper: it keeps SQLite's statement journal from being
 * truncated after each row, and it spills to a temporary file.)
 *
 * A few failures roll back the whole transaction rather than the statement
 * (`RAISE(ROLLBACK)`, `ON CONFLICT ROLLBACK`); the guilty op is then marked
 * failed and the batch is run again without it.
 */
import { TandemError } from '../../core/errors.js';
import type { TableSpec, WriteOp, WriteReceipt, WriteResult } from '../connector.js';
import { receiptFromText, receiptText } from '../receipt-text.js';
import { RowWriter } from './row-writer.js';
import { nextRowid } from './rowid.js';
import { CREATED, errorMessage, isEnvironmentError, qi, type TableRef, WRITER } from './sql.js';
import type { Statement, Statements } from './statements.js';

/** How one try ended: all ops applied, a row to isolate, or the op that lost the transaction. */
type Attempt = { results: WriteResult[] } | 'isolate' | Lost;
type Lost = { lostAt: number; message: string };

interface Pass {
  q: Statements;
  writer: RowWriter;
  ops: WriteOp[];
  skip: Map<number, WriteResult>;
  results: WriteResult[];
}

export async function writeBatch(
  q: Statements,
  spec: TableSpec,
  ops: WriteOp[],
  receipt?: string,
  beforeCommit?: () => Promise<void>,
): Promise<WriteResult[]> {
  const failed = new Map<number, WriteResult>();
  let isolated = false;
  for (;;) {
    const attempt = await writeOnce(q, spec, ops, failed, isolated, receipt, beforeCommit);
    if (attempt === 'isolate') isolated = true;
    else if ('results' in attempt) return attempt.results;
    else {
      const op = ops[attempt.lostAt]!;
      failed.set(attempt.lostAt, { ref: op.ref, ok: false, message: attempt.message });
    }
  }
}

/** One try at the batch, skipping the ops that already lost the transaction once. */
async function writeOnce(
  q: Statements,
  spec: TableSpec,
  ops: WriteOp[],
  skip: Map<number, WriteResult>,
  isolated: boolean,
  receipt: string | undefined,
  beforeCommit: (() => Promise<void>) | undefined,
): Promise<Attempt> {
  const t = q.table(spec.table);
  q.run('BEGIN IMMEDIATE');
  try {
    const flagged = q.exists(t.schema, 'table', WRITER);
    if (flagged) q.run(`UPDATE ${qi(t.schema)}.${WRITER} SET active = 1`);
    if (receipt !== undefined) ensureCreatedTable(q, t.schema);
    const prepare = (sql: string) => prepareForWrite(q, sql, spec.table);
    const writer = new RowWriter(prepare, spec, t, isRowidKey(q, t, spec.key), () => nextRowid(q, t));
    const pass: Pass = { q, writer, ops, skip, results: new Array(ops.length) };

    const outcome = isolated ? runIsolated(pass) : runDirect(pass);
    if (outcome !== 'done') return outcome;

    if (receipt !== undefined) storeReceipt(q, t, receipt, pass.results);
    if (flagged) q.run(`UPDATE ${qi(t.schema)}.${WRITER} SET active = 0`);
    // The write lock is held meanwhile; the wait is the engine saving its intent (milliseconds).
    if (beforeCommit) await beforeCommit();
    q.run('COMMIT');
    return { results: pass.results };
  } finally {
    if (q.db.inTransaction) q.run('ROLLBACK');
  }
}

/**
 * The ops without savepoints. A row that fails before it touched the database
 * (a value it cannot bind) is simply refused; any other failure asks for
 * the batch to be run again isolated.
 */
function runDirect(p: Pass): 'done' | 'isolate' | Lost {
  const skipped = (i: number) => p.skip.has(i);
  for (let i = 0; i < p.ops.length; i++) {
    const op = p.ops[i]!;
    const skippedResult = p.skip.get(i);
    if (skippedResult) {
      p.results[i] = skippedResult;
      continue;
    }
    const n = p.writer.groupable(p.ops, i, skipped);
    if (n > 1) {
      try {
        const landed = p.writer.insertGroup(p.ops.slice(i, i + n));
        for (let r = 0; r < n; r++) p.results[i + r] = landed[r]!;
      } catch (err) {
        if (err instanceof TandemError || isEnvironmentError(err)) throw err;
        // Which row SQLite refused, and whether the others would land, only a row at a time tells.
        return 'isolate';
      }
      i += n - 1;
      continue;
    }
    try {
      p.results[i] = p.writer.apply(op);
    } catch (err) {
      const message = errorMessage(err);
      if (err instanceof TandemError || isEnvironmentError(err)) throw err;
      // Every row before this one landed, as it would have in its savepoint.
      if (!p.q.db.inTransaction) return { lostAt: i, message };
      if (p.writer.touched) return 'isolate';
      p.results[i] = { ref: op.ref, ok: false, message };
    }
  }
  return 'done';
}

/** The ops, each in its own savepoint so a refused row rolls back alone. */
function runIsolated(p: Pass): 'done' | Lost {
  const savepoint = p.q.prepare('SAVEPOINT tandem_op');
  const release = p.q.prepare('RELEASE tandem_op');
  const rollbackTo = p.q.prepare('ROLLBACK TO tandem_op');
  for (let i = 0; i < p.ops.length; i++) {
    const op = p.ops[i]!;
    const skipped = p.skip.get(i);
    if (skipped) {
      p.results[i] = skipped;
      continue;
    }
    savepoint.run();
    try {
      p.results[i] = p.writer.apply(op);
      release.run();
    } catch (err) {
      const message = errorMessage(err);
      if (err instanceof TandemError || isEnvironmentError(err)) throw err;
      if (!p.q.db.inTransaction) return { lostAt: i, message };
      rollbackTo.run();
      release.run();
      p.results[i] = { ref: op.ref, ok: false, message };
    }
  }
  return 'done';
}

/**
 * Whether `key` is the table's rowid: the one primary key column, declared
 * exactly INTEGER, with no index behind it (`INTEGER PRIMARY KEY DESC` and
 * WITHOUT ROWID tables have one, and there the column is not the rowid).
 */
function isRowidKey(q: Statements, t: TableRef, key: string): boolean {
  return q.fact(t.schema, `rowid key ${t.name} ${key}`, () => rowidKeyNow(q, t, key));
}

function rowidKeyNow(q: Statements, t: TableRef, key: string): boolean {
  const row = q.get(
    "SELECT count(*) = 1 AND max(name = ? AND upper(type) = 'INTEGER') " +
      "AND NOT EXISTS (SELECT 1 FROM pragma_index_list(?, ?) WHERE origin = 'pk') " +
      'FROM pragma_table_info(?, ?) WHERE pk > 0',
    key,
    t.name,
    t.schema,
    t.name,
    t.schema,
  );
  return row?.[0] === 1n;
}

/**
 * A statement that does not even compile (no such table or column) is the
 * schema's fault, not the row's: the batch fails instead of every row being
 * quarantined, and nothing is written.
 */
function prepareForWrite(q: Statements, sql: string, table: string): Statement {
  try {
    return q.prepare(sql);
  } catch (err) {
    if (isEnvironmentError(err)) throw err;
    throw new TandemError(
      'SCHEMA_DRIFT',
      `Cannot write to ${table}: ${errorMessage(err)}`,
      'The table or a mapped column changed since the sync was configured; run `tandem validate`.',
    );
  }
}

/** Receipts live in `_tandem_created`: one row per receipted write, its `key` the receipt's text (receipt-text.ts). */
function ensureCreatedTable(q: Statements, schema: string): void {
  if (q.exists(schema, 'table', CREATED)) return;
  q.db.exec(
    `CREATE TABLE IF NOT EXISTS ${qi(schema)}.${CREATED} (` +
      'token TEXT PRIMARY KEY, table_name TEXT NOT NULL, key TEXT NOT NULL, ' +
      "created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))) WITHOUT ROWID",
  );
}

function storeReceipt(q: Statements, t: TableRef, token: string, results: WriteResult[]): void {
  q.run(
    `INSERT OR REPLACE INTO ${qi(t.schema)}.${CREATED} (token, table_name, key) VALUES (?, ?, ?)`,
    token,
    t.name,
    receiptText(results),
  );
}

/** Receipts of committed writes under these tokens. */
export function readReceipts(q: Statements, t: TableRef, tokens: string[]): Map<string, WriteReceipt> {
  const found = new Map<string, WriteReceipt>();
  if (tokens.length === 0 || !q.exists(t.schema, 'table', CREATED)) return found;
  const rows = q.all(
    `SELECT token, key FROM ${qi(t.schema)}.${CREATED} ` +
      'WHERE table_name = ? AND token IN (SELECT value FROM json_each(?))',
    t.name,
    JSON.stringify(tokens),
  );
  for (const [token, body] of rows) found.set(String(token), receiptFromText(String(body)));
  return found;
}

export function forgetReceipts(q: Statements, t: TableRef, tokens: string[]): void {
  if (tokens.length === 0 || !q.exists(t.schema, 'table', CREATED)) return;
  q.run(
    `DELETE FROM ${qi(t.schema)}.${CREATED} WHERE table_name = ? AND token IN (SELECT value FROM json_each(?))`,
    t.name,
    JSON.stringify(tokens),
  );
}
