/**
 * SPEC §4.2, every row, PostgreSQL ↔ PostgreSQL (two databases) through the
 * real CLI: both captured by logical replication, and the System of Record
 * polled with N on logical replication. The scenarios are in sor-matrix.ts.
 */

import { PG_CDC, PG_POLL } from './sides.js';
import { sorMatrix } from './sor-matrix.js';

sorMatrix([
  { S: PG_CDC, N: PG_CDC, sor: 'left' },
  { S: PG_POLL, N: PG_CDC, sor: 'right' },
]);
