/**
 * SPEC §4.3, every row, PostgreSQL ↔ PostgreSQL (two databases) through the
 * real CLI: both captured by logical replication, and one polled with the
 * other on logical replication; each row made on each side (on one side
 * only where both sides are alike). The scenarios are in ext-matrix.ts.
 */
import { extMatrix } from './ext-matrix.js';
import { PG_CDC, PG_POLL } from './sides.js';

extMatrix([
  // Both sides alike (PostgreSQL, logical replication): made on one side is enough.
  { left: PG_CDC, right: PG_CDC, madeOn: ['left'] },
  { left: PG_POLL, right: PG_CDC },
]);
