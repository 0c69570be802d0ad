/**
 * Raw baseline for the first sync: the minimal script a person would write to
 * copy the rows. Reads every row of the left table and inserts it straight into
 * a fresh SQLite file with the right table's schema (its own key, the
 * external-ID column with its unique index), with one prepared statement in big
 * transactions. Same library, same journal mode (WAL) and the same default
 * `synchronous` as tandem's connections.
 *
 *   node bench/baseline-copy.mjs LEFT.db OUT.db TX_ROWS
 *
 * Prints {"rows", "ms"} (ms measured inside, excluding Node's start-up).
 */
import { Database, RIGHT_DDL } from './lib.mjs';

const [leftPath, outPath, txArg] = process.argv.slice(2);
const txRows = Number(txArg) || 50_000;
const started = performance.now();

const left = new Database(leftPath, { readonly: true, fileMustExist: true });
const out = new Database(outPath);
out.pragma('journal_mode = WAL');
for (const sql of RIGHT_DDL) out.exec(sql);

const read = left
  .prepare('SELECT id, email, name, status, balance, created_at FROM customers ORDER BY id')
  .raw(true);
const insert = out.prepare(
  'INSERT INTO customers (src_id, email, name, status, balance, created_at) VALUES (?, ?, ?, ?, ?, ?)',
);
const begin = out.prepare('BEGIN');
const commit = out.prepare('COMMIT');

let rows = 0;
begin.run();
for (const row of read.iterate()) {
  insert.run(row);
  if (++rows % txRows === 0) {
    commit.run();
    begin.run();
  }
}
commit.run();
left.close();
out.close();
process.stdout.write(`${JSON.stringify({ rows, ms: performance.now() - started })}\n`);
