/**
 * What binlog capture needs of the server, checked before it is used (by
 * `validate` through captureStatus, and by installCapture): the binlog on,
 * in row format with full row images, uncompressed, and the user's
 * replication grants.
 * Nothing is installed in the database: the binlog is there already, and
 * the engine keeps the positions. Each missing piece is a
 * CAPTURE_UNAVAILABLE naming the exact my.cnf line or GRANT that fixes it.
 */
import { TandemError } from '../../core/errors.js';
import type { CaptureSql } from './capture-sql.js';

export interface Preflight {
  /** MariaDB (the server filters tandem's own events out of the dump) or MySQL. */
  mariadb: boolean;
  /** What `validate` prints when capture can be used. */
  detail: string;
}

const fail = (message: string, fix: string): never => {
  throw new TandemError('CAPTURE_UNAVAILABLE', message, fix);
};

export async function preflight(sql: CaptureSql): Promise<Preflight> {
  const version = (await sql.rows<{ v: string }>('SELECT VERSION() AS v'))[0]!.v;
  const mariadb = /mariadb/i.test(version);
  const v = await sql.variables([
    'log_bin',
    'binlog_format',
    'binlog_row_image',
    'binlog_expire_logs_seconds',
    'expire_logs_days',
    'log_bin_compress',
    'binlog_transaction_compression',
    'binlog_row_value_options',
  ]);
  const restart = 'and restart the server';
  if ((v.get('log_bin') ?? 'OFF').toUpperCase() !== 'ON')
    fail(
      'The server writes no binlog (log_bin = OFF); binlog capture reads changes from it',
      `Add \`log_bin = binlog\` and \`server_id = 1\` (any id unique among your servers) under [mysqld] in my.cnf ${restart}.`,
    );
  const format = (v.get('binlog_format') ?? '').toUpperCase();
  if (format !== 'ROW')
    fail(
      `The binlog is in ${format || 'an unknown'} format; capture needs each changed row (binlog_format = ROW)`,
      'Add `binlog_format = ROW` under [mysqld] in my.cnf (or SET GLOBAL binlog_format = ROW; sessions opened before keep the old format until they reconnect).',
    );
  const image = (v.get('binlog_row_image') ?? 'FULL').toUpperCase();
  if (image !== 'FULL')
    fail(
      `The binlog holds ${image} row images; capture needs the whole row (binlog_row_image = FULL)`,
      'Add `binlog_row_image = FULL` under [mysqld] in my.cnf (or SET GLOBAL binlog_row_image = FULL).',
    );
  // Compressed events: capture would have to fail on them (binlog-stream.ts), so refuse up front.
  if ((v.get('log_bin_compress') ?? 'OFF').toUpperCase() === 'ON')
    fail(
      'The binlog is compressed (log_bin_compress = ON); capture reads uncompressed row events only',
      'Add `log_bin_compress = OFF` under [mysqld] in my.cnf (or SET GLOBAL log_bin_compress = OFF); changes already logged compressed need `tandem reconcile`.',
    );
  if ((v.get('binlog_transaction_compression') ?? 'OFF').toUpperCase() === 'ON')
    fail(
      'The binlog is compressed (binlog_transaction_compression = ON); capture cannot decode compressed transactions',
      'Add `binlog_transaction_compression = OFF` under [mysqld] in my.cnf (or SET GLOBAL binlog_transaction_compression = OFF); changes already logged compressed need `tandem reconcile`.',
    );
  if (/PARTIAL_JSON/i.test(v.get('binlog_row_value_options') ?? ''))
    fail(
      'The binlog logs partial JSON updates (binlog_row_value_options = PARTIAL_JSON); capture cannot decode them',
      "Add `binlog_row_value_options = ''` under [mysqld] in my.cnf (or SET GLOBAL binlog_row_value_options = '').",
    );
  const { user, lines } = await sql.grants();
  const global = lines.filter((l) => /\bON\s+\*\.\*\s+TO\b/i.test(l)).join('\n');
  const all = /\bALL PRIVILEGES\b/i.test(global);
  const who = user.replace(/^([^@]*)@(.*)$/, "'$1'@'$2'");
  if (!all && !/\bREPLICATION (SLAVE|REPLICA)\b/i.test(global))
    fail(
      `User ${user} may not read the binlog (it lacks REPLICATION SLAVE)`,
      `Run GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO ${who}; (as an administrator).`,
    );
  if (!all && !/\b(REPLICATION CLIENT|BINLOG MONITOR|SUPER)\b/i.test(global))
    fail(
      `User ${user} may not ask where the binlog ends (it lacks REPLICATION CLIENT)`,
      `Run GRANT REPLICATION CLIENT ON *.* TO ${who}; (as an administrator).`,
    );
  const keep =
    Number(v.get('binlog_expire_logs_seconds') ?? 0) || Number(v.get('expire_logs_days') ?? 0) * 86_400;
  const kept =
    keep > 0
      ? `binlogs are kept ${Math.round(keep / 3600)} h: a tandem stopped longer needs \`tandem reconcile\``
      : 'binlogs are kept until purged by hand';
  const own = mariadb
    ? "tandem's own writes are flagged with skip_replication and left out of its binlog dump by the server"
    : "tandem's own writes come back through the binlog (MySQL has no skip_replication) and are recognised by their fingerprints";
  return { mariadb, detail: `row-based binlog, read as a replication stream; ${own}; ${kept}` };
}
