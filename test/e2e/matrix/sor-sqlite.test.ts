/**
 * SPEC §4.2, every row, PostgreSQL ↔ SQLite through the real CLI: the System of
 * Record on PostgreSQL (cdc, poll) with SQLite as N, and on SQLite with
 * PostgreSQL (cdc, poll) as N. The scenarios are in sor-matrix.ts.
 */

import { PG_CDC, PG_POLL, SQLITE } from './sides.js';
import { sorMatrix } from './sor-matrix.js';

sorMatrix([
  { S: PG_CDC, N: SQLITE, sor: 'left' },
  { S: PG_POLL, N: SQLITE, sor: 'right' },
  { S: SQLITE, N: PG_CDC, sor: 'left' },
  { S: SQLITE, N: PG_POLL, sor: 'right' },
]);
