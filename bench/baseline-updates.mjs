/**
 * Raw baseline for change capture: the same updates tandem has to carry,
 * applied straight to a copy of the right table (no triggers, no change
 * table), keyed on the external-ID column, with one prepared statement in big
 * transactions.
 *
 *   node bench/baseline-updates.mjs RIGHT_COPY.db COUNT ROWS ROUND TX_ROWS
 *
 * Prints {"rows", "changed", "ms"} (ms measured inside, excluding Node's start-up).
 */
import { changeRow, Database } from './lib.mjs';

const [path, countArg, rowsArg, roundArg, txArg] = process.argv.slice(2);
const count = Number(countArg);
const tableRows = Number(rowsArg);
const round = Number(roundArg);
const txRows = Number(txArg) || 50_000;
const started = performance.now();

const db = new Database(path, { fileMustExist: true });
db.pragma('journal_mode = WAL');
const update = db.prepare('UPDATE customers SET name = ?, balance = ? WHERE src_id = ?');
const begin = db.prepare('BEGIN');
const commit = db.prepare('COMMIT');

let changed = 0;
begin.run();
for (let k = 0; k < count; k++) {
  const [id, name, balance] = changeRow(k, count, tableRows, round);
  changed += update.run(name, balance, id).changes;
  if ((k + 1) % txRows === 0) {
    commit.run();
    begin.run();
  }
}
commit.run();
db.close();
process.stdout.write(`${JSON.stringify({ rows: count, changed, ms: performance.now() - started })}\n`);
