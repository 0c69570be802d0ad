/**
 * Change capture from PostgreSQL's write-ahead log: logical decoding with the
 * built-in `pgoutput` plugin, one slot and one publication per database,
 * created by tandem and dropped by `tandem teardown`. No trigger touches the
 * user's tables.
 *
 * The slot is read through its SQL interface (`peek`: nothing is consumed by
 * reading), and only moved on (`pg_replication_slot_advance`) once the
 * engine has saved the batch the changes went into: a crash at any moment
 * reads the same changes again. Several tables may share the slot; each
 * table's own acknowledged position is kept in `_tandem.capture`, and the
 * slot only moves as far as the slowest of them.
 *
 * Positions, saved positions and moving the slot on are slot.ts; making the
 * slot and publication, capture-setup.ts. This file reads the changes.
 *
 * tandem's own writes come from a session tagged with a replication origin
 * named `tandem_w_…` (see session.ts); their transactions carry an Origin
 * message and are skipped here. Base fingerprints remain the second line of
 * defence where the role may not use origins.
 */
import { TandemError } from '../../core/errors.js';
import type { ChangeEvent } from '../../core/types.js';
import type { ChangeBatch, TableSpec } from '../connector.js';
import { toCanonical } from './convert.js';
import { type Lsn, type PgoutputMessage, parsePgoutput, type TupleValue } from './pgoutput.js';
import type { PgSession } from './session.js';
import {
  ackedPosition,
  type CaptureNames,
  key,
  OWN_ORIGIN_PREFIX,
  position,
  qualified,
  slotBusyRetry,
  WHOLE_TXN,
} from './slot.js';
import { kindOf, type TableRef } from './sql.js';

// ------------------------------------------------------------ reading

interface Relation {
  schema: string;
  name: string;
  columns: { name: string; key: boolean }[];
}

/**
 * Changes of this table after `after` (and after what was acknowledged), at
 * most `limit`, in commit order. Reading consumes nothing.
 */
/** One table's part of the slot, decoded, in log order. */
type Timeline = ({ event: ChangeEvent } | { skip: string })[];

/**
 * The last decoding of the slot for each table, kept between calls: a pass
 * reads a backlog batch by batch, and the slot (advanced only when the pass is
 * saved) would otherwise be decoded from its start for every batch. Positions
 * never change, so a timeline stays true; it is only incomplete at its end,
 * where new transactions arrive, and is decoded again when a read gets there.
 */
export class TimelineCache {
  private readonly byTable = new Map<string, Timeline>();
  get(table: string): Timeline | undefined {
    return this.byTable.get(table);
  }
  set(table: string, timeline: Timeline): void {
    // A huge backlog is not kept whole in memory: it is decoded again instead.
    if (timeline.length > MAX_CACHED) this.byTable.delete(table);
    else this.byTable.set(table, timeline);
  }
  clear(): void {
    this.byTable.clear();
  }
}

const MAX_CACHED = 200_000;

/**
 * Changes of this table after `after` (and after what was acknowledged), at
 * most `limit`, in commit order. Reading consumes nothing.
 */
export async function readChanges(
  s: PgSession,
  t: TableRef,
  spec: TableSpec,
  names: CaptureNames,
  after: string,
  limit: number,
  cache: TimelineCache,
): Promise<ChangeBatch> {
  const q = await qualified(s, t);
  const acked = await ackedPosition(s, key(q));
  if (acked === null) return { changes: [], position: after };
  const floor = acked > after ? acked : after;
  const cacheKey = `${key(q)} ${spec.key}`;
  const cached = cache.get(cacheKey);
  if (cached) {
    const r = walk(cached, floor, after, limit);
    if (!r.exhausted) return r.batch;
  }
  const timeline = decode(await peek(s, names), q, spec);
  cache.set(cacheKey, timeline);
  return walk(timeline, floor, after, limit).batch;
}

/** Up to `limit` events after `floor`; `exhausted` when the timeline ended before the limit. */
function walk(
  timeline: Timeline,
  floor: string,
  after: string,
  limit: number,
): { batch: ChangeBatch; exhausted: boolean } {
  const changes: ChangeEvent[] = [];
  let pos = after;
  for (const e of timeline) {
    if ('skip' in e) {
      // A transaction with nothing for this table: the position may move past it, so the slot can.
      if (e.skip > floor && e.skip > pos && changes.length < limit) pos = e.skip;
      continue;
    }
    if (e.event.position <= floor) continue;
    if (changes.length >= limit) return { batch: { changes, position: pos }, exhausted: false };
    changes.push(e.event);
    pos = e.event.position;
  }
  return { batch: { changes, position: pos }, exhausted: true };
}

/** The slot's messages → this table's events, and the transactions with nothing for it. */
function decode(rows: (string | null)[][], q: { schema: string; name: string }, spec: TableSpec): Timeline {
  const keyKind = kindOf(spec, spec.key);
  const relations = new Map<number, Relation>();
  const timeline: Timeline = [];
  // `relevant`: it holds a change of this table made by someone other than tandem.
  let txn: { lsn: Lsn; at: string; n: number; own: boolean; relevant: boolean } | null = null;
  for (const [hex] of rows) {
    const m: PgoutputMessage = parsePgoutput(Buffer.from(hex!.slice(2), 'hex'));
    switch (m.type) {
      case 'begin':
        txn = { lsn: m.finalLsn, at: m.commitTime.toISOString(), n: 0, own: false, relevant: false };
        break;
      case 'origin':
        if (txn && m.name.startsWith(OWN_ORIGIN_PREFIX)) txn.own = true;
        break;
      case 'relation':
        relations.set(m.relid, { schema: m.schema, name: m.name, columns: m.columns });
        break;
      case 'commit':
        // Nothing in it for this table, or only tandem's own writes.
        if (txn && !txn.relevant) timeline.push({ skip: position(txn.lsn, WHOLE_TXN) });
        txn = null;
        break;
      case 'insert':
      case 'update':
      case 'delete': {
        if (!txn) break;
        const rel = relations.get(m.relid);
        if (!rel || rel.schema !== q.schema || rel.name !== q.name) break;
        for (const [op, keyText] of eventsOf(m, rel, spec.key)) {
          const p = position(txn.lsn, ++txn.n);
          if (txn.own) continue;
          txn.relevant = true;
          if (keyText === null) continue;
          const k = String(toCanonical(keyText, keyKind));
          timeline.push({ event: { key: k, op, at: txn.at, position: p } });
        }
        break;
      }
      default:
        break;
    }
  }
  return timeline;
}

/** Every message the slot holds (nothing is consumed). */
async function peek(s: PgSession, names: CaptureNames): Promise<(string | null)[][]> {
  try {
    return await slotBusyRetry(() =>
      s.rows(
        `SELECT data::text FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL,
           'proto_version', '1', 'publication_names', $2)`,
        [names.slot, names.publication],
      ),
    );
  } catch (err) {
    if ((err as { code?: string }).code !== '42704') throw err;
    throw new TandemError(
      'CAPTURE_UNAVAILABLE',
      `The replication slot ${names.slot} is gone (dropped outside tandem?): changes made since cannot be read from it`,
      'Run `tandem reconcile`: it compares both sides in full and sets capture up again.',
    );
  }
}

/** What a row change means for one key column: an update that moves the key is a delete and an insert. */
function eventsOf(
  m: Extract<PgoutputMessage, { type: 'insert' | 'update' | 'delete' }>,
  rel: Relation,
  keyColumn: string,
): [ChangeEvent['op'], string | null][] {
  const at = rel.columns.findIndex((c) => c.name === keyColumn);
  const text = (tuple: TupleValue[] | null): string | null => {
    const v = tuple?.[at];
    return typeof v === 'string' ? v : null;
  };
  if (at < 0) return [];
  if (m.type === 'insert') return [['insert', text(m.row)]];
  if (m.type === 'delete') return [['delete', text(m.old)]];
  const before = text(m.old);
  const now = text(m.row);
  if (m.old && before !== null && before !== now) {
    return [
      ['delete', before],
      ['insert', now],
    ];
  }
  return [['update', now]];
}
