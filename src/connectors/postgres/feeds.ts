/**
 * What the replication stream has brought, per captured table: decoded
 * pgoutput messages become each table's change events in commit order, kept
 * in memory until the engine has saved past them. No I/O here; stream.ts
 * feeds the messages in and reads the events out.
 *
 * A table's feed holds every change after its floor (the position saved last)
 * that has arrived, and a "skip" after each transaction with nothing for it,
 * so its position can move past other tables' work (and the slot with it).
 */
import type { ChangeEvent, ColumnKind } from '../../core/types.js';
import type { ChangeBatch } from '../connector.js';
import { toCanonical } from './convert.js';
import type { Lsn, PgoutputMessage, RelationColumn, TupleValue } from './pgoutput.js';
import { OWN_ORIGIN_PREFIX, position, WHOLE_TXN } from './slot.js';

export type Entry =
  /** `xid`: the transaction's id, to wait until it is visible before its rows are read (stream.ts). */
  | { event: ChangeEvent; xid: number }
  /** A transaction with nothing for this table (or only tandem's own writes): a position to move to. */
  | { skip: string }
  /** TRUNCATE: every row went, and the log does not say which. */
  | { truncate: string };

export interface Feed {
  keyColumn: string;
  keyKind: ColumnKind;
  /** Nothing at or before this position is kept: it is saved already. */
  floor: string;
  entries: Entry[];
  /** Change number within the transaction being decoded (positions number a table's changes only). */
  n: number;
  /** The transaction being decoded holds a change of this table by someone other than tandem. */
  touched: boolean;
  /**
   * Entries up to here were let go once read, to make room (stream.ts): a read
   * from before it must stream them again.
   */
  heldFrom?: string;
}

interface Relation {
  schema: string;
  name: string;
  columns: RelationColumn[];
}

export const entryPosition = (e: Entry): string =>
  'event' in e ? e.event.position : 'skip' in e ? e.skip : e.truncate;

/** Decodes the stream's messages into the feeds, in the order they arrive. */
export class FeedDecoder {
  private readonly relations = new Map<number, Relation>();
  private txn: { lsn: Lsn; at: string; own: boolean; xid: number } | null = null;
  /** Entries held in all feeds (memory is bounded by this, see stream.ts). */
  held = 0;
  /** Transactions seen so far that changed a watched table (tandem's own writes aside). */
  touches = 0;

  constructor(readonly feeds: Map<string, Feed>) {}

  /** Inside a transaction tandem itself wrote: its row changes are skipped whatever they are. */
  get inOwnTransaction(): boolean {
    return this.txn?.own === true;
  }

  /** Returns the commit's end LSN when `m` ends a transaction: everything before it has arrived. */
  apply(m: PgoutputMessage): Lsn | null {
    switch (m.type) {
      case 'begin':
        this.txn = { lsn: m.finalLsn, at: m.commitTime.toISOString(), own: false, xid: m.xid };
        for (const f of this.feeds.values()) {
          f.n = 0;
          f.touched = false;
        }
        return null;
      case 'origin':
        if (this.txn && m.name.startsWith(OWN_ORIGIN_PREFIX)) this.txn.own = true;
        return null;
      case 'relation':
        this.relations.set(m.relid, { schema: m.schema, name: m.name, columns: m.columns });
        return null;
      case 'insert':
      case 'update':
      case 'delete':
        this.rowChange(m);
        return null;
      case 'truncate':
        for (const relid of m.relids) {
          const feed = this.feedOf(relid);
          if (!feed || !this.txn) continue;
          const p = position(this.txn.lsn, ++feed.n);
          if (this.txn.own) continue;
          feed.touched = true;
          if (p > feed.floor) this.push(feed, { truncate: p });
        }
        return null;
      case 'commit':
        if (this.txn) {
          const skip = position(this.txn.lsn, WHOLE_TXN);
          let touched = false;
          for (const f of this.feeds.values()) {
            if (f.touched) touched = true;
            else if (skip > f.floor) this.pushSkip(f, skip);
          }
          if (touched) this.touches++;
        }
        this.txn = null;
        return m.endLsn;
      default:
        return null;
    }
  }

  private rowChange(m: Extract<PgoutputMessage, { type: 'insert' | 'update' | 'delete' }>): void {
    const rel = this.relations.get(m.relid);
    const feed = this.feedOf(m.relid);
    if (!rel || !feed || !this.txn) return;
    for (const [op, keyText] of eventsOf(m, rel, feed.keyColumn)) {
      const p = position(this.txn.lsn, ++feed.n);
      if (this.txn.own) continue;
      feed.touched = true;
      if (keyText === null || p <= feed.floor) continue;
      const key = String(toCanonical(keyText, feed.keyKind));
      this.push(feed, { event: { key, op, at: this.txn.at, position: p }, xid: this.txn.xid });
    }
  }

  private feedOf(relid: number): Feed | undefined {
    const rel = this.relations.get(relid);
    return rel ? this.feeds.get(`${rel.schema}.${rel.name}`) : undefined;
  }

  private push(feed: Feed, e: Entry): void {
    feed.entries.push(e);
    this.held++;
  }

  /** Consecutive skips collapse into the last: only the furthest is worth moving to. */
  private pushSkip(feed: Feed, skip: string): void {
    const last = feed.entries[feed.entries.length - 1];
    if (last && 'skip' in last) last.skip = skip;
    else this.push(feed, { skip });
  }

  /** Drops what is saved (at or before `upTo`); returns how many entries went. */
  trim(feed: Feed, upTo: string): number {
    if (upTo > feed.floor) feed.floor = upTo;
    return this.trimRead(feed, upTo);
  }

  /** Drops the entries at or before `upTo` (read, not necessarily saved); returns how many went. */
  trimRead(feed: Feed, upTo: string): number {
    let cut = 0;
    while (cut < feed.entries.length && entryPosition(feed.entries[cut]!) <= upTo) cut++;
    if (cut > 0) feed.entries.splice(0, cut);
    this.held -= cut;
    return cut;
  }

  /** Empties a feed (its entries must be streamed again). */
  drop(feed: Feed): void {
    this.held -= feed.entries.length;
    feed.entries = [];
  }
}

export interface Walked {
  batch: ChangeBatch;
  /** The feed ended before `limit` was reached: more may still arrive. */
  exhausted: boolean;
  /** The walk stopped at a TRUNCATE (the batch holds what came before it). */
  truncateAt?: string;
  /** The transactions the changes came from. */
  xids: Set<number>;
}

/** Up to `limit` events after `floor` (and `after`), in order; a TRUNCATE ends the batch. */
export function walk(entries: Entry[], floor: string, after: string, limit: number): Walked {
  const changes: ChangeEvent[] = [];
  const xids = new Set<number>();
  let pos = after;
  for (const e of entries) {
    if ('skip' in e) {
      // A transaction with nothing for this table: the position may move past it, so the slot can.
      if (e.skip > floor && e.skip > pos && changes.length < limit) pos = e.skip;
      continue;
    }
    if ('truncate' in e) {
      if (e.truncate <= floor) continue;
      return { batch: { changes, position: pos }, exhausted: false, truncateAt: e.truncate, xids };
    }
    if (e.event.position <= floor) continue;
    if (changes.length >= limit) return { batch: { changes, position: pos }, exhausted: false, xids };
    changes.push(e.event);
    xids.add(e.xid);
    pos = e.event.position;
  }
  return { batch: { changes, position: pos }, exhausted: true, xids };
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
