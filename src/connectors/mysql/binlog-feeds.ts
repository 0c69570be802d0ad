/**
 * What the binlog stream has brought, per captured table: row events become
 * each table's change events in commit order, kept in memory until the
 * engine has saved past them. No I/O here; binlog-stream.ts feeds the
 * decoded events in and readers walk the entries out.
 *
 * A table's feed holds every change after the point the stream started from
 * (`heldFrom`) that has arrived, and a "skip" after each transaction with
 * nothing for it, so its position moves past other tables' work.
 */
import type { ChangeEvent, ColumnKind } from '../../core/types.js';
import type { ChangeBatch } from '../connector.js';
import { type BinlogPoint, position, WHOLE_TXN } from './binlog-position.js';

export type Entry =
  | { event: ChangeEvent }
  /** A transaction with nothing for this table: a position to move to. */
  | { skip: string }
  /** TRUNCATE: every row went, and the log does not say which. */
  | { truncate: string };

export interface Feed {
  schema: string;
  name: string;
  keyColumn: string;
  keyKind: ColumnKind;
  /** Saved by the engine (pruneChanges): nothing at or before it is kept. */
  floor: string;
  entries: Entry[];
  /** Entries before this position are not held (not streamed yet, or let go): a read from before it streams again. */
  heldFrom: string;
  /** Change number within the transaction being decoded (positions number a table's changes only). */
  n: number;
  touched: boolean;
}

export const entryPosition = (e: Entry): string =>
  'event' in e ? e.event.position : 'skip' in e ? e.skip : e.truncate;

export type RowOp = 'insert' | 'update' | 'delete';

/** Turns one transaction at a time into feed entries. */
export class FeedDecoder {
  private txn: { start: BinlogPoint; at: string } | null = null;
  /** Entries held in all feeds (memory is bounded by this, see binlog-stream.ts). */
  held = 0;
  /** Transactions so far that changed a watched table. */
  touches = 0;

  constructor(readonly feeds: Map<string, Feed>) {}

  get inTransaction(): boolean {
    return this.txn !== null;
  }

  /** A transaction (or a standalone statement) begins at `start`, committed at `atMs`. */
  begin(start: BinlogPoint, atMs: number): void {
    this.txn = { start, at: new Date(atMs).toISOString() };
    for (const f of this.feeds.values()) {
      f.n = 0;
      f.touched = false;
    }
  }

  /** Row changes of one table; `keys` gives each row's key text before and after (null where none). */
  rows(feed: Feed, op: RowOp, keys: [string | null, string | null][]): void {
    const txn = this.txn;
    if (!txn) return;
    feed.touched = true;
    for (const [before, after] of keys) {
      // An update that moves the key is a delete of the old key and an insert of the new.
      const events: [RowOp, string | null][] =
        op === 'update' && before !== null && before !== after
          ? [
              ['delete', before],
              ['insert', after],
            ]
          : [[op, op === 'delete' ? before : after]];
      for (const [o, key] of events) {
        const p = position(txn.start, ++feed.n);
        if (key === null || p <= feed.floor || p < feed.heldFrom) continue;
        this.push(feed, { event: { key, op: o, at: txn.at, position: p } });
      }
    }
  }

  truncate(feed: Feed): void {
    if (!this.txn) return;
    feed.touched = true;
    const p = position(this.txn.start, ++feed.n);
    if (p > feed.floor && p >= feed.heldFrom) this.push(feed, { truncate: p });
  }

  /** The transaction ended: feeds it did not touch may move past it. */
  commit(): void {
    const txn = this.txn;
    this.txn = null;
    if (!txn) return;
    const skip = position(txn.start, WHOLE_TXN);
    let touched = false;
    for (const f of this.feeds.values()) {
      if (f.touched) touched = true;
      else if (skip > f.floor && skip >= f.heldFrom) this.pushSkip(f, skip);
      f.touched = false;
    }
    if (touched) this.touches++;
  }

  /** The stream broke mid-transaction: what it brought of it goes (it is streamed again). */
  abort(): void {
    const txn = this.txn;
    this.txn = null;
    if (!txn) return;
    const from = position(txn.start, 0);
    for (const f of this.feeds.values()) {
      while (f.entries.length > 0 && entryPosition(f.entries[f.entries.length - 1]!) > from) {
        f.entries.pop();
        this.held--;
      }
    }
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

  /** Drops the entries at or before `upTo`; returns how many went. */
  trimRead(feed: Feed, upTo: string): number {
    let cut = 0;
    while (cut < feed.entries.length && entryPosition(feed.entries[cut]!) <= upTo) cut++;
    if (cut > 0) feed.entries.splice(0, cut);
    this.held -= cut;
    return cut;
  }

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
}

/** Up to `limit` events after `from` (and `after`), in order; a TRUNCATE ends the batch. */
export function walk(entries: Entry[], from: string, after: string, limit: number): Walked {
  const changes: ChangeEvent[] = [];
  let pos = after;
  for (const e of entries) {
    if ('skip' in e) {
      if (e.skip > from && e.skip > pos && changes.length < limit) pos = e.skip;
      continue;
    }
    if ('truncate' in e) {
      if (e.truncate <= from) continue;
      return { batch: { changes, position: pos }, exhausted: false, truncateAt: e.truncate };
    }
    if (e.event.position <= from) continue;
    if (changes.length >= limit) return { batch: { changes, position: pos }, exhausted: false };
    changes.push(e.event);
    pos = e.event.position;
  }
  return { batch: { changes, position: pos }, exhausted: true };
}
