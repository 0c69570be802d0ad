/**
 * Batch writes, and the receipt each leaves in its own transaction.
 *
 * One transaction per batch, on a transactional table only (a MyISAM table is
 * refused whole: introspect.ts). Consecutive inserts with the same columns go
 * as one multi-row INSERT (… RETURNING the key on MariaDB 10.5+), consecutive
 * deletes as one DELETE … IN, consecutive updates of distinct keys setting the
 * same columns as one UPDATE with a CASE per column. Each group runs under a
 * savepoint; a group the server refuses is rolled back to it whole (what it
 * had written too, when it was several statements), then run again one op at
 * a time, each under its own savepoint: the refused row fails alone with the
 * server's own message and the others land, each once.
 *
 * Keys the server assigns: MariaDB says them with RETURNING; MySQL has no
 * RETURNING, and with innodb_autoinc_lock_mode=2 (its default) a multi-row
 * INSERT's keys need not be consecutive, so there each insert without its key
 * goes alone and its key is the statement's insert id (LAST_INSERT_ID()). An
 * insert whose key the server made otherwise (a DEFAULT such as UUID()) has
 * no insert id: it is undone and fails, never kept without a link.
 */
import { TandemError } from '../../core/errors.js';
import type { Canonical, Row } from '../../core/types.js';
import type { TableSpec, WriteOp, WriteOptions, WriteReceipt, WriteResult } from '../connector.js';
import { receiptFromText, receiptText } from '../receipt-text.js';
import { toCanonical, toParam } from './convert.js';
import { assertTransactional, type ColumnFacts, columnsOf } from './introspect.js';
import type { MysqlSession, Param } from './session.js';
import {
  type Flavour,
  flavour,
  inExactly,
  kindOf,
  qi,
  RECEIPTS_TABLE,
  receiptsOf,
  type TableRef,
  twiceFor,
} from './sql.js';

/** Rows per statement: bounds a statement's size (max_allowed_packet), not the batch. */
const MAX_ROWS = 1_000;
/** Updates per statement: each row's CASE looks through the statement's keys, so fewer. */
const MAX_UPDATE_ROWS = 200;

/** SQLSTATE classes of a refusal that belongs to one row: data (22), a constraint (23), a trigger's SIGNAL (45). */
const ROW_CLASSES = new Set(['22', '23', '45']);
/**
 * Server errors of one row that come with a general SQLSTATE (HY000, 01000):
 * no default, incorrect or truncated value, out of range, CHECK, SIGNAL, bad JSON.
 */
const ROW_ERRNOS = new Set([
  1048, 1062, 1263, 1264, 1265, 1292, 1364, 1366, 1367, 1406, 1411, 1451, 1452, 1644, 1690, 3105, 3140, 3819,
  4025,
]);
/** No such table / column: the schema changed under the sync. */
const SCHEMA_ERRNOS = new Set([1146, 1054]);

class RowRefused extends Error {}

interface Ctx {
  s: MysqlSession;
  t: TableRef;
  spec: TableSpec;
  facts: Map<string, ColumnFacts>;
  f: Flavour;
}

export interface BatchWriteOptions extends WriteOptions {
  /** The token of the receipt the batch leaves, in its own transaction. */
  receipt?: string | undefined;
  /** Receipts of saved batches, deleted in this batch's transaction (forgotten-receipts.ts). */
  forget?: string[];
}

export async function writeBatch(
  s: MysqlSession,
  t: TableRef,
  spec: TableSpec,
  ops: WriteOp[],
  { receipt, beforeCommit, onSent, forget = [] }: BatchWriteOptions = {},
): Promise<WriteResult[]> {
  const ctx: Ctx = { s, t, spec, facts: await columnsOf(s, t), f: await flavour(s) };
  await assertTransactional(s, t, spec.table);
  // DDL commits the transaction it is in: the receipts table is made before the batch begins.
  if (receipt !== undefined) await ensureReceipts(s, t);
  await s.run('START TRANSACTION');
  try {
    const running = runOps(ctx, ops);
    // Its first statement goes to the connection before the caller's next macrotask.
    onSent?.();
    const results = await running;
    if (receipt !== undefined) {
      await forgetReceipts(s, t, forget);
      await storeReceipt(s, t, receipt, results);
    }
    if (beforeCommit) await beforeCommit();
    await s.run('COMMIT');
    return results;
  } catch (err) {
    await s.run('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Runs the ops in groups; a group the server refuses runs again op by op. */
async function runOps(ctx: Ctx, ops: WriteOp[]): Promise<WriteResult[]> {
  const results: WriteResult[] = [];
  let i = 0;
  while (i < ops.length) {
    const op = ops[i]!;
    let j = i + 1;
    if (op.op === 'insert') {
      const columns = Object.keys(op.values);
      while (
        j < ops.length &&
        j - i < MAX_ROWS &&
        ops[j]!.op === 'insert' &&
        sameColumns(columns, Object.keys((ops[j] as { values: Row }).values))
      )
        j++;
    } else if (op.op === 'delete') {
      while (j < ops.length && j - i < MAX_ROWS && ops[j]!.op === 'delete') j++;
    } else if (batchable(ctx, op)) {
      const columns = Object.keys(op.values);
      const keys = new Set([op.key]);
      while (j < ops.length && j - i < MAX_UPDATE_ROWS) {
        const next = ops[j]!;
        // A key twice: the later update must win, as one statement each would have it.
        if (next.op !== 'update' || keys.has(next.key) || !batchable(ctx, next)) break;
        if (!sameColumns(columns, Object.keys(next.values))) break;
        keys.add(next.key);
        j++;
      }
    }
    const group = ops.slice(i, j);
    const tried = await attempt(ctx, group);
    if (!(tried instanceof RowRefused)) results.push(...tried);
    else if (group.length === 1) results.push({ ref: op.ref, ok: false, message: tried.message });
    else {
      // Each op in its own savepoint, so a refused row rolls back alone.
      for (const one of group) {
        const r = await attempt(ctx, [one]);
        results.push(
          ...(r instanceof RowRefused ? [{ ref: one.ref, ok: false as const, message: r.message }] : r),
        );
      }
    }
    i = j;
  }
  return results;
}

/**
 * One group under a savepoint: what it wrote stays when it succeeds, and is
 * undone to the last row when the server refuses a row of it (a group may be
 * several statements, or one whose rows cannot all be told apart afterwards),
 * so a rerun op by op never writes a row twice. A refusal of a row is
 * returned; anything else is thrown (the batch's transaction is then rolled
 * back whole).
 */
async function attempt(ctx: Ctx, group: WriteOp[]): Promise<WriteResult[] | RowRefused> {
  const { s } = ctx;
  await s.run('SAVEPOINT tandem_group');
  try {
    const results = await runGroup(ctx, group);
    await s.run('RELEASE SAVEPOINT tandem_group');
    return results;
  } catch (err) {
    const e = classify(err, ctx.spec.table);
    if (!(e instanceof RowRefused)) throw e;
    await s.run('ROLLBACK TO SAVEPOINT tandem_group');
    await s.run('RELEASE SAVEPOINT tandem_group');
    return e;
  }
}

/** One group of like ops (see runOps), as few statements as the server allows. */
async function runGroup(ctx: Ctx, group: WriteOp[]): Promise<WriteResult[]> {
  const first = group[0]!;
  if (first.op === 'insert') return insertMany(ctx, group as Extract<WriteOp, { op: 'insert' }>[]);
  if (first.op === 'delete') {
    const { s, t, spec, f } = ctx;
    const kind = kindOf(spec, spec.key);
    const params = group.map((g) => toParam((g as { key: string }).key, kind));
    await s.run(
      `DELETE FROM ${t.sql} WHERE ${inExactly(spec.key, kind, group.length, f)}`,
      twiceFor(kind) ? [...params, ...params] : params,
    );
    // A key already gone is fine (idempotent).
    return group.map((g) => ({ ref: g.ref, ok: true, key: (g as { key: string }).key }));
  }
  const updates = group as Extract<WriteOp, { op: 'update' }>[];
  return updates.length === 1 ? [await updateOne(ctx, updates[0]!)] : updateMany(ctx, updates);
}

type Update = Extract<WriteOp, { op: 'update' }>;

/**
 * Whether an update may share a statement with its neighbours: it sets some
 * columns, and not the key (a statement's SET runs left to right, so a key
 * changed first would no longer match the CASEs after it).
 */
function batchable(ctx: Ctx, op: Update): boolean {
  const columns = Object.keys(op.values);
  return columns.length > 0 && !columns.includes(ctx.spec.key);
}

/**
 * Updates of distinct keys that set the same columns, as one statement:
 * `SET c = CASE key WHEN k1 THEN v1 … ELSE c END WHERE key IN (k1, …)`, the
 * key compared exactly both in the CASE and in the WHERE (see inExactly).
 */
async function updateMany(ctx: Ctx, group: Update[]): Promise<WriteResult[]> {
  const { s, t, spec, f } = ctx;
  const columns = Object.keys(group[0]!.values);
  const kind = kindOf(spec, spec.key);
  const keyParams = group.map((g) => toParam(g.key, kind));
  const subject =
    kind === 'text' ? `CONVERT(${qi(spec.key)} USING utf8mb4) COLLATE ${f.exactCollation}` : qi(spec.key);
  const whens = group.map(() => 'WHEN ? THEN ?').join(' ');
  const sets = columns.map((c) => `${qi(c)} = CASE ${subject} ${whens} ELSE ${qi(c)} END`).join(', ');
  const values: Param[] = [];
  for (const c of columns)
    for (const [n, g] of group.entries())
      values.push(keyParams[n]!, toParam((g.values[c] ?? null) as Canonical, kindOf(spec, c)));
  await s.run(`UPDATE ${t.sql} SET ${sets} WHERE ${inExactly(spec.key, kind, group.length, f)}`, [
    ...values,
    ...keyParams,
    ...(twiceFor(kind) ? keyParams : []),
  ]);
  // A key with no row (already gone) is fine: idempotent.
  return group.map((g) => ({ ref: g.ref, ok: true, key: g.key }));
}

async function updateOne(ctx: Ctx, op: Extract<WriteOp, { op: 'update' }>): Promise<WriteResult> {
  const { s, t, spec, f } = ctx;
  const columns = Object.keys(op.values);
  if (columns.length === 0) return { ref: op.ref, ok: true, key: op.key };
  const kind = kindOf(spec, spec.key);
  const keyParam = toParam(op.key, kind);
  await s.run(
    `UPDATE ${t.sql} SET ${columns.map((c) => `${qi(c)} = ?`).join(', ')} WHERE ${inExactly(spec.key, kind, 1, f)}`,
    [...params(spec, columns, op.values), keyParam, ...(twiceFor(kind) ? [keyParam] : [])],
  );
  // No row (already gone) is fine: idempotent. An update of the key itself reports the new key.
  const newKey = op.values[spec.key];
  return { ref: op.ref, ok: true, key: newKey === undefined || newKey === null ? op.key : String(newKey) };
}

async function insertMany(ctx: Ctx, group: Extract<WriteOp, { op: 'insert' }>[]): Promise<WriteResult[]> {
  const { s, t, spec, f } = ctx;
  const columns = Object.keys(group[0]!.values);
  for (const c of columns) if (!ctx.facts.has(c)) throw drift(spec.table, `column ${c} does not exist`);
  const keyFacts = ctx.facts.get(spec.key);
  const keyKind = kindOf(spec, spec.key);
  const head = `INSERT INTO ${t.sql} (${columns.map(qi).join(', ')}) VALUES `;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const values = group.flatMap((g) => params(spec, columns, g.values));
  const keyOf = (v: unknown): string => String(toCanonical(v, keyKind, keyFacts?.columnType));

  if (f.returning) {
    const rows = await s.rows(
      `${head}${group.map(() => tuple).join(', ')} RETURNING ${qi(spec.key)}`,
      values,
    );
    // Fewer keys than rows (a trigger skipped one): which row got which key is unknown.
    if (rows.length !== group.length) throw new RowRefused('a row was not inserted');
    return group.map((g, n) => ({ ref: g.ref, ok: true, key: keyOf(rows[n]![0]) }));
  }
  if (columns.includes(spec.key) && group.every((g) => g.values[spec.key] != null)) {
    await s.run(`${head}${group.map(() => tuple).join(', ')}`, values);
    return group.map((g) => ({ ref: g.ref, ok: true, key: keyOf(g.values[spec.key]) }));
  }
  // One statement per row, under the group's savepoint (attempt): a row refused, or one whose key
  // cannot be known, undoes the rows before it too, and the rerun op by op writes each once.
  const out: WriteResult[] = [];
  for (const g of group) {
    const r = await s.run(`${head}${tuple}`, params(spec, columns, g.values));
    const given = g.values[spec.key];
    if (given !== undefined && given !== null) {
      out.push({ ref: g.ref, ok: true, key: keyOf(given) });
      continue;
    }
    const id = r.insertId as unknown;
    if (id === 0 || id === '0' || id === undefined || id === null)
      throw new RowRefused(
        `the server assigned no key it can report: ${spec.key} is not AUTO_INCREMENT (a DEFAULT such as UUID() is not reported without INSERT … RETURNING, which MySQL lacks) and no value was given; the row was not written. Give ${spec.key} a value in the mapping, or make it AUTO_INCREMENT`,
      );
    out.push({ ref: g.ref, ok: true, key: keyOf(id) });
  }
  return out;
}

function params(spec: TableSpec, columns: string[], values: Row): Param[] {
  return columns.map((c) => toParam((values[c] ?? null) as Canonical, kindOf(spec, c)));
}

const drift = (table: string, what: string) =>
  new TandemError(
    'SCHEMA_DRIFT',
    `Cannot write to ${table}: ${what}`,
    'The table or a mapped column changed since the sync was configured; run `tandem validate`.',
  );

/**
 * A refusal of one row becomes RowRefused with the server's message; a missing
 * table or column is the schema's fault (SCHEMA_DRIFT); anything else (a lost
 * connection, a deadlock, a missing privilege) is thrown as it is.
 */
function classify(err: unknown, table: string): Error {
  if (err instanceof RowRefused || err instanceof TandemError) return err;
  const e = err as { errno?: unknown; sqlState?: unknown; message?: unknown };
  const message = err instanceof Error ? err.message : String(err);
  const errno = typeof e.errno === 'number' ? e.errno : -1;
  const state = typeof e.sqlState === 'string' ? e.sqlState : '';
  if (SCHEMA_ERRNOS.has(errno)) return drift(table, message);
  // MariaDB's CHECK failure ("CONSTRAINT `t.c` failed for …") does not say it is a CHECK: said here.
  if (errno === 4025) return new RowRefused(`CHECK ${message}`);
  if (ROW_ERRNOS.has(errno) || ROW_CLASSES.has(state.slice(0, 2))) return new RowRefused(message);
  return err instanceof Error ? err : new Error(message);
}

function sameColumns(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ------------------------------------------------------------ receipts

/** Receipts name a table by its name: each database keeps its own tables' receipts. */
const RECEIPTS_KNOWN = (t: TableRef) => `receipts ${t.database}`;

async function ensureReceipts(s: MysqlSession, t: TableRef): Promise<void> {
  if (s.known.get(RECEIPTS_KNOWN(t)) === true) return;
  await s.run(
    `CREATE TABLE IF NOT EXISTS ${receiptsOf(t)} (
       token VARCHAR(191) NOT NULL, table_name VARCHAR(64) NOT NULL, body LONGTEXT NOT NULL,
       created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
       PRIMARY KEY (table_name, token)
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  );
  s.known.set(RECEIPTS_KNOWN(t), true);
}

async function storeReceipt(
  s: MysqlSession,
  t: TableRef,
  token: string,
  results: WriteResult[],
): Promise<void> {
  await s.run(
    `INSERT INTO ${receiptsOf(t)} (token, table_name, body) VALUES (?, ?, ?)
     ON DUPLICATE KEY UPDATE body = VALUES(body)`,
    [token, t.name, receiptText(results)],
  );
}

/** Whether the receipts table exists; only a yes is remembered (teardown may drop it). */
async function receiptsExist(s: MysqlSession, t: TableRef): Promise<boolean> {
  if (s.known.get(RECEIPTS_KNOWN(t)) === true) return true;
  const rows = await s.rows(
    'SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [t.database, RECEIPTS_TABLE],
  );
  const exists = rows.some((r) => r[0] === RECEIPTS_TABLE);
  if (exists) s.known.set(RECEIPTS_KNOWN(t), true);
  return exists;
}

export async function readReceipts(
  s: MysqlSession,
  t: TableRef,
  tokens: string[],
): Promise<Map<string, WriteReceipt>> {
  const found = new Map<string, WriteReceipt>();
  if (tokens.length === 0 || !(await receiptsExist(s, t))) return found;
  for (let i = 0; i < tokens.length; i += MAX_ROWS) {
    const chunk = tokens.slice(i, i + MAX_ROWS);
    const rows = await s.rows(
      `SELECT token, body FROM ${receiptsOf(t)} WHERE table_name = ? AND token IN (?)`,
      [t.name, chunk],
    );
    for (const [token, body] of rows) found.set(String(token), receiptFromText(String(body)));
  }
  return found;
}

export async function forgetReceipts(s: MysqlSession, t: TableRef, tokens: string[]): Promise<void> {
  if (tokens.length === 0 || !(await receiptsExist(s, t))) return;
  for (let i = 0; i < tokens.length; i += MAX_ROWS)
    await s.run(`DELETE FROM ${receiptsOf(t)} WHERE table_name = ? AND token IN (?)`, [
      t.name,
      tokens.slice(i, i + MAX_ROWS),
    ]);
}

/** Every receipt of the table (removeCapture). */
export async function forgetAllReceipts(s: MysqlSession, t: TableRef): Promise<void> {
  if (!(await receiptsExist(s, t))) return;
  await s.run(`DELETE FROM ${receiptsOf(t)} WHERE table_name = ?`, [t.name]);
}

/** Drops the receipts table of a database (teardown). */
export async function dropReceipts(s: MysqlSession, t: TableRef): Promise<void> {
  await s.run(`DROP TABLE IF EXISTS ${receiptsOf(t)}`);
  s.known.delete(RECEIPTS_KNOWN(t));
}
