/**
 * SPEC §4.3, every row, PostgreSQL ↔ SQLite through the real CLI, PostgreSQL
 * captured by logical replication and by polling, each row made on each side.
 * The scenarios are in ext-matrix.ts.
 */
import { extMatrix } from './ext-matrix.js';
import { PG_CDC, PG_POLL, SQLITE } from './sides.js';

extMatrix([
  { left: PG_CDC, right: SQLITE },
  { left: SQLITE, right: PG_POLL },
]);
