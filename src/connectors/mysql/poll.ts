/**
 * Change capture by polling, where the binlog cannot be read
 * (`change_detection: poll`, or `auto` when log_bin is off, the format is not
 * ROW with FULL images, or the user lacks the replication grants). Same
 * surface as the binlog's MysqlCapture (capture.ts), so the connector picks
 * one per table (`choose`, capture-mode.ts).
 *
 * A *poll* finds what changed since the last one and writes it to the feed's
 * log (poll-setup.ts); the engine reads that log, and its positions are the
 * log's numbers (poll-log.ts). Finding and logging are one transaction, and
 * the log is pruned only once the engine has saved past an entry, so a crash
 * in between finds the change again in the log; a read with nothing new
 * returns nothing.
 *
 * - Inserts and updates: the window on `updated_at` (poll-window.ts).
 * - Deletes: the key scan (poll-keys.ts), on this process's first poll of
 *   the table and then every `keyScanMs` (10 × poll interval by default). It
 *   also finds what the window cannot: a row whose `updated_at` was not
 *   moved, or a transaction open for longer than the overlap.
 * - A scan feed (no usable `updated_at`) runs the key scan, comparing a
 *   fingerprint of the columns read, at every poll.
 *
 * A read polls when the log holds nothing after its position, at most once
 * per poll interval. tandem's own writes come back through polling like any
 * other change (the engine's base fingerprints make them no-ops); the
 * connector tells the kept keys of them (`keepOwnWrites`) so a row tandem
 * inserted and the user deleted before any poll saw it is still found gone.
 *
 * Two connections of its own: one reads the log, one runs polls and the
 * other writes to tandem's tables, one at a time in call order.
 */
import { TandemError } from '../../core/errors.js';
import type { ChangeEvent } from '../../core/types.js';
import type { CaptureLag, CaptureStatus, ChangeBatch, TableSpec } from '../connector.js';
import { redactUrl } from '../url.js';
import { type CaptureChoice, type ChangeDetection, chooseCapture, pollDetail } from './capture-mode.js';
import { keepOwnWrites, scanKeys } from './poll-keys.js';
import { FeedWriter, isoOf, isPollPosition, position, seqOf, seqParam } from './poll-log.js';
import { PollSession, pollConnectionOptions } from './poll-session.js';
import {
  dropTablesIfUnused,
  type Feed,
  feedInstalled,
  feedOf,
  installFeed,
  removeFeeds,
  tablesExist,
} from './poll-setup.js';
import { pollWindow } from './poll-window.js';

export { isPollPosition } from './poll-log.js';

type CaptureTable = { schema?: string; name: string };
type Latest = Map<string, { at: string; op: ChangeEvent['op'] }>;

export interface MysqlPollOptions {
  url: string;
  /** The URL's database: where a table named without one is. */
  database: string;
  /** Between polls (default 2 s). */
  pollIntervalMs?: number;
  /** Between key scans of a table polled on updated_at (default 10 × pollIntervalMs). */
  keyScanMs?: number;
  /** The connection's change_detection (default poll): how `choose` decides. */
  changeDetection?: ChangeDetection;
  /** Throws CAPTURE_UNAVAILABLE (with the fix) when the binlog cannot be used; asked by `choose` under auto. */
  binlogPreflight?: () => Promise<unknown>;
}

export class MysqlPollCapture {
  private readonly database: string;
  private readonly pollIntervalMs: number;
  private readonly keyScanMs: number;
  private readonly mode: ChangeDetection;
  private readonly binlogPreflight: () => Promise<unknown>;
  private readonly reader: PollSession;
  private readonly writer: PollSession;
  /** The tail of the writer's queue. */
  private writing: Promise<unknown> = Promise.resolve();
  private readonly choices = new Map<string, Promise<CaptureChoice>>();
  private readonly feeds = new Map<string, Promise<Feed>>();
  /** Databases whose polling tables were seen (they stay until teardown). */
  private readonly seen = new Set<string>();
  /** When each feed was last polled, and last key-scanned, by this process. */
  private readonly polledAt = new Map<string, number>();
  private readonly scannedAt = new Map<string, number>();

  constructor(opts: MysqlPollOptions) {
    this.database = opts.database;
    this.pollIntervalMs = opts.pollIntervalMs ?? 2000;
    this.keyScanMs = opts.keyScanMs ?? 10 * this.pollIntervalMs;
    this.mode = opts.changeDetection ?? 'poll';
    this.binlogPreflight =
      opts.binlogPreflight ??
      (async () => {
        throw new TandemError(
          'CAPTURE_UNAVAILABLE',
          'Binlog capture was not offered',
          'use change_detection: cdc',
        );
      });
    const options = pollConnectionOptions(opts.url);
    const where = redactUrl(opts.url);
    this.reader = new PollSession(options, where);
    this.writer = new PollSession(options, where);
  }

  private ref(t: CaptureTable): { schema: string; name: string } {
    return { schema: t.schema || this.database, name: t.name };
  }

  /**
   * How this table's changes are found (cdc, poll or scan) and why, decided
   * once per table; the connector uses the binlog capture for `cdc`.
   */
  choose(t: CaptureTable, spec: TableSpec): Promise<CaptureChoice> {
    const r = this.ref(t);
    const id = `${r.schema}.${r.name}|${spec.key}|${spec.updatedAt ?? ''}`;
    let c = this.choices.get(id);
    if (!c) {
      c = chooseCapture(this.reader, r.schema, spec, this.mode, this.binlogPreflight);
      // A failure (a server down) is asked again next time.
      c.catch(() => this.choices.delete(id));
      this.choices.set(id, c);
    }
    return c;
  }

  private async feed(t: CaptureTable, spec: TableSpec): Promise<Feed> {
    const choice = await this.choose(t, spec);
    if (choice.method === 'cdc') {
      throw new TandemError(
        'INTERNAL',
        `Table ${spec.table} is captured from the binlog, not by polling`,
        'report this bug: the connector should use the binlog capture for this table',
      );
    }
    const r = this.ref(t);
    const id = `${r.schema}.${r.name}|${choice.method}|${spec.key}|${spec.updatedAt ?? ''}|${[...spec.columns].sort().join(',')}`;
    let f = this.feeds.get(id);
    if (!f) {
      f = feedOf(this.reader, r, spec, choice.method);
      f.catch(() => this.feeds.delete(id));
      this.feeds.set(id, f);
    }
    return f;
  }

  /** Runs `work` on the writer after everything queued before it. */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writing.then(work);
    this.writing = run.catch(() => {});
    return run;
  }

  private async tables(database: string): Promise<boolean> {
    if (this.seen.has(database)) return true;
    const exists = await tablesExist(this.reader, database);
    if (exists) this.seen.add(database);
    return exists;
  }

  async installCapture(t: CaptureTable, spec: TableSpec): Promise<void> {
    const f = await this.feed(t, spec);
    await this.serially(() => installFeed(this.writer, f));
    this.seen.add(f.database);
  }

  /** Also checks that polling can be set up (validate calls this): CAPTURE_UNAVAILABLE or CONFIG_INVALID with the fix if not. */
  async captureStatus(t: CaptureTable, spec: TableSpec): Promise<CaptureStatus> {
    const choice = await this.choose(t, spec);
    const f = await this.feed(t, spec);
    return {
      installed: await feedInstalled(this.reader, f),
      method: choice.method === 'scan' ? 'scan' : 'poll',
      detail: pollDetail(choice, spec, { pollIntervalMs: this.pollIntervalMs, keyScanMs: this.keyScanMs }),
    };
  }

  // The rest of the connector's capture surface, for a capture that must be looked at: nothing to
  // start in the background, nothing that tells of changes as they commit, no place held in a log.

  async startCapture(_t: CaptureTable, _spec: TableSpec): Promise<void> {}

  changeMark(): number {
    return 0;
  }

  changedSince(_mark: number): Promise<void> {
    return new Promise(() => {});
  }

  async captureLag(): Promise<CaptureLag | null> {
    return null;
  }

  async currentPosition(t: CaptureTable, spec: TableSpec): Promise<string> {
    const f = await this.feed(t, spec);
    if (!(await this.tables(f.database))) return position(0n);
    const r = await this.reader.rows(`SELECT CAST(logged AS CHAR) FROM ${f.feedsSql} WHERE feed = ?`, [f.id]);
    return position(String(r[0]?.[0] ?? '0'));
  }

  async readChanges(t: CaptureTable, spec: TableSpec, after: string, limit: number): Promise<ChangeBatch> {
    // A position from the binlog: the table was captured another way until now, and where that
    // left off means nothing here. Compare in full (as after a TRUNCATE).
    if (!isPollPosition(after)) return { changes: [], position: after, truncatedAt: after };
    const f = await this.feed(t, spec);
    if (!(await this.tables(f.database))) return { changes: [], position: after };
    let changes = await this.readLog(f, after, limit);
    if (changes.length === 0 && this.due(f)) {
      await this.poll(f);
      changes = await this.readLog(f, after, limit);
    }
    return { changes, position: changes.at(-1)?.position ?? after };
  }

  async latestChanges(t: CaptureTable, spec: TableSpec, after: string, keys: string[]): Promise<Latest> {
    const out: Latest = new Map();
    if (keys.length === 0 || !isPollPosition(after)) return out;
    const f = await this.feed(t, spec);
    if (!(await this.tables(f.database))) return out;
    // The log only (no poll): what was found and not yet read, the last entry of a key winning.
    for (let i = 0; i < keys.length; i += 1_000) {
      const chunk = keys.slice(i, i + 1_000);
      const rows = await this.reader.rows(
        `SELECT k, op, CAST(at AS CHAR) FROM ${f.logSql}
          WHERE feed = ? AND seq > ? AND k IN (${chunk.map(() => '?').join(', ')}) ORDER BY seq`,
        [f.id, seqOf(after), ...chunk],
      );
      for (const [key, op, at] of rows)
        out.set(String(key), { at: isoOf(String(at)), op: op as ChangeEvent['op'] });
    }
    return out;
  }

  /** The log up to and including `upTo` is saved by the engine. */
  async pruneChanges(t: CaptureTable, spec: TableSpec, upTo: string): Promise<void> {
    if (!isPollPosition(upTo)) return;
    const f = await this.feed(t, spec);
    if (!(await this.tables(f.database))) return;
    await this.serially(() =>
      this.writer.run(`DELETE FROM ${f.logSql} WHERE feed = ? AND seq <= ?`, [f.id, seqOf(upTo)]),
    );
  }

  /**
   * tandem's own committed writes to a polled table (canonical keys): call
   * after each write that landed, so the kept keys know of them (poll-keys.ts).
   */
  async keepOwnWrites(
    t: CaptureTable,
    spec: TableSpec,
    inserted: string[],
    deleted: string[],
  ): Promise<void> {
    if (inserted.length === 0 && deleted.length === 0) return;
    const f = await this.feed(t, spec);
    await this.serially(() => keepOwnWrites(this.writer, f, inserted, deleted));
  }

  async removeCapture(t: CaptureTable, _spec: TableSpec): Promise<void> {
    const r = this.ref(t);
    // Whichever way the table was polled, now or before.
    await this.serially(() => removeFeeds(this.writer, r));
    for (const [id, f] of this.feeds)
      if (id.startsWith(`${r.schema}.${r.name}|`)) void f.then((x) => this.forget(x));
  }

  async teardown(): Promise<void> {
    const databases = new Set([this.database, ...this.seen]);
    await this.serially(async () => {
      for (const db of databases) if (db) await dropTablesIfUnused(this.writer, db);
    });
    this.seen.clear();
  }

  async close(): Promise<void> {
    await this.writing;
    await Promise.all([this.reader.close(), this.writer.close()]);
  }

  private forget(f: Feed): void {
    this.polledAt.delete(f.id);
    this.scannedAt.delete(f.id);
  }

  private due(f: Feed): boolean {
    const last = this.polledAt.get(f.id);
    return last === undefined || Date.now() - last >= this.pollIntervalMs;
  }

  /** One poll: finds what changed and logs it, in one transaction. */
  async poll(f: Feed): Promise<void> {
    const started = Date.now();
    const lastScan = this.scannedAt.get(f.id);
    const scan = f.method === 'scan' || lastScan === undefined || started - lastScan >= this.keyScanMs;
    const s = this.writer;
    const done = await this.serially(() =>
      s.transaction(async () => {
        // One poll of a feed at a time, across processes too: log numbers then follow commit order.
        const row = await s.rows(
          `SELECT CAST(cursor_at AS CHAR), CAST(logged AS CHAR) FROM ${f.feedsSql} WHERE feed = ? FOR UPDATE`,
          [f.id],
        );
        if (row.length === 0) return false;
        const now = String((await s.rows('SELECT CAST(UTC_TIMESTAMP(6) AS CHAR)'))[0]![0]);
        const w = new FeedWriter(s, f, BigInt(String(row[0]![1])));
        let cursor = row[0]![0] === null ? null : String(row[0]![0]);
        if (f.method === 'poll' && cursor !== null) cursor = await pollWindow(s, f, w, cursor, now);
        if (scan) await scanKeys(s, f, w, now);
        await s.run(
          `UPDATE ${f.feedsSql} SET cursor_at = CAST(? AS DATETIME(6)), logged = ? WHERE feed = ?`,
          [cursor, seqParam(w.logged), f.id],
        );
        return true;
      }),
    );
    if (!done) return;
    this.polledAt.set(f.id, started);
    if (scan) this.scannedAt.set(f.id, started);
  }

  private async readLog(f: Feed, after: string, limit: number): Promise<ChangeEvent[]> {
    const rows = await this.reader.rows(
      `SELECT CAST(seq AS CHAR), k, op, CAST(at AS CHAR) FROM ${f.logSql} WHERE feed = ? AND seq > ? ORDER BY seq LIMIT ?`,
      [f.id, seqOf(after), Math.max(0, Math.floor(limit))],
    );
    return rows.map(([seq, key, op, at]) => ({
      key: String(key),
      op: op as ChangeEvent['op'],
      at: isoOf(String(at)),
      position: position(String(seq)),
    }));
  }
}
