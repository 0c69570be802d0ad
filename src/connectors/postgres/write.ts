/**
 * Batch writes, and the receipt each leaves in its own transaction.
 *
 * One transaction per batch. It first runs fast: consecutive inserts with the
 * same columns as one INSERT … SELECT FROM unnest(…) RETURNING, consecutive
 * updates of the same columns (not the key) as one UPDATE … FROM unnest(…),
 * consecutive deletes as one DELETE … = ANY, and any other op alone. If the
 * server refuses a row, PostgreSQL aborts the whole transaction, so it is
 * rolled back and the batch runs again with a savepoint per op: the refused
 * row fails alone with the server's own message and the others land, as if
 * every op had had its own savepoint.
 */
import { TandemError } from '../../core/errors.js';
import type { Row } from '../../core/types.js';
import type { TableSpec, WriteOp, WriteOptions, WriteReceipt, WriteResult } from '../connector.js';
import { receiptFromText, receiptText } from '../receipt-text.js';
import { toParam } from './convert.js';
import type { Param, PgSession } from './session.js';
import { kindOf, qi, RECEIPTS, TANDEM_SCHEMA, type TableRef } from './sql.js';

/** Rows per statement: one array per column carries them, so this only bounds a statement's size. */
const MAX_ROWS = 1_000;

/**
 * SQLSTATE classes of a refusal that belongs to one row (its value, a
 * constraint, a trigger's RAISE). Anything else (a lost connection, a missing
 * table or privilege) is the environment's and fails the batch.
 */
const ROW_CLASSES = new Set(['09', '22', '23', '27', '2F', '38', '39', '44', 'P0']);

class RowRefused extends Error {}

export interface BatchWriteOptions extends WriteOptions {
  /** The token of the receipt the batch leaves, in its own transaction. */
  receipt?: string | undefined;
  /** Receipts of saved batches, deleted by the same statement that stores this one (forgotten-receipts.ts). */
  forget?: string[];
}

export async function writeBatch(
  s: PgSession,
  t: TableRef,
  spec: TableSpec,
  ops: WriteOp[],
  { receipt, beforeCommit, onSent, forget = [] }: BatchWriteOptions = {},
): Promise<WriteResult[]> {
  for (const isolated of [false, true]) {
    await s.run('BEGIN');
    try {
      const running = isolated ? runIsolated(s, t, spec, ops) : runFast(s, t, spec, ops);
      // Its first statement goes to the connection before the caller's next macrotask.
      if (!isolated) onSent?.();
      const results = await running;
      if (receipt !== undefined) await storeReceipt(s, t, receipt, results, forget);
      if (beforeCommit) await beforeCommit();
      await s.run('COMMIT');
      return results;
    } catch (err) {
      await s.run('ROLLBACK').catch(() => {});
      if (!(err instanceof RowRefused) || isolated) throw err;
    }
  }
  throw new Error('unreachable');
}

/** All ops without savepoints; a refused row throws RowRefused (the caller goes isolated). */
async function runFast(s: PgSession, t: TableRef, spec: TableSpec, ops: WriteOp[]): Promise<WriteResult[]> {
  const results: WriteResult[] = [];
  let i = 0;
  while (i < ops.length) {
    const op = ops[i]!;
    let j = i + 1;
    try {
      if (op.op === 'insert' && Object.keys(op.values).length > 0) {
        const columns = Object.keys(op.values);
        while (
          j < ops.length &&
          j - i < MAX_ROWS &&
          ops[j]!.op === 'insert' &&
          sameColumns(columns, Object.keys((ops[j] as { values: Row }).values))
        )
          j++;
        const group = ops.slice(i, j) as Extract<WriteOp, { op: 'insert' }>[];
        const keys = await insertMany(s, t, spec, columns, group);
        // Fewer keys than rows (a trigger skipped one): which row got which key is unknown.
        if (keys.length !== group.length) throw new RowRefused('a row was not inserted');
        for (let n = 0; n < group.length; n++) results.push({ ref: group[n]!.ref, ok: true, key: keys[n]! });
      } else if (op.op === 'update' && batchableUpdate(spec, op)) {
        const columns = Object.keys(op.values);
        while (
          j < ops.length &&
          j - i < MAX_ROWS &&
          ops[j]!.op === 'update' &&
          sameColumns(columns, Object.keys((ops[j] as { values: Row }).values)) &&
          batchableUpdate(spec, ops[j] as Extract<WriteOp, { op: 'update' }>)
        )
          j++;
        const group = ops.slice(i, j) as Extract<WriteOp, { op: 'update' }>[];
        await updateMany(s, t, spec, columns, group);
        // A key already gone is fine (idempotent); none of these changes a key.
        for (const g of group) results.push({ ref: g.ref, ok: true, key: g.key });
      } else if (op.op === 'delete') {
        while (j < ops.length && ops[j]!.op === 'delete') j++;
        const group = ops.slice(i, j) as Extract<WriteOp, { op: 'delete' }>[];
        await s.run(`DELETE FROM ${t.sql} WHERE ${qi(spec.key)} = ANY ($1)`, [
          group.map((g) => toParam(g.key, kindOf(spec, spec.key)) ?? ''),
        ]);
        for (const g of group) results.push({ ref: g.ref, ok: true, key: g.key });
      } else {
        results.push(await applyOne(s, t, spec, op));
      }
    } catch (err) {
      throw rowOrEnvironment(err, spec.table);
    }
    i = j;
  }
  return results;
}

/** Every op in its own savepoint, so a refused row rolls back alone. */
async function runIsolated(
  s: PgSession,
  t: TableRef,
  spec: TableSpec,
  ops: WriteOp[],
): Promise<WriteResult[]> {
  const results: WriteResult[] = [];
  for (const op of ops) {
    await s.run('SAVEPOINT tandem_op');
    try {
      results.push(await applyOne(s, t, spec, op));
      await s.run('RELEASE SAVEPOINT tandem_op');
    } catch (err) {
      const e = rowOrEnvironment(err, spec.table);
      if (!(e instanceof RowRefused)) throw e;
      await s.run('ROLLBACK TO SAVEPOINT tandem_op');
      await s.run('RELEASE SAVEPOINT tandem_op');
      results.push({ ref: op.ref, ok: false, message: e.message });
    }
  }
  return results;
}

async function applyOne(s: PgSession, t: TableRef, spec: TableSpec, op: WriteOp): Promise<WriteResult> {
  const key = qi(spec.key);
  const keyKind = kindOf(spec, spec.key);
  switch (op.op) {
    case 'insert': {
      const columns = Object.keys(op.values);
      const rows =
        columns.length === 0
          ? await s.rows(`INSERT INTO ${t.sql} DEFAULT VALUES RETURNING ${key}::text`)
          : await s.rows(
              `INSERT INTO ${t.sql} (${columns.map(qi).join(', ')}) VALUES (${columns.map((_, n) => `$${n + 1}`).join(', ')}) RETURNING ${key}::text`,
              params(spec, columns, op.values),
            );
      const k = rows[0]?.[0];
      if (k === null || k === undefined)
        throw new RowRefused(`the inserted row has no value in key column ${spec.key}`);
      return { ref: op.ref, ok: true, key: k };
    }
    case 'update': {
      const columns = Object.keys(op.values);
      if (columns.length === 0) return { ref: op.ref, ok: true, key: op.key };
      const sets = columns.map((c, n) => `${qi(c)} = $${n + 1}`).join(', ');
      const rows = await s.rows(
        `UPDATE ${t.sql} SET ${sets} WHERE ${key} = $${columns.length + 1} RETURNING ${key}::text`,
        [...params(spec, columns, op.values), toParam(op.key, keyKind)],
      );
      // No row (already gone) is fine: idempotent. A key the update changed is reported.
      return { ref: op.ref, ok: true, key: rows[0]?.[0] ?? op.key };
    }
    case 'delete':
      await s.run(`DELETE FROM ${t.sql} WHERE ${key} = $1`, [toParam(op.key, keyKind)]);
      return { ref: op.ref, ok: true, key: op.key };
  }
}

/**
 * One INSERT of many rows: each column's values as one text array, unnested
 * in order and cast to the column's type, so the statement text and its plan
 * are the same for every batch. The cast names the type without its modifier
 * (`varchar`, not `varchar(10)`): an explicit cast to `varchar(10)` would cut
 * a long value silently, while assigning to the column refuses it. The keys
 * come back in the order of the rows.
 */
async function insertMany(
  s: PgSession,
  t: TableRef,
  spec: TableSpec,
  columns: string[],
  group: Extract<WriteOp, { op: 'insert' }>[],
): Promise<string[]> {
  const types = await columnTypes(s, t);
  const arrays: Param[] = columns.map((c) => {
    const kind = kindOf(spec, c);
    return group.map((g) => toParam(g.values[c] ?? null, kind)) as string[];
  });
  const names = columns.map((_, n) => `c${n}`);
  const casts = columns.map((c, n) => {
    const type = types.get(c);
    if (type === undefined) {
      throw new TandemError(
        'SCHEMA_DRIFT',
        `Cannot write to ${spec.table}: column ${c} does not exist`,
        'The table or a mapped column changed since the sync was configured; run `tandem validate`.',
      );
    }
    return `u.${names[n]}::${type}`;
  });
  const rows = await s.rows(
    `INSERT INTO ${t.sql} (${columns.map(qi).join(', ')})
     SELECT ${casts.join(', ')}
     FROM unnest(${columns.map((_, n) => `$${n + 1}::text[]`).join(', ')}) WITH ORDINALITY AS u(${names.join(', ')}, n)
     ORDER BY u.n
     RETURNING ${qi(spec.key)}::text`,
    arrays,
  );
  return rows.map((r) => r[0]!).filter((k) => k !== null);
}

/** An update that can go with others in one statement: it sets columns, and not the key. */
function batchableUpdate(spec: TableSpec, op: Extract<WriteOp, { op: 'update' }>): boolean {
  let n = 0;
  for (const c in op.values) {
    if (c === spec.key) return false;
    n++;
  }
  return n > 0;
}

/**
 * One UPDATE of many rows, joined to their new values unnested from one text
 * array per column (cast as in insertMany). Each key appears once in a batch
 * (the engine makes one outcome per record), so no row is matched twice.
 */
async function updateMany(
  s: PgSession,
  t: TableRef,
  spec: TableSpec,
  columns: string[],
  group: Extract<WriteOp, { op: 'update' }>[],
): Promise<void> {
  const types = await columnTypes(s, t);
  const keyType = types.get(spec.key);
  const names = columns.map((_, n) => `c${n}`);
  const sets = columns.map((c, n) => {
    const type = types.get(c);
    if (type === undefined || keyType === undefined) {
      throw new TandemError(
        'SCHEMA_DRIFT',
        `Cannot write to ${spec.table}: column ${type === undefined ? c : spec.key} does not exist`,
        'The table or a mapped column changed since the sync was configured; run `tandem validate`.',
      );
    }
    return `${qi(c)} = u.${names[n]}::${type}`;
  });
  const keyKind = kindOf(spec, spec.key);
  const arrays: Param[] = [
    group.map((g) => toParam(g.key, keyKind) ?? ''),
    ...columns.map((c) => {
      const kind = kindOf(spec, c);
      return group.map((g) => toParam(g.values[c] ?? null, kind)) as string[];
    }),
  ];
  await s.run(
    `UPDATE ${t.sql} SET ${sets.join(', ')}
     FROM unnest(${arrays.map((_, n) => `$${n + 1}::text[]`).join(', ')}) AS u(k, ${names.join(', ')})
     WHERE ${t.sql}.${qi(spec.key)} = u.k::${keyType}`,
    arrays,
  );
}

/** Each column's type without its modifier, as SQL (`character varying`, `numeric`, `integer[]`). */
function columnTypes(s: PgSession, t: TableRef): Promise<Map<string, string>> {
  return s.fact(`types ${t.sql}`, async () => {
    const rows = await s.rows(
      `SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a
       WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
      [t.schema === null ? qi(t.name) : `${qi(t.schema)}.${qi(t.name)}`],
    );
    return new Map(rows.map(([name, type]) => [name!, type!]));
  });
}

function params(spec: TableSpec, columns: string[], values: Row): Param[] {
  return columns.map((c) => toParam(values[c] ?? null, kindOf(spec, c)));
}

/**
 * A refusal of one row becomes RowRefused with the server's message; a missing
 * table or column is the schema's fault (SCHEMA_DRIFT); anything else is thrown
 * as it is.
 */
function rowOrEnvironment(err: unknown, table: string): Error {
  if (err instanceof RowRefused || err instanceof TandemError) return err;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && ROW_CLASSES.has(code.slice(0, 2))) return new RowRefused(message);
  if (code === '42P01' || code === '42703') {
    return new TandemError(
      'SCHEMA_DRIFT',
      `Cannot write to ${table}: ${message}`,
      'The table or a mapped column changed since the sync was configured; run `tandem validate`.',
    );
  }
  return err instanceof Error ? err : new Error(message);
}

// ------------------------------------------------------------ receipts

async function storeReceipt(
  s: PgSession,
  t: TableRef,
  token: string,
  results: WriteResult[],
  forget: string[],
): Promise<void> {
  await ensureReceipts(s);
  const store = `INSERT INTO ${RECEIPTS} (token, table_name, body) VALUES ($1, $2, $3)
     ON CONFLICT (token, table_name) DO UPDATE SET body = excluded.body`;
  const params = [token, tableName(t), receiptText(results)];
  if (forget.length === 0) await s.run(store, params);
  else {
    await s.run(
      `WITH forgotten AS (DELETE FROM ${RECEIPTS} WHERE table_name = $2 AND token = ANY ($4)) ${store}`,
      [...params, forget],
    );
  }
}

/**
 * tandem's schema and receipts table, made on first use (inside the batch's
 * transaction; remembered once that has committed).
 */
async function ensureReceipts(s: PgSession): Promise<void> {
  if (s.known.get(RECEIPTS) === true) return;
  await s.run(`CREATE SCHEMA IF NOT EXISTS ${TANDEM_SCHEMA}`);
  await s.run(
    `CREATE TABLE IF NOT EXISTS ${RECEIPTS} (
       token text NOT NULL, table_name text NOT NULL, body text NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (token, table_name))`,
  );
}

/** Whether the receipts table exists; only a yes is remembered (teardown may drop it). */
async function receiptsExist(s: PgSession): Promise<boolean> {
  if (s.known.get(RECEIPTS) === true) return true;
  const rows = await s.rows('SELECT to_regclass($1) IS NOT NULL', [RECEIPTS]);
  const exists = rows[0]?.[0] === 'true' || rows[0]?.[0] === 't';
  if (exists) s.known.set(RECEIPTS, true);
  return exists;
}

/** The table as receipts name it: schema-qualified only when the config named a schema. */
export const tableName = (t: TableRef) => (t.schema === null ? t.name : `${t.schema}.${t.name}`);

export async function readReceipts(
  s: PgSession,
  t: TableRef,
  tokens: string[],
): Promise<Map<string, WriteReceipt>> {
  const found = new Map<string, WriteReceipt>();
  if (tokens.length === 0 || !(await receiptsExist(s))) return found;
  const rows = await s.rows(
    `SELECT token, body FROM ${RECEIPTS} WHERE table_name = $1 AND token = ANY ($2)`,
    [tableName(t), tokens],
  );
  for (const [token, body] of rows) found.set(token!, receiptFromText(body!));
  return found;
}

export async function forgetReceipts(s: PgSession, t: TableRef, tokens: string[]): Promise<void> {
  if (tokens.length === 0 || !(await receiptsExist(s))) return;
  await s.run(`DELETE FROM ${RECEIPTS} WHERE table_name = $1 AND token = ANY ($2)`, [tableName(t), tokens]);
}

function sameColumns(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
