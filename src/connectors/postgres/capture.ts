/**
 * Change capture from PostgreSQL's write-ahead log: logical decoding with the
 * built-in `pgoutput` plugin, one slot and one publication per database,
 * created by tandem and dropped by `tandem teardown`. No trigger touches the
 * user's tables.
 *
 * The slot is streamed (stream.ts) and each table's changes kept in memory
 * (feeds.ts) until the engine has saved past them; only then is the slot told
 * to let them go (slot.ts), and only as far as the slowest captured table has
 * saved (each table's position is kept in `_tandem.capture`). A crash at any
 * moment streams the same changes again.
 *
 * tandem's own writes come from a session tagged with a replication origin
 * named `tandem_w_…` (origin.ts); their transactions carry an Origin message
 * and are skipped. Base fingerprints remain the second line of defence where
 * the role may not use origins.
 */
import type { ChangeBatch, TableSpec } from '../connector.js';
import type { PgSession } from './session.js';
import { ackedPosition, key, qualified } from './slot.js';
import { kindOf, type TableRef } from './sql.js';
import type { WalStream } from './stream.js';

/** Starts streaming this table's changes, without waiting (a read later waits for what it needs). */
export async function startStream(
  s: PgSession,
  stream: WalStream,
  t: TableRef,
  spec: TableSpec,
): Promise<void> {
  const table = key(await qualified(s, t));
  const acked = await ackedPosition(s, table);
  if (acked === null) return;
  stream.watch(table, spec.key, kindOf(spec, spec.key), acked);
  stream.warm(table);
}

/** Changes of this table after `after` (and after what was saved), at most `limit`, in commit order. */
export async function readChanges(
  s: PgSession,
  stream: WalStream,
  t: TableRef,
  spec: TableSpec,
  after: string,
  limit: number,
): Promise<ChangeBatch> {
  const table = key(await qualified(s, t));
  const acked = await ackedPosition(s, table);
  if (acked === null) return { changes: [], position: after };
  stream.watch(table, spec.key, kindOf(spec, spec.key), acked);
  const r = await stream.read(table, acked, after, limit);
  return r.truncateAt === undefined ? r.batch : { ...r.batch, truncatedAt: r.truncateAt };
}
