/**
 * The binlog read as a stream: one replication connection (@vlasky/zongji
 * over mysql2) per server per process, shared by every captured table on it;
 * binlog-feeds.ts keeps each table's changes. Changes arrive as they commit,
 * so a read costs no round trip to the log.
 *
 * The promises it keeps, as the PostgreSQL stream does:
 * - **A read sees every change committed before it began.** `catchUp` asks
 *   where the binlog ends (SHOW MASTER STATUS) and waits until the stream
 *   has passed that point. The dump connection asks for heartbeats
 *   (`@master_heartbeat_period`), which carry the server's read position
 *   when it has nothing to send, so the point is passed even when the
 *   binlog's tail is only events the server filtered out (tandem's own).
 * - **A change is returned only once a fresh read can see it** (see
 *   CaptureSql.waitVisible): the binlog is written before InnoDB commits.
 * - **Nothing is lost across a broken connection or a server restart.** The
 *   stream starts again from the last transaction boundary it passed (never
 *   past the start of the transaction it was in), and drops what it had of
 *   a transaction cut short.
 * - **Nothing is skipped when zongji fails.** Once a zongji instance has
 *   reported an error (a row it could not decode, a table map it could not
 *   match, a lost connection), nothing more it sends is used: the events
 *   that follow may lack rows it dropped. The stream starts again from that
 *   transaction's start; the same failure at the same point
 *   `limits.maxFailures` times is a CAPTURE_UNAVAILABLE for the reader.
 *   Only event types known here are handled; one that may carry rows and
 *   cannot be read (MySQL's compressed TransactionPayload, PartialUpdateRows,
 *   an unknown type inside a transaction) is a CAPTURE_UNAVAILABLE at once.
 * - **Memory is bounded.** Past `limits.maxHeld` entries the socket is
 *   paused (the server waits). A reader that has read all that is held and
 *   wants more makes room: other tables' feeds go first, then what it has
 *   read itself; whatever was let go is streamed again when next read.
 *
 * tandem's own writes never arrive: the writer runs with
 * `skip_replication = 1` (own-writes.ts) and this connection too, which
 * tells a MariaDB server to leave events so flagged out of the dump.
 */
import ZongJi from '@vlasky/zongji';
import { TandemError } from '../../core/errors.js';
import type { ColumnKind } from '../../core/types.js';
import { Wakeups } from '../wakeups.js';
import { entryPosition, type Feed, FeedDecoder, type RowOp, type Walked, walk } from './binlog-feeds.js';
import {
  type BinlogPoint,
  comparePoints,
  fileIndex,
  pointOf,
  position,
  WHOLE_TXN,
} from './binlog-position.js';
import { CaptureSql, connectionOptions } from './capture-sql.js';
import { keyText } from './convert.js';

/** Tests lower these. */
export const limits = {
  /** Entries held across all tables before the stream is paused (~150 bytes each). */
  maxHeld: 200_000,
  /**
   * How often an idle server says where it is: a read waits at most this long for a tail of
   * tandem's own (filtered) writes, which every pass after a write to MariaDB has (docs/mysql-capture.md).
   */
  heartbeatMs: 10,
  /** No event at all (heartbeats included) for this long: the connection is taken for dead and opened again. */
  silentMs: 3_000,
  /** How long a read waits for the stream to make any progress before giving up. */
  stallMs: 30_000,
  /** How long a batch waits for its transactions to be visible before the read fails. */
  visibleMs: 60_000,
  /** zongji failing this often at the same point: CAPTURE_UNAVAILABLE rather than trying on. */
  maxFailures: 3,
};

/** Events common header, without the checksum zongji counts in when the server sends one. */
const HEADER_BYTES = 19;

/** The fields of zongji's events read here (its union type cannot be narrowed by getTypeName()). */
export interface AnyEvent {
  getTypeName(): string;
  nextPosition: number;
  size: number;
  timestamp: number;
  [field: string]: unknown;
}

interface RowsEventLike {
  tableId: number;
  tableMap: Record<
    number,
    { parentSchema: string; tableName: string; columnSchemas: { COLUMN_NAME: string; COLUMN_TYPE: string }[] }
  >;
  rows: Record<string, unknown>[];
}

export class BinlogStream {
  readonly feeds = new Map<string, Feed>();
  private decoder = new FeedDecoder(this.feeds);
  private zongji: ZongJi | null = null;
  private starting: Promise<void> | null = null;
  /** The file the events now arriving are in. */
  private file = 0;
  /** Every transaction that ends before this point has arrived. */
  private readPoint: BinlogPoint = { file: 0, offset: 0 };
  private txnStart: BinlogPoint | null = null;
  /** The group began with a standalone GTID (MariaDB DDL): the next statement ends it. */
  private standalone = false;
  /** A MySQL GTID group with no statement yet: a first one other than BEGIN / XA START (DDL) ends it. */
  private firstQuery = false;
  private lastEventAt = 0;
  private paused = false;
  private closed = false;
  private failure: Error | null = null;
  /** Where the last failures happened (the start of the transaction they cut), and how often in a row. */
  private failures: { at: BinlogPoint; count: number } | null = null;
  /** A reader needs the log from before what is held: start again from there. */
  private restartFrom: BinlogPoint | null = null;
  private readonly wakeups = new Wakeups();
  private touched = 0;
  private nextTouch: { promise: Promise<void>; resolve: () => void } | null = null;
  /** Whether the server leaves tandem's own events out of this dump (MariaDB); null before the first start. */
  ownWritesFiltered: boolean | null = null;
  readonly sql: CaptureSql;
  /** A replication client id of its own: a server lets one connection per id dump, and ends the older one. */
  private readonly serverId = 0x40000000 + Math.floor(Math.random() * 0x3fffffff);

  constructor(
    private readonly url: string,
    private readonly where: string,
  ) {
    this.sql = new CaptureSql(url);
  }

  get running(): boolean {
    return this.zongji !== null;
  }

  /** Watches a table's changes; `from` is the earliest position it may be read from. */
  watch(schema: string, name: string, keyColumn: string, keyKind: ColumnKind, from: string): Feed {
    const id = `${schema}.${name}`;
    const had = this.feeds.get(id);
    if (had && had.keyColumn === keyColumn && had.keyKind === keyKind) return had;
    if (had) this.decoder.drop(had);
    const feed: Feed = {
      schema,
      name,
      keyColumn,
      keyKind,
      floor: '',
      entries: [],
      // While streaming, it holds from now on; a read from before starts the stream again.
      heldFrom: this.zongji || this.starting ? this.heldFromNow() : from,
      n: 0,
      touched: false,
    };
    this.feeds.set(id, feed);
    this.refilter();
    return feed;
  }

  unwatch(schema: string, name: string): void {
    const feed = this.feeds.get(`${schema}.${name}`);
    if (!feed) return;
    this.decoder.drop(feed);
    this.feeds.delete(`${schema}.${name}`);
    this.refilter();
    this.resumeIfRoom();
  }

  /** Starts streaming in the background; a failure is met again by the next read. */
  warm(): void {
    this.ensure().catch(() => {});
  }

  /** Up to `limit` changes of the feed after `after` (and its floor), everything committed before the call included. */
  async read(feed: Feed, after: string, limit: number): Promise<Walked> {
    const from = feed.floor > after ? feed.floor : after;
    if (from < feed.heldFrom) this.needFrom(pointOf(from));
    await this.ensure();
    let r = walk(feed.entries, from, after, limit);
    if (!r.exhausted) return this.visible(feed, r);
    const target = await this.sql.binlogEnd();
    for (;;) {
      await this.catchUp(target);
      if (from < feed.heldFrom) {
        // Let go while the reader waited (another table made room): stream it again.
        this.needFrom(pointOf(from));
        await this.ensure();
        continue;
      }
      r = walk(feed.entries, from, after, limit);
      if (!r.exhausted || r.batch.changes.length > 0) return this.visible(feed, r);
      if (!this.paused || !(this.evictOthers(feed) || this.letGoRead(feed, from))) break;
    }
    // Nothing for this table up to where the stream has read: its position moves there.
    const idle = position(this.readPoint, 0);
    if (r.batch.changes.length === 0 && r.truncateAt === undefined && !this.paused) {
      if (idle > r.batch.position && idle > from && idle >= feed.heldFrom) r.batch.position = idle;
    }
    return r;
  }

  /** The batch's rows are committed in InnoDB before the engine reads them (see CaptureSql.waitVisible). */
  private async visible(feed: Feed, r: Walked): Promise<Walked> {
    const last = r.batch.changes[r.batch.changes.length - 1];
    if (!last) return r;
    const keys = [...new Set(r.batch.changes.map((c) => c.key))];
    await this.sql.waitVisible(
      feed.schema,
      feed.name,
      feed.keyColumn,
      feed.keyKind,
      keys,
      pointOf(last.position),
      limits.visibleMs,
    );
    return r;
  }

  /** A number that grows each time a transaction changes a watched table. */
  mark(): number {
    return this.touched;
  }

  changedSince(mark: number): Promise<void> {
    if (this.touched > mark) return Promise.resolve();
    if (!this.nextTouch) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.nextTouch = { promise, resolve };
    }
    return this.nextTouch.promise;
  }

  /** The engine saved up to `upTo`: what the feed held up to there can go. */
  trim(feed: Feed, upTo: string): void {
    if (upTo > feed.floor) feed.floor = upTo;
    this.decoder.trimRead(feed, upTo);
    this.resumeIfRoom();
  }

  /** Where the stream has read to (for lag), null before it started. */
  get readTo(): BinlogPoint | null {
    return this.readPoint.file > 0 ? { ...this.readPoint } : null;
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => {});
    const z = this.zongji;
    this.zongji = null;
    this.paused = false;
    this.decoder.abort();
    this.txnStart = null;
    if (z) {
      z.removeAllListeners('binlog');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        z.once('stopped', () => {
          clearTimeout(timer);
          resolve();
        });
        z.stop();
      });
      z.removeAllListeners();
      z.on('error', () => {});
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    await this.sql.close();
  }

  // ------------------------------------------------------------ the connection

  private heldFromNow(): string {
    return this.txnStart ? position(this.txnStart, WHOLE_TXN) : position(this.readPoint, 0);
  }

  private needFrom(p: BinlogPoint): void {
    if (!this.restartFrom || comparePoints(p, this.restartFrom) < 0) this.restartFrom = p;
  }

  private async ensure(): Promise<void> {
    if (this.closed) throw new Error('the change stream is closed');
    if (this.failure) {
      const unavailable = this.unavailable();
      await this.stop();
      if (unavailable) {
        // Stopped: the next read starts again from the same point (and meets the same failure).
        this.failure = null;
        throw unavailable;
      }
    } else if (this.restartFrom) await this.stop();
    if (!this.zongji) {
      this.starting ??= this.start().finally(() => {
        this.starting = null;
      });
      await this.starting;
    }
  }

  private async start(): Promise<void> {
    let from: BinlogPoint;
    if (this.restartFrom || this.readPoint.file === 0) {
      // From the earliest any table needs; everything held goes and is streamed again.
      const wanted = this.earliestWanted();
      const need =
        this.restartFrom && (!wanted || comparePoints(this.restartFrom, wanted) < 0)
          ? this.restartFrom
          : wanted;
      from = need ?? (await this.sql.binlogEnd());
      for (const f of this.feeds.values()) {
        this.decoder.drop(f);
        f.heldFrom = position(from, 0);
      }
    } else {
      // After a broken connection or a zongji failure: on from the last boundary passed, keeping
      // what is held. readPoint moves only between transactions (and nothing a failed zongji sends
      // is used), so it is never past the start of the transaction that was cut.
      from = this.readPoint;
    }
    const files = await this.sql.binlogFiles();
    const file = files.find((f) => f.index === from.file);
    if (!file)
      throw this.purged(
        from,
        files.map((f) => f.name),
      );
    this.failure = null;
    this.restartFrom = null;
    this.file = from.file;
    this.readPoint = { ...from };
    this.txnStart = null;
    this.lastEventAt = Date.now();
    const z = new ZongJi(connectionOptions(this.url));
    try {
      await this.subscribe(z, file.name, Math.max(4, from.offset));
      this.zongji = z;
    } catch (err) {
      z.removeAllListeners();
      z.on('error', () => {});
      z.stop();
      if (err instanceof TandemError) throw err;
      throw new TandemError(
        'CONNECT_FAILED',
        `Cannot stream the binlog of ${this.where}: ${(err as Error).message}`,
        'Check that the server is up and that the user has REPLICATION SLAVE and REPLICATION CLIENT (`tandem validate` says what is missing).',
      );
    }
  }

  private earliestWanted(): BinlogPoint | null {
    let min: BinlogPoint | null = null;
    for (const f of this.feeds.values()) {
      // What the table's readers may still ask for: after what it saved, and what it holds.
      // biome-ignore lint/complexity/useMathMinMax: positions are strings; Math.max would make them numbers.
      const need = f.floor > f.heldFrom ? f.floor : f.heldFrom;
      if (!need) continue;
      const p = pointOf(need);
      if (!min || comparePoints(p, min) < 0) min = p;
    }
    return min;
  }

  private subscribe(z: ZongJi, filename: string, offset: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let started = false;
      // Once zongji reported an error nothing it sends is used: what follows may lack rows it dropped.
      let failed = false;
      z.on('ready', () => {
        started = true;
        resolve();
      });
      z.on('error', (err: Error) => {
        if (!started) return reject(err);
        if (failed) return;
        failed = true;
        // A zongji already stopped (replaced, or the stream closed) fails no one.
        if (this.zongji === z) this.fail(zongjiError(err));
      });
      z.on('binlog', (e) => {
        if (failed || (this.zongji !== z && started)) return;
        this.lastEventAt = Date.now();
        const err = this.onEvent(e as unknown as AnyEvent, z.useChecksum);
        if (err) {
          failed = true;
          this.fail(err);
        }
      });
      z.start({
        filename,
        position: offset,
        serverId: this.serverId,
        includeSchema: this.schemaFilter(),
      });
      const conn = z.connection;
      if (!conn) return reject(new Error('zongji opened no connection'));
      // Both are read by the server's dump thread from this session before the dump begins (the
      // dump command is queued after them).
      conn.query('SET skip_replication = 1', (err: unknown) => {
        this.ownWritesFiltered = !err;
      });
      conn.query(`SET @master_heartbeat_period = ${limits.heartbeatMs * 1_000_000}`, () => {});
    });
  }

  /** Row events of watched tables only (zongji skips the others' rows without decoding them). */
  private schemaFilter(): Record<string, string[]> {
    const by: Record<string, string[]> = {};
    for (const f of this.feeds.values()) {
      by[f.schema] ??= [];
      by[f.schema]!.push(f.name);
    }
    // zongji reads an empty filter as "everything": name a table that cannot exist instead.
    return Object.keys(by).length > 0 ? by : { '#none#': ['#none#'] };
  }

  private refilter(): void {
    const z = this.zongji;
    // A running zongji takes new filters from start() without reconnecting.
    if (z) z.start({ includeSchema: this.schemaFilter() });
  }

  // ------------------------------------------------------------ events

  /**
   * Handles one zongji-shaped event as the live stream does, for tests
   * without a server of the kind (MySQL's event sequences): a failure it
   * meets is kept as the live stream keeps it (see `failed`).
   */
  feedEvent(e: AnyEvent, checksum = true): void {
    if (this.failure) return;
    const err = this.onEvent(e, checksum);
    if (err) this.fail(err);
  }

  /** The failure the stream will start again from (or report), null when none. */
  get failed(): Error | null {
    return this.failure;
  }

  /** Handles one event; returns the error that stops this zongji instance, if the event cannot be used. */
  private onEvent(e: AnyEvent, checksum: boolean): Error | null {
    const type = e.getTypeName();
    const end = e.nextPosition;
    const startOf = (): BinlogPoint => ({
      file: this.file,
      offset: end - (e.size + HEADER_BYTES + (checksum ? 4 : 0)),
    });
    switch (type) {
      case 'Rotate': {
        this.file = fileIndex(e.binlogName as string);
        if (!this.txnStart) this.advance({ file: this.file, offset: e.position as number });
        break;
      }
      case 'MariadbGtid':
      case 'Gtid':
      case 'AnonymousGtid': {
        if (this.txnStart) this.endTxn(null);
        this.beginTxn(startOf(), e.timestamp);
        // MariaDB flags a group of one statement (DDL) standalone. MySQL does not: its DDL group
        // is a GTID and one Query, no BEGIN, closed by nothing but the next group.
        this.standalone = type === 'MariadbGtid' && e.standalone === true;
        this.firstQuery = type !== 'MariadbGtid';
        break;
      }
      case 'Query': {
        const query = String(e.query).trim();
        if (/^(BEGIN|XA\s+START)\b/i.test(query)) {
          // Servers without GTID events open a transaction with BEGIN.
          this.firstQuery = false;
          if (!this.txnStart) this.beginTxn(startOf(), e.timestamp);
          break;
        }
        const ends =
          !this.txnStart ||
          this.standalone ||
          this.firstQuery ||
          /^(COMMIT|ROLLBACK|XA\s+(COMMIT|ROLLBACK))\b/i.test(query);
        this.firstQuery = false;
        if (!this.txnStart) this.beginTxn(startOf(), e.timestamp);
        const truncated = truncatedTable(query, String(e.schema ?? ''));
        const feed = truncated && this.feeds.get(`${truncated.schema}.${truncated.name}`);
        if (feed) this.decoder.truncate(feed);
        if (ends) this.endTxn(end);
        break;
      }
      case 'Xid':
      case 'XaPrepare':
        this.endTxn(end);
        break;
      case 'WriteRows':
      case 'UpdateRows':
      case 'DeleteRows':
        if (!this.txnStart) return undecodable(type, 'a row event outside any transaction');
        this.onRows(
          e as unknown as RowsEventLike,
          type === 'WriteRows' ? 'insert' : type === 'UpdateRows' ? 'update' : 'delete',
        );
        break;
      case 'Heartbeat': {
        if (this.txnStart) break;
        const at = e.position !== undefined ? Number(e.position) : end;
        this.advance({ file: fileIndex(e.binlogName as string), offset: at });
        this.wakeups.wake();
        break;
      }
      case 'Format':
      case 'PreviousGtids':
      case 'MariadbGtidList':
      case 'BinlogCheckpoint':
      case 'StartEncryption':
      case 'TableMap':
      case 'IntVar':
      case 'AnnotateRows':
      case 'RowsQuery':
        // Carry no rows. Between transactions, each says how far the log is read.
        if (!this.txnStart && end > 0) this.advance({ file: this.file, offset: end });
        break;
      case 'TransactionPayload':
      case 'PartialUpdateRows':
        return undecodable(type);
      default:
        // zongji's Unknown (a type it does not decode) or one newer than this code. Inside a
        // transaction it may hold rows: stop rather than skip them. Between transactions
        // (MySQL's v2 heartbeat, an incident, a view change) nothing is lost by passing it.
        if (this.txnStart)
          return undecodable(type, 'an event of a type tandem does not read, inside a transaction');
    }
    if (this.decoder.held >= limits.maxHeld) this.pause();
    return null;
  }

  /** The stream stops here: it starts again from the transaction it was in (ensure, start). */
  private fail(err: Error): void {
    const at = this.txnStart ?? this.readPoint;
    if (this.failures && comparePoints(this.failures.at, at) === 0) this.failures.count++;
    else this.failures = { at: { ...at }, count: 1 };
    this.failure = err;
    this.wakeups.wake();
  }

  /** The failure as the reader's CAPTURE_UNAVAILABLE, when starting again cannot get past it. */
  private unavailable(): TandemError | null {
    const err = this.failure;
    if (!err) return null;
    if (err instanceof TandemError && err.code === 'CAPTURE_UNAVAILABLE') return err;
    const f = this.failures;
    if (!f || f.count < limits.maxFailures) return null;
    const times = f.count;
    // The next read tries once more (and reports again if it fails again).
    f.count = limits.maxFailures - 1;
    return new TandemError(
      'CAPTURE_UNAVAILABLE',
      `The binlog of ${this.where} cannot be read past the transaction at offset ${f.at.offset} of binlog file number ${f.at.file}: it failed there ${times} times in a row (${err.message}); capture stops rather than skip it`,
      'If a captured table was altered or dropped after that change was written, its rows cannot be decoded with the columns it has now: add `binlog_row_metadata = FULL` under [mysqld] in my.cnf (the binlog then carries its own column names) and run `tandem reconcile`, which compares both sides in full and captures from now on.',
    );
  }

  private beginTxn(start: BinlogPoint, atMs: number): void {
    this.txnStart = start;
    this.standalone = false;
    this.firstQuery = false;
    this.decoder.begin(start, atMs);
  }

  private endTxn(end: number | null): void {
    const before = this.decoder.touches;
    this.decoder.commit();
    this.txnStart = null;
    this.standalone = false;
    this.firstQuery = false;
    if (end !== null && end > 0) this.advance({ file: this.file, offset: end });
    if (this.decoder.touches > before) this.touch();
    this.wakeups.wake();
  }

  private advance(p: BinlogPoint): void {
    if (comparePoints(p, this.readPoint) > 0) this.readPoint = p;
    // Past where it failed: a failure there again is a new one.
    if (this.failures && comparePoints(this.readPoint, this.failures.at) > 0) this.failures = null;
  }

  private onRows(e: RowsEventLike, op: RowOp): void {
    const table = e.tableMap[e.tableId];
    if (!table) return;
    const feed = this.feeds.get(`${table.parentSchema}.${table.tableName}`);
    if (!feed) return;
    const nativeType = table.columnSchemas.find((c) => c.COLUMN_NAME === feed.keyColumn)?.COLUMN_TYPE;
    const key = (row: Record<string, unknown> | undefined) =>
      row && feed.keyColumn in row ? keyText(row[feed.keyColumn], feed.keyKind, nativeType) : null;
    const keys: [string | null, string | null][] = e.rows.map((row) => {
      if (op === 'update') {
        const u = row as unknown as { before: Record<string, unknown>; after: Record<string, unknown> };
        return [key(u.before), key(u.after)];
      }
      const k = key(row);
      return [k, k];
    });
    this.decoder.rows(feed, op, keys);
  }

  private touch(): void {
    this.touched++;
    const next = this.nextTouch;
    this.nextTouch = null;
    next?.resolve();
  }

  // ------------------------------------------------------------ catching up

  /** Waits until every transaction committed before `target` has arrived (or the stream is paused). */
  private async catchUp(target: BinlogPoint): Promise<void> {
    const began = Date.now();
    let silent = false;
    while (comparePoints(this.readPoint, target) < 0 && !this.paused) {
      if (Date.now() - began > limits.stallMs)
        throw this.lost(this.failure ?? new Error(`not caught up in ${limits.stallMs / 1000} s`));
      if (this.failure) {
        // From the start of the transaction it failed in; failing there again and again ends in
        // CAPTURE_UNAVAILABLE (ensure), never in a skipped transaction.
        await this.ensure();
        continue;
      }
      if (Date.now() - this.lastEventAt > limits.silentMs) {
        // A silent connection (a server killed under it may say nothing): once more from where it was.
        if (silent) throw this.lost(new Error(`no event for ${limits.silentMs / 1000} s`));
        silent = true;
        await this.stop();
        await this.ensure();
        continue;
      }
      await this.wakeups.wait(limits.heartbeatMs);
    }
    // Caught up before a failure: what is held came before it, and the next read starts again.
    const unavailable = this.failure && this.unavailable();
    if (unavailable) throw unavailable;
  }

  private lost(err: Error): TandemError {
    return new TandemError(
      'CONNECT_FAILED',
      `The binlog stream from ${this.where} broke: ${err.message}`,
      'tandem starts it again from the last saved position on the next pass; check the server if this persists',
    );
  }

  private purged(from: BinlogPoint, have: string[]): TandemError {
    return new TandemError(
      'CAPTURE_UNAVAILABLE',
      `The binlog file numbered ${from.file}, where capture must go on from, is no longer on ${this.where} (it has ${have.join(', ') || 'none'}): it was purged (binlog_expire_logs_seconds, PURGE BINARY LOGS) or the log was reset, so changes made since cannot be read`,
      'Run `tandem reconcile`: it compares both sides in full and captures from now on. Keep binlogs longer than tandem may be stopped (binlog_expire_logs_seconds).',
    );
  }

  // ------------------------------------------------------------ memory

  private pause(): void {
    this.zongji?.connection?.pause();
    this.paused = true;
  }

  private resumeIfRoom(): void {
    if (!this.paused || this.decoder.held >= limits.maxHeld / 2) return;
    this.paused = false;
    this.zongji?.connection?.resume();
  }

  /** `feed` needs more but other tables' changes fill memory: drop theirs (they stream again when next read). */
  private evictOthers(feed: Feed): boolean {
    let dropped = false;
    for (const f of this.feeds.values()) {
      if (f === feed || f.entries.length === 0) continue;
      this.decoder.drop(f);
      f.heldFrom = this.heldFromNow();
      dropped = true;
    }
    this.resumeIfRoom();
    return dropped && !this.paused;
  }

  /** The reader has read all that is held and memory is full of it: what it read goes. */
  private letGoRead(feed: Feed, from: string): boolean {
    if (this.decoder.trimRead(feed, from) === 0) return false;
    if (from > feed.heldFrom) feed.heldFrom = from;
    this.resumeIfRoom();
    return !this.paused;
  }
}

/** zongji's own reports of events it cannot decode (it warns, and their rows are not emitted). */
function zongjiError(err: Error): Error {
  if (/TRANSACTION_PAYLOAD_EVENT/.test(err.message)) return undecodable('TransactionPayload');
  if (/PARTIAL_UPDATE_ROWS_EVENT/.test(err.message)) return undecodable('PartialUpdateRows');
  return err;
}

/** An event capture cannot read and must not pass over. */
function undecodable(type: string, what?: string): TandemError {
  if (type === 'TransactionPayload')
    return new TandemError(
      'CAPTURE_UNAVAILABLE',
      'The binlog holds compressed transactions (binlog_transaction_compression = ON), which capture cannot decode; it stops rather than skip their rows',
      'Add `binlog_transaction_compression = OFF` under [mysqld] in my.cnf (or SET GLOBAL binlog_transaction_compression = OFF), then run `tandem reconcile`: it compares both sides in full and captures from now on.',
    );
  if (type === 'PartialUpdateRows')
    return new TandemError(
      'CAPTURE_UNAVAILABLE',
      'The binlog holds partial JSON updates (binlog_row_value_options = PARTIAL_JSON), which capture cannot decode; it stops rather than skip them',
      "Add `binlog_row_value_options = ''` under [mysqld] in my.cnf (or SET GLOBAL binlog_row_value_options = ''), then run `tandem reconcile`: it compares both sides in full and captures from now on.",
    );
  return new TandemError(
    'CAPTURE_UNAVAILABLE',
    `The binlog holds ${what ?? 'an event capture cannot read'} (${type}); capture stops rather than skip rows it may hold`,
    'Check that every session logs in row format (binlog_format = ROW) and that binlog compression is off, then run `tandem reconcile`: it compares both sides in full and captures from now on. Report the event type if it persists.',
  );
}

/** The table a TRUNCATE statement names (`TRUNCATE [TABLE] [db.]t`), or null for any other statement. */
export function truncatedTable(
  query: string,
  defaultSchema: string,
): { schema: string; name: string } | null {
  const ident = '(`(?:[^`]|``)+`|[\\w$\\u0080-\\uffff]+)';
  const m = new RegExp(`^TRUNCATE\\s+(?:TABLE\\s+)?(?:${ident}\\s*\\.\\s*)?${ident}\\s*;?\\s*$`, 'i').exec(
    query.replace(/^\/\*.*?\*\/\s*/s, ''),
  );
  if (!m) return null;
  const unquote = (s: string) => (s.startsWith('`') ? s.slice(1, -1).replace(/``/g, '`') : s);
  return { schema: m[1] ? unquote(m[1]) : defaultSchema, name: unquote(m[2]!) };
}

export { entryPosition };

// ------------------------------------------------------------ one per server per process

const streams = new Map<string, { stream: BinlogStream; users: number }>();

/** The stream of this server, shared by every capture of the process; give it back with `releaseStream`. */
export function acquireStream(url: string, where: string): BinlogStream {
  const o = connectionOptions(url);
  const id = `${o.user}@${o.socketPath ?? `${o.host}:${o.port}`}`;
  let held = streams.get(id);
  if (!held) {
    held = { stream: new BinlogStream(url, where), users: 0 };
    streams.set(id, held);
  }
  held.users++;
  return held.stream;
}

export async function releaseStream(stream: BinlogStream): Promise<void> {
  for (const [id, held] of streams) {
    if (held.stream !== stream) continue;
    if (--held.users > 0) return;
    streams.delete(id);
    await stream.close();
    return;
  }
}
