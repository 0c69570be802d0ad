/**
 * SPEC §4.3, every row, with MariaDB on one side, through the real CLI:
 * MariaDB (binlog) ↔ PostgreSQL, SQLite ↔ MariaDB (binlog) and a polled
 * MariaDB ↔ SQLite, each row made on each side. The scenarios are in
 * ext-matrix.ts.
 */
import { extMatrix } from './ext-matrix.js';
import { MARIADB, MARIADB_POLL, PG_CDC, SQLITE } from './sides.js';

extMatrix([
  { left: MARIADB, right: PG_CDC },
  { left: SQLITE, right: MARIADB },
  { left: MARIADB_POLL, right: SQLITE },
]);
