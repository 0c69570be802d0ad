/**
 * SPEC §4.2, every row, with MariaDB on one side, through the real CLI:
 * MariaDB (binlog) as the System of Record with PostgreSQL or SQLite as N,
 * PostgreSQL or SQLite as the System of Record with MariaDB (binlog) as N, and
 * a polled MariaDB System of Record with PostgreSQL as N. The scenarios are in
 * sor-matrix.ts.
 */

import { MARIADB, MARIADB_POLL, PG_CDC, SQLITE } from './sides.js';
import { sorMatrix } from './sor-matrix.js';

sorMatrix([
  { S: MARIADB, N: PG_CDC, sor: 'left' },
  { S: PG_CDC, N: MARIADB, sor: 'right' },
  { S: MARIADB, N: SQLITE, sor: 'right' },
  { S: SQLITE, N: MARIADB, sor: 'left' },
  { S: MARIADB_POLL, N: PG_CDC, sor: 'right' },
]);
