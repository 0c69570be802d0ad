/**
 * The slot read as a stream: one logical replication connection per slot
 * (pg-logical-replication speaks the protocol; pgoutput.ts decodes the
 * messages; feeds.ts keeps each table's changes). Changes arrive as they
 * commit, so a read costs no decoding; the SQL interface, which decodes the
 * slot again from its start on every call, cost 15–20 ms per look.
 *
 * Three promises hold it together:
 * - **Nothing is confirmed before it is saved.** The slot is told a position
 *   is flushed only when every table has saved past it (`ack`, called from
 *   pruneChanges). A crash at any moment streams the same changes again.
 * - **A read sees every change committed before it began.** `catchUp` asks
 *   the server where the WAL ends and pings the walsender until its keepalive
 *   says it has sent everything up to there.
 * - **Memory is bounded.** Past `limits.maxHeld` entries the socket is paused
 *   (the server waits). A reader that has read all that is held and wants
 *   more makes room: other tables' feeds are dropped first, then what it has
 *   read itself (a look ahead that saves nothing, as the delete guard's
 *   count); whatever was dropped is streamed again when next read.
 *
 * One stream per slot per process, shared by every connector on that
 * database (a slot serves one connection at a time).
 */
import { LogicalReplicationService } from 'pg-logical-replication';
import { TandemError } from '../../core/errors.js';
import type { ColumnKind } from '../../core/types.js';
import { Wakeups } from '../wakeups.js';
import { type Feed, FeedDecoder, type Walked, walk } from './feeds.js';
import { formatLsn, type Lsn, parseLsn, parsePgoutput } from './pgoutput.js';
import { PgSession } from './session.js';
import { type CaptureNames, position } from './slot.js';

/** Entries held across all tables before the stream is paused (~100 bytes each); tests lower it. */
export const limits = { maxHeld: 200_000 };
/** How long a read waits for the walsender to make any progress before giving up. */
const STALL_MS = 30_000;

/** Insert, Update, Delete, Truncate. */
const ROW_TAGS = new Set([0x49, 0x55, 0x44, 0x54]);

type Plugin = Parameters<LogicalReplicationService['subscribe']>[0];

/** pgoutput, protocol 1, decoded by pgoutput.ts (the library's own parser turns values into JS types). */
function pgoutput(publication: string): Plugin {
  const pub = publication.replace(/'/g, "''");
  return {
    options: {},
    name: 'pgoutput',
    // Decoded in the data handler, which knows whether the transaction is tandem's own.
    parse: (buffer: Buffer) => buffer,
    start: (client: { query(sql: string): Promise<unknown> }, slot: string, lsn: string) =>
      client.query(
        `START_REPLICATION SLOT "${slot}" LOGICAL ${lsn} (proto_version '1', publication_names '${pub}')`,
      ),
  } as unknown as Plugin;
}

/** The socket under the replication client, paused for backpressure (the library does not expose it). */
type Socket = { pause(): void; resume(): void };

export class WalStream {
  private readonly feeds = new Map<string, Feed>();
  private decoder = new FeedDecoder(this.feeds);
  private service: LogicalReplicationService | null = null;
  private starting: Promise<void> | null = null;
  /** Every transaction that committed before this LSN has arrived. */
  private caughtUp: Lsn = 0n;
  /** What the slot has been told is saved. */
  private flushed: Lsn = 0n;
  private paused = false;
  private closed = false;
  private pausedStatus: ReturnType<typeof setInterval> | undefined;
  private failure: Error | null = null;
  /** A table joined (or was dropped) after streaming began: it must start again to see its past. */
  private restartDue = false;
  private readonly stale = new Set<string>();
  private readonly wakeups = new Wakeups();
  /** Changes arrived since a mark (see changedSince); one promise shared by everyone waiting. */
  private touched = 0;
  private nextTouch: { promise: Promise<void>; resolve: () => void } | null = null;
  /** For the few SQL questions the stream asks (where the WAL ends, where the slot is). */
  private readonly sql: PgSession;

  constructor(
    private readonly url: string,
    private readonly where: string,
    private readonly names: CaptureNames,
  ) {
    this.sql = new PgSession(url, where);
  }

  get running(): boolean {
    return this.service !== null;
  }

  /** Streams this table's changes after `floor` (its saved position) from now on. */
  watch(table: string, keyColumn: string, keyKind: ColumnKind, floor: string): void {
    const had = this.feeds.get(table);
    if (had && had.keyColumn === keyColumn) return;
    if (had) this.decoder.drop(had);
    this.feeds.set(table, { keyColumn, keyKind, floor, entries: [], n: 0, touched: false });
    if (this.service || this.starting) this.restartDue = true;
  }

  unwatch(table: string): void {
    const had = this.feeds.get(table);
    if (!had) return;
    this.decoder.drop(had);
    this.feeds.delete(table);
    this.resumeIfRoom();
  }

  /** Starts streaming for `table` in the background; a failure is met again by the next read. */
  warm(table: string): void {
    this.ensure(table).catch(() => {});
  }

  /** Up to `limit` changes of `table` after `after` and `floor`, everything committed before the call included. */
  async read(table: string, floor: string, after: string, limit: number): Promise<Walked> {
    const from = floor > after ? floor : after;
    const had = this.feeds.get(table)?.heldFrom;
    if (had !== undefined && from < had) this.stale.add(table);
    await this.ensure(table);
    const feed = this.feeds.get(table)!;
    let r = walk(feed.entries, from, after, limit);
    if (!r.exhausted) return this.visible(r);
    const target = await this.walEnd();
    for (;;) {
      await this.catchUp(target);
      r = walk(feed.entries, from, after, limit);
      if (!r.exhausted || r.batch.changes.length > 0) return this.visible(r);
      if (!this.paused || !(this.evictOthers(table) || this.letGoRead(feed, from))) break;
    }
    // Nothing for this table up to where the server has read: its position moves there, and the
    // slot with it (pgoutput sends nothing for transactions outside the publication, so without
    // this an idle table would hold the log of every other table's writes).
    const idle = position(this.caughtUp, 0);
    if (r.batch.changes.length === 0 && !this.paused && idle > r.batch.position && idle > from) {
      r.batch.position = idle;
    }
    return this.visible(r);
  }

  /**
   * A transaction is in the log (and so streamed) a moment before other
   * sessions can see it: its commit is flushed first and published to
   * snapshots after. The engine reads the changed rows right away, and would
   * read them as they were before. So the batch waits until a new snapshot
   * sees every transaction in it (almost always at the first look).
   */
  private async visible(r: Walked): Promise<Walked> {
    if (r.xids.size === 0) return r;
    const started = Date.now();
    for (;;) {
      const snap = (await this.sql.rows('SELECT pg_current_snapshot()::text'))[0]![0]!;
      if ([...r.xids].every((xid) => visibleIn(snap, xid))) return r;
      if (Date.now() - started > STALL_MS) {
        throw this.lost(new Error('a transaction read from the log did not become visible'));
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** A number that grows each time a transaction changes a watched table. */
  mark(): number {
    return this.touched;
  }

  /** Resolves once a transaction changed a watched table after `mark` (at once if one already has). */
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

  private touch(): void {
    this.touched += this.decoder.touches;
    this.decoder.touches = 0;
    const next = this.nextTouch;
    this.nextTouch = null;
    next?.resolve();
  }

  /** Tells the slot that everything before `lsn` is saved (never goes back). */
  ack(lsn: Lsn): void {
    if (lsn <= this.flushed) return;
    this.flushed = lsn;
    this.status(false);
  }

  /** This table has saved up to `upTo`: what it held up to there can go. */
  trim(table: string, upTo: string): void {
    const feed = this.feeds.get(table);
    if (feed) this.decoder.trim(feed, upTo);
    this.resumeIfRoom();
  }

  async stop(): Promise<void> {
    // A start in flight (a warm-up, or another read's) would otherwise open its connection after
    // this stop, and hold the slot and the process.
    await this.starting?.catch(() => {});
    const service = this.service;
    this.service = null;
    this.paused = false;
    clearInterval(this.pausedStatus);
    if (service) {
      service.removeAllListeners();
      service.on('error', () => {});
      await service.stop().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    await this.sql.close();
  }

  // ------------------------------------------------------------ the connection

  /** Streaming, from far enough back for every table watched (starts again when a table needs it). */
  private async ensure(table: string): Promise<void> {
    if (this.closed) throw new Error('the change stream is closed');
    if (this.failure || this.restartDue || this.stale.has(table)) await this.stop();
    if (!this.service) {
      this.starting ??= this.start().finally(() => {
        this.starting = null;
      });
      await this.starting;
    }
  }

  private async start(): Promise<void> {
    this.failure = null;
    this.restartDue = false;
    this.stale.clear();
    this.decoder = new FeedDecoder(this.feeds);
    for (const f of this.feeds.values()) {
      f.entries = [];
      delete f.heldFrom;
    }
    this.caughtUp = 0n;
    const slot = await this.sql.rows(
      'SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1',
      [this.names.slot],
    );
    if (slot.length === 0) throw slotGone(this.names.slot);
    this.flushed = parseLsn(slot[0]![0] ?? '0/0');
    for (let attempt = 1; ; attempt++) {
      const service = new LogicalReplicationService(
        { connectionString: this.url },
        { acknowledge: { auto: false, timeoutSeconds: 0 } },
      );
      try {
        await this.subscribe(service);
        this.service = service;
        return;
      } catch (err) {
        service.removeAllListeners();
        service.on('error', () => {});
        await service.stop().catch(() => {});
        const code = (err as { code?: string }).code;
        if (code === '42704') throw slotGone(this.names.slot);
        // The previous stream's server process may take a moment to let the slot go.
        if (code === '55006' && attempt < 50) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        if (code === '55006') throw await this.slotBusy();
        throw new TandemError(
          'CONNECT_FAILED',
          `Cannot stream changes from PostgreSQL at ${this.where}: ${(err as Error).message}`,
          'Check that the server is up and that the role may use replication (`tandem validate` says what is missing).',
        );
      }
    }
  }

  /** Resolves once the server has started streaming; rejects with the server's error if it will not. */
  private subscribe(service: LogicalReplicationService): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let started = false;
      service.on('start', () => {
        started = true;
        resolve();
      });
      service.on('data', (_lsn: string, message: Buffer) => {
        // A row of tandem's own transaction (its first sync's million inserts, say) is skipped
        // unread: nothing of it is ever reported.
        if (this.decoder.inOwnTransaction && ROW_TAGS.has(message[0]!)) return;
        const end = this.decoder.apply(parsePgoutput(message));
        if (end !== null && end > this.caughtUp) this.caughtUp = end;
        if (this.decoder.touches > 0) this.touch();
        if (this.decoder.held >= limits.maxHeld) this.pause();
        if (end !== null) this.wakeups.wake();
      });
      service.on('heartbeat', (lsn: string, _at: number, reply: boolean) => {
        const sent = parseLsn(lsn);
        if (sent > this.caughtUp) this.caughtUp = sent;
        // The walsender closes a connection that does not answer within wal_sender_timeout.
        if (reply) this.status(false);
        this.wakeups.wake();
      });
      const fail = (err: Error) => {
        if (!started) return reject(err);
        if (this.service !== service) return;
        this.failure = err;
        this.wakeups.wake();
      };
      service.on('error', fail);
      service
        .subscribe(pgoutput(this.names.publication), this.names.slot, formatLsn(0n))
        // The copy ends only when the connection does: from here on the stream must start again.
        .then(() => fail(new Error('the replication connection ended')), fail);
    });
  }

  /** Sends the saved position (and, with `ping`, asks for a keepalive saying how far the server has sent). */
  private status(ping: boolean): void {
    // The library sends the position it is given plus one: the first byte not yet saved.
    void this.service?.acknowledge(formatLsn(this.flushed > 0n ? this.flushed - 1n : 0n), ping);
  }

  // ------------------------------------------------------------ catching up

  private async walEnd(): Promise<Lsn> {
    return parseLsn((await this.sql.rows('SELECT pg_current_wal_flush_lsn()::text'))[0]![0]!);
  }

  /** Waits until every transaction that committed before `target` has arrived (or the stream is paused). */
  private async catchUp(target: Lsn): Promise<void> {
    let progressAt = Date.now();
    let seen = this.caughtUp;
    while (this.caughtUp < target && !this.paused) {
      if (this.failure) throw this.lost(this.failure);
      this.status(true);
      await this.wakeups.wait(20);
      if (this.caughtUp > seen) {
        seen = this.caughtUp;
        progressAt = Date.now();
      } else if (Date.now() - progressAt > STALL_MS) {
        throw this.lost(new Error(`no progress in ${STALL_MS / 1000} s`));
      }
    }
    if (this.failure) throw this.lost(this.failure);
  }

  private lost(err: Error): TandemError {
    return new TandemError(
      'CONNECT_FAILED',
      `The change stream from PostgreSQL at ${this.where} broke: ${err.message}`,
      'tandem starts it again from the last saved position on the next pass; check the server if this persists',
    );
  }

  // ------------------------------------------------------------ memory

  private socket(): Socket | undefined {
    return (this.service as unknown as { _connection?: { stream?: Socket } } | null)?._connection?.stream;
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket()?.pause();
    // Keepalives are not read while paused: answer on a timer, or the walsender ends the
    // connection after wal_sender_timeout (60 s by default).
    this.pausedStatus = setInterval(() => this.status(false), 10_000);
  }

  private resumeIfRoom(): void {
    if (!this.paused || this.decoder.held >= limits.maxHeld / 2) return;
    this.paused = false;
    clearInterval(this.pausedStatus);
    this.socket()?.resume();
  }

  /**
   * `table` needs more but other tables' changes fill memory: drop theirs (they
   * stream again when next read) and go on. False when there is nothing to drop.
   */
  private evictOthers(table: string): boolean {
    let dropped = false;
    for (const [name, feed] of this.feeds) {
      if (name === table || feed.entries.length === 0) continue;
      this.decoder.drop(feed);
      this.stale.add(name);
      dropped = true;
    }
    this.resumeIfRoom();
    return dropped && !this.paused;
  }

  /**
   * The reader of `feed` has read everything held and memory is full of it:
   * what it read (up to `from`) goes. False when there is nothing to let go.
   */
  private letGoRead(feed: Feed, from: string): boolean {
    if (this.decoder.trimRead(feed, from) === 0) return false;
    feed.heldFrom = from;
    this.resumeIfRoom();
    return !this.paused;
  }

  private async slotBusy(): Promise<TandemError> {
    const who = await this.sql
      .rows('SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = $1', [this.names.slot])
      .catch(() => []);
    const pid = who[0]?.[0];
    return new TandemError(
      'CAPTURE_UNAVAILABLE',
      `The replication slot ${this.names.slot} is in use by another connection${pid ? ` (server process ${pid})` : ''}: is another tandem running on this database?`,
      `Stop the other tandem first; if none is running, end the connection with SELECT pg_terminate_backend(${pid ?? 'active_pid'}).`,
    );
  }
}

/**
 * Whether a snapshot (`xmin:xmax:xip,…`, 64-bit ids) sees the committed
 * transaction `xid`: the 32-bit id pgoutput sends, taken in the epoch that
 * puts it nearest xmax (it committed a moment ago).
 */
export function visibleIn(snapshot: string, xid: number): boolean {
  const [xminText, xmaxText, xipText] = snapshot.split(':');
  const xmin = BigInt(xminText!);
  const xmax = BigInt(xmaxText!);
  let full = (xmax & ~0xffffffffn) | BigInt(xid);
  if (full > xmax + 0x80000000n) full -= 0x100000000n;
  else if (full < xmax - 0x80000000n) full += 0x100000000n;
  if (full < xmin) return true;
  if (full >= xmax) return false;
  return !(xipText ? xipText.split(',') : []).some((x) => BigInt(x) === full);
}

function slotGone(slot: string): TandemError {
  return new TandemError(
    'CAPTURE_UNAVAILABLE',
    `The replication slot ${slot} is gone (dropped outside tandem?): changes made since cannot be read from it`,
    'Run `tandem reconcile`: it compares both sides in full and sets capture up again.',
  );
}

// ------------------------------------------------------------ one per slot per process

const streams = new Map<string, { stream: WalStream; users: number }>();

/** The stream of this slot, shared by every connector of the process; give it back with `releaseStream`. */
export function acquireStream(url: string, where: string, names: CaptureNames): WalStream {
  const id = `${url}#${names.slot}`;
  let held = streams.get(id);
  if (!held) {
    held = { stream: new WalStream(url, where, names), users: 0 };
    streams.set(id, held);
  }
  held.users++;
  return held.stream;
}

export async function releaseStream(stream: WalStream): Promise<void> {
  for (const [id, held] of streams) {
    if (held.stream !== stream) continue;
    if (--held.users > 0) return;
    streams.delete(id);
    await stream.close();
    return;
  }
}
