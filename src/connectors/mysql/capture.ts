/**
 * Change capture from the MySQL/MariaDB binlog, for one database of one
 * server. The connector delegates every capture method here.
 *
 * The binlog is read as a replication stream (binlog-stream.ts, one per
 * server per process, shared by the captured tables); each table's changes
 * are held in memory (binlog-feeds.ts) until the engine has saved past them
 * (pruneChanges). Nothing is installed in the database and nothing is
 * written to it: the server keeps its binlog whatever tandem does, and the
 * engine keeps the positions (binlog-position.ts), so after a restart the
 * stream starts again from the position the engine asks for.
 *
 * tandem's own writes are flagged (own-writes.ts) and never sent; a read
 * returns a change only once its row can be read (CaptureSql.waitVisible).
 */
import { TandemError } from '../../core/errors.js';
import type { ChangeEvent } from '../../core/types.js';
import type { CaptureLag, CaptureStatus, ChangeBatch, TableSpec } from '../connector.js';
import type { Feed } from './binlog-feeds.js';
import { isBinlogPosition, pointOf, position } from './binlog-position.js';
import { preflight } from './binlog-setup.js';
import { acquireStream, type BinlogStream, releaseStream } from './binlog-stream.js';
import { connectionOptions } from './capture-sql.js';

export interface CaptureTable {
  /** The database (MySQL's "schema"); the connection's own when absent. */
  schema?: string;
  name: string;
}

export class MysqlCapture {
  private readonly url: string;
  private readonly database: string;
  private readonly where: string;
  private stream: BinlogStream | null = null;
  /** The last position handed out by currentPosition, per table: where startCapture streams from. */
  private readonly handed = new Map<string, string>();

  constructor(opts: { url: string; database: string }) {
    this.url = opts.url;
    this.database = opts.database;
    const o = connectionOptions(opts.url);
    this.where = `${o.socketPath ?? `${o.host}:${o.port}`}/${opts.database}`;
  }

  private binlog(): BinlogStream {
    this.stream ??= acquireStream(this.url, this.where);
    return this.stream;
  }

  private ref(t: CaptureTable): { schema: string; name: string } {
    return { schema: t.schema || this.database, name: t.name };
  }

  private feed(t: CaptureTable, spec: TableSpec, from: string): Feed {
    const { schema, name } = this.ref(t);
    const kind = spec.kinds[spec.key];
    if (!kind)
      throw new TandemError(
        'INTERNAL',
        `no kind for key column ${spec.key} of ${spec.table}`,
        'report this bug',
      );
    return this.binlog().watch(schema, name, spec.key, kind, from);
  }

  async installCapture(_t: CaptureTable, _spec: TableSpec): Promise<void> {
    // Nothing to make: only to check that the server keeps the log capture reads.
    await preflight(this.binlog().sql);
  }

  async captureStatus(_t: CaptureTable, _spec: TableSpec): Promise<CaptureStatus> {
    try {
      const p = await preflight(this.binlog().sql);
      return { installed: true, method: 'cdc', detail: p.detail };
    } catch (err) {
      if (!(err instanceof TandemError) || err.code !== 'CAPTURE_UNAVAILABLE') throw err;
      return { installed: false, method: 'cdc', detail: `${err.message}. Fix: ${err.fix}` };
    }
  }

  async startCapture(t: CaptureTable, spec: TableSpec): Promise<void> {
    const r = this.ref(t);
    const from = this.handed.get(`${r.schema}.${r.name}`) ?? (await this.currentPosition(t, spec));
    this.feed(t, spec, from);
    this.binlog().warm();
  }

  async currentPosition(t: CaptureTable, _spec: TableSpec): Promise<string> {
    // The first sync scans the table after this: every transaction before the position must be
    // visible to that scan, or its change is in neither the scan nor the capture. MariaDB: a
    // consistent snapshot's binlog position (nothing before it is still invisible). MySQL has
    // none (not tested here): where the binlog ends, which can already hold a commit InnoDB has
    // not made visible (a narrow window; see docs/mysql-capture.md).
    const sql = this.binlog().sql;
    const at = (await sql.snapshotPoint()) ?? (await sql.binlogEnd());
    const p = position(at, 0);
    const r = this.ref(t);
    this.handed.set(`${r.schema}.${r.name}`, p);
    return p;
  }

  async readChanges(t: CaptureTable, spec: TableSpec, after: string, limit: number): Promise<ChangeBatch> {
    if (!isBinlogPosition(after)) throw badPosition(after);
    const feed = this.feed(t, spec, after);
    const r = await this.binlog().read(feed, after, limit);
    return r.truncateAt === undefined ? r.batch : { ...r.batch, truncatedAt: r.truncateAt };
  }

  async latestChanges(
    t: CaptureTable,
    spec: TableSpec,
    after: string,
    keys: string[],
  ): Promise<Map<string, { at: string; op: ChangeEvent['op'] }>> {
    const out = new Map<string, { at: string; op: ChangeEvent['op'] }>();
    if (keys.length === 0) return out;
    const wanted = new Set(keys);
    // The log from `after` on, in pages; the last change of each key wins.
    let pos = after;
    for (;;) {
      const batch = await this.readChanges(t, spec, pos, 10_000);
      for (const c of batch.changes) if (wanted.has(c.key)) out.set(c.key, { at: c.at, op: c.op });
      if (batch.changes.length === 0 || batch.position === pos) return out;
      pos = batch.position;
    }
  }

  changeMark(): number {
    return this.stream?.mark() ?? 0;
  }

  changedSince(mark: number): Promise<void> {
    // No stream yet: nothing to wait for here (the interval still runs the next pass).
    return this.stream ? this.stream.changedSince(mark) : new Promise(() => {});
  }

  /**
   * The server keeps no log for tandem (it purges by age, see the docs), so
   * this is how much binlog lies between the slowest table's saved position
   * and the end: what the next pass has to read.
   */
  async captureLag(): Promise<CaptureLag | null> {
    const stream = this.stream;
    if (!stream) return null;
    let slowest: string | null = null;
    for (const f of stream.feeds.values()) {
      if (f.schema !== this.database || !f.floor) continue;
      if (slowest === null || f.floor < slowest) slowest = f.floor;
    }
    if (slowest === null) return null;
    const from = pointOf(slowest);
    const files = await stream.sql.binlogFiles();
    const end = await stream.sql.binlogEnd();
    let behind = 0;
    for (const f of files) {
      if (f.index < from.file || f.index > end.file) continue;
      const size = f.index === end.file ? end.offset : f.size;
      behind += Math.max(0, size - (f.index === from.file ? from.offset : 0));
    }
    return { holder: `binlog of ${this.where}`, behindBytes: behind, active: stream.running };
  }

  async pruneChanges(t: CaptureTable, spec: TableSpec, upTo: string): Promise<void> {
    if (!isBinlogPosition(upTo)) return;
    const r = this.ref(t);
    const feed = this.binlog().feeds.get(`${r.schema}.${r.name}`);
    if (feed && feed.keyColumn === spec.key) this.binlog().trim(feed, upTo);
  }

  async removeCapture(t: CaptureTable, _spec: TableSpec): Promise<void> {
    const r = this.ref(t);
    this.stream?.unwatch(r.schema, r.name);
    this.handed.delete(`${r.schema}.${r.name}`);
  }

  /** Nothing was installed in the database: nothing to remove. */
  async teardown(): Promise<void> {}

  async close(): Promise<void> {
    const stream = this.stream;
    this.stream = null;
    if (stream) {
      for (const f of [...stream.feeds.values()])
        if (f.schema === this.database) stream.unwatch(f.schema, f.name);
      await releaseStream(stream);
    }
  }
}

function badPosition(pos: string): TandemError {
  return new TandemError(
    'INTERNAL',
    `${JSON.stringify(pos)} is not a binlog position (file:offset:change)`,
    'Run `tandem reconcile`: it compares both sides in full and starts capture afresh.',
  );
}
