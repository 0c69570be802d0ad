/**
 * Trigger-based change capture (SPEC §6): triggers tandem installs write which
 * keys changed into `_tandem_changes` in the same file, unless the
 * `_tandem_writer` flag says the write is tandem's own.
 *
 * Positions are `_tandem_changes.seq`, zero-padded so they sort as strings.
 */
import { normalizeTimestamp } from '../../core/canonical.js';
import { TandemError } from '../../core/errors.js';
import type { ChangeEvent, TableInfo } from '../../core/types.js';
import type { CaptureStatus, ChangeBatch, TableSpec } from '../connector.js';
import { toKeyText } from './convert.js';
import { CHANGES, CLAIMS, CREATED, kindOf, qi, ql, type TableRef, WRITER } from './sql.js';
import type { Statements } from './statements.js';

const TRIGGER_SUFFIXES = ['ins', 'upd', 'del'] as const;
type TriggerSuffix = (typeof TRIGGER_SUFFIXES)[number];

const POSITION_WIDTH = 20;
const ZERO_POSITION = '0'.repeat(POSITION_WIDTH);
const toPosition = (seq: bigint): string => seq.toString().padStart(POSITION_WIDTH, '0');

/**
 * Creates the change and flag tables if missing and (re)creates the table's
 * three triggers. Dropping and recreating every time makes this idempotent
 * and repairs triggers written for an older key column; it happens in one
 * transaction, so no change made by another connection falls in between.
 */
export function installCapture(q: Statements, t: TableRef, spec: TableSpec, info: TableInfo | null): void {
  if (!info) {
    throw new TandemError(
      'TABLE_MISSING',
      `Table ${spec.table} does not exist`,
      'Create the table or fix its name in the config.',
    );
  }
  if (!info.columns.some((c) => c.name === spec.key)) {
    throw new TandemError(
      'COLUMN_MISSING',
      `Key column ${spec.key} does not exist in ${spec.table}`,
      'Fix the key column name in the config.',
    );
  }
  const s = qi(t.schema);
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${s}.${CHANGES} (seq INTEGER PRIMARY KEY AUTOINCREMENT, ` +
      'table_name TEXT NOT NULL, op TEXT NOT NULL, key TEXT, changed_at TEXT NOT NULL)',
    `CREATE INDEX IF NOT EXISTS ${s}._tandem_changes_table_seq ON ${CHANGES} (table_name, seq)`,
    `CREATE TABLE IF NOT EXISTS ${s}.${WRITER} (active INTEGER NOT NULL)`,
    `INSERT INTO ${s}.${WRITER} (active) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM ${s}.${WRITER})`,
    ...TRIGGER_SUFFIXES.map((suffix) => `DROP TRIGGER IF EXISTS ${s}.${qi(triggerName(t.name, suffix))}`),
    ...TRIGGER_SUFFIXES.map((suffix) => triggerSql(t, spec.key, suffix)),
  ];
  q.db
    .transaction(() => {
      for (const sql of statements) q.db.exec(sql);
    })
    .immediate();
}

export function captureStatus(q: Statements, t: TableRef, spec: TableSpec): CaptureStatus {
  const names = TRIGGER_SUFFIXES.map((suffix) => triggerName(t.name, suffix));
  const rows = q.all(
    `SELECT name, sql FROM ${qi(t.schema)}.sqlite_master WHERE type = 'trigger' AND name IN (?, ?, ?)`,
    ...names,
  );
  const missing = names.filter((n) => !rows.some((r) => r[0] === n));
  if (missing.length === 3) {
    return { installed: false, method: 'triggers', detail: `no capture triggers on ${spec.table}` };
  }
  if (missing.length > 0) {
    return {
      installed: false,
      method: 'triggers',
      detail: `missing triggers ${missing.join(', ')}; run tandem again to reinstall`,
    };
  }
  const stale = rows.some((r) => !String(r[1]).includes(`.${qi(spec.key)}`));
  if (stale || !q.exists(t.schema, 'table', CHANGES) || !q.exists(t.schema, 'table', WRITER)) {
    return {
      installed: false,
      method: 'triggers',
      detail: `capture triggers on ${spec.table} are out of date (key column ${spec.key}); run tandem again to reinstall`,
    };
  }
  return {
    installed: true,
    method: 'triggers',
    detail: `triggers ${names.join(', ')} write to ${CHANGES}`,
  };
}

/**
 * The highest seq ever issued, from sqlite_sequence rather than max(seq), so
 * the position never goes back after pruning empties the change table.
 */
export function currentPosition(q: Statements, t: TableRef): string {
  if (!q.exists(t.schema, 'table', CHANGES)) return ZERO_POSITION;
  const row = q.get(`SELECT seq FROM ${qi(t.schema)}.sqlite_sequence WHERE name = ?`, CHANGES);
  return row ? toPosition(BigInt(row[0] as bigint)) : ZERO_POSITION;
}

/**
 * The last pending change (after `after`) of each of these keys, for newest-wins
 * across batch boundaries: the batch in hand may not hold a record's latest event.
 */
export function latestChanges(
  q: Statements,
  t: TableRef,
  spec: TableSpec,
  after: string,
  keys: string[],
): Map<string, { at: string; op: ChangeEvent['op'] }> {
  const out = new Map<string, { at: string; op: ChangeEvent['op'] }>();
  if (keys.length === 0 || !q.exists(t.schema, 'table', CHANGES)) return out;
  const rows = q.all(
    `SELECT key, op, changed_at FROM ${qi(t.schema)}.${CHANGES} ` +
      'WHERE table_name = ? AND seq > ? AND CAST(key AS TEXT) IN (SELECT value FROM json_each(?)) ORDER BY seq',
    t.name,
    parsePosition(after),
    JSON.stringify(keys),
  );
  const keyKind = kindOf(spec, spec.key);
  for (const [rawKey, op, changedAt] of rows) {
    const key = toKeyText(rawKey, keyKind);
    if (key === null) continue;
    out.set(key, {
      at: normalizeTimestamp(String(changedAt)) ?? String(changedAt),
      op: op as ChangeEvent['op'],
    });
  }
  return out;
}

export function readChanges(
  q: Statements,
  t: TableRef,
  spec: TableSpec,
  after: string,
  limit: number,
): ChangeBatch {
  if (!q.exists(t.schema, 'table', CHANGES)) return { changes: [], position: after };
  const rows = q.all(
    `SELECT seq, op, key, changed_at FROM ${qi(t.schema)}.${CHANGES} ` +
      'WHERE table_name = ? AND seq > ? ORDER BY seq LIMIT ?',
    t.name,
    parsePosition(after),
    BigInt(limit),
  );
  const keyKind = kindOf(spec, spec.key);
  const changes: ChangeBatch['changes'] = [];
  let position = after;
  for (const [seq, op, rawKey, changedAt] of rows) {
    position = toPosition(seq as bigint);
    // The same converter as reads, so a change's key equals the key scan/readByKeys report.
    const key = toKeyText(rawKey, keyKind);
    if (key === null) continue; // a row without a key cannot be addressed; nothing to sync
    const at = normalizeTimestamp(String(changedAt)) ?? String(changedAt);
    changes.push({ key, op: op as 'insert' | 'update' | 'delete', at, position });
  }
  return { changes, position };
}

export function pruneChanges(q: Statements, t: TableRef, upTo: string): void {
  if (!q.exists(t.schema, 'table', CHANGES)) return;
  q.run(
    `DELETE FROM ${qi(t.schema)}.${CHANGES} WHERE table_name = ? AND seq <= ?`,
    t.name,
    parsePosition(upTo),
  );
}

/** Removes the table's triggers, change rows and creation tokens. */
export function removeCapture(q: Statements, t: TableRef): void {
  const s = qi(t.schema);
  q.db
    .transaction(() => {
      for (const suffix of TRIGGER_SUFFIXES)
        q.db.exec(`DROP TRIGGER IF EXISTS ${s}.${qi(triggerName(t.name, suffix))}`);
      if (q.exists(t.schema, 'table', CHANGES))
        q.run(`DELETE FROM ${s}.${CHANGES} WHERE table_name = ?`, t.name);
      if (q.exists(t.schema, 'table', CREATED))
        q.run(`DELETE FROM ${s}.${CREATED} WHERE table_name = ?`, t.name);
      if (q.exists(t.schema, 'table', CLAIMS))
        q.run(`DELETE FROM ${s}.${CLAIMS} WHERE table_name = ?`, t.name);
    })
    .immediate();
}

/** Drops the shared tables of every schema where no tandem trigger is left. */
export function teardown(q: Statements): void {
  for (const schema of q.schemas()) {
    const s = qi(schema);
    q.db
      .transaction(() => {
        const triggers = q.get(
          `SELECT 1 FROM ${s}.sqlite_master WHERE type = 'trigger' AND substr(name, 1, 8) = '_tandem_'`,
        );
        if (triggers) return;
        for (const table of [CHANGES, WRITER, CREATED]) q.db.exec(`DROP TABLE IF EXISTS ${s}.${table}`);
        // A claim left (a table whose capture teardown did not remove) keeps the claims table.
        if (q.exists(schema, 'table', CLAIMS) && !q.get(`SELECT 1 FROM ${s}.${CLAIMS}`))
          q.db.exec(`DROP TABLE ${s}.${CLAIMS}`);
      })
      .immediate();
  }
}

function triggerName(table: string, suffix: TriggerSuffix): string {
  return `_tandem_${table}_${suffix}`;
}

/**
 * Trigger bodies may not name a schema: they write to the change table of the
 * schema the trigger lives in, which is the table's own. The key is stored as
 * SQLite has it (TEXT affinity turns integers into their decimal text) and
 * turned canonical by the converter when read.
 */
function triggerSql(t: TableRef, key: string, suffix: TriggerSuffix): string {
  const name = `${qi(t.schema)}.${qi(triggerName(t.name, suffix))}`;
  const on = qi(t.name);
  const k = qi(key);
  const table = ql(t.name);
  const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
  const into = `INSERT INTO ${CHANGES} (table_name, op, key, changed_at)`;
  // coalesce: a missing flag row must mean "capture", never "skip".
  const when = `WHEN coalesce((SELECT active FROM ${WRITER}), 0) = 0`;
  switch (suffix) {
    case 'ins':
      return `CREATE TRIGGER ${name} AFTER INSERT ON ${on} ${when} BEGIN ${into} VALUES (${table}, 'insert', NEW.${k}, ${now}); END`;
    case 'del':
      return `CREATE TRIGGER ${name} AFTER DELETE ON ${on} ${when} BEGIN ${into} VALUES (${table}, 'delete', OLD.${k}, ${now}); END`;
    case 'upd':
      // A key change is the old record gone and a new one made.
      return (
        `CREATE TRIGGER ${name} AFTER UPDATE ON ${on} ${when} BEGIN ` +
        `${into} SELECT ${table}, 'delete', OLD.${k}, ${now} WHERE OLD.${k} IS NOT NEW.${k}; ` +
        `${into} SELECT ${table}, CASE WHEN OLD.${k} IS NOT NEW.${k} THEN 'insert' ELSE 'update' END, NEW.${k}, ${now}; ` +
        'END'
      );
  }
}

function parsePosition(position: string): bigint {
  if (!/^\d+$/.test(position)) {
    throw new TandemError('INTERNAL', `Not a SQLite capture position: ${position}`, 'Report this as a bug.');
  }
  return BigInt(position);
}
