/**
 * PostgreSQL connector (node-postgres): opens the connections and wires the
 * parts together. Reads are in `read.ts`, writes in `write.ts`, the catalog in
 * `introspect.ts`; values go through `convert.ts` both ways.
 *
 * Two connections: one for writes, whose transaction stays open while the
 * engine saves the batch's intent, and one for everything else, so a read
 * made meanwhile never sees (nor joins) a write that has not committed.
 * Writes are queued and run one after another in call order.
 *
 * Change capture is logical replication from the write-ahead log, streamed
 * (capture.ts, stream.ts), or, where logical replication is not allowed,
 * polling (poll.ts, poll-keys.ts, poll-setup.ts); capture-mode.ts picks one
 * per table from the connection's `change_detection`.
 */
import { TandemError } from '../../core/errors.js';
import type { ChangeEvent, SourceRecord, TableInfo } from '../../core/types.js';
import type {
  CaptureClaim,
  CaptureLag,
  CaptureStatus,
  ChangeBatch,
  Connector,
  TableSpec,
  WriteOp,
  WriteOptions,
  WriteReceipt,
  WriteResult,
} from '../connector.js';
import { ForgottenReceipts } from '../forgotten-receipts.js';
import { landedKeys } from '../landed-keys.js';
import { redactUrl } from '../url.js';
import * as capture from './capture.js';
import { type CaptureChoice, type ChangeDetection, chooseCapture, pollDetail } from './capture-mode.js';
import * as setup from './capture-setup.js';
import { checkClaim, claimCapture, dropClaimsIfEmpty, releaseClaim } from './claims.js';
import { introspectTable, relationOid } from './introspect.js';
import { tagSession } from './origin.js';
import type { Lsn } from './pgoutput.js';
import { isPollPosition, PollCapture } from './poll.js';
import { keepOwnWrites } from './poll-keys.js';
import { type Feed, feedInstalled, feedOf, installFeed, removeFeeds } from './poll-setup.js';
import { countRows, readWhere, scanPage } from './read.js';
import { PgSession } from './session.js';
import * as slot from './slot.js';
import { type CaptureNames, captureNames } from './slot.js';
import { type TableRef, tableRef } from './sql.js';
import { acquireStream, releaseStream, type WalStream } from './stream.js';
import { forgetReceipts, readReceipts, tableName, writeBatch } from './write.js';

export interface PostgresOptions {
  /**
   * The connection's `change_detection` (the config's default is auto; a
   * connector opened without one captures by logical replication, as `cdc`).
   */
  changeDetection?: ChangeDetection;
  /** Between polls, when polling (default 2 s). */
  pollIntervalMs?: number;
  /** Between key scans of a polled table (default 10 × pollIntervalMs). */
  keyScanMs?: number;
}

export class PostgresConnector implements Connector {
  readonly system = 'postgres' as const;
  readonly description: string;
  private readonly reader: PgSession;
  private readonly writer: PgSession;
  /** The tail of the write queue. */
  private writing: Promise<unknown> = Promise.resolve();
  /** Table names as written → where they resolved (a dotted name may be a schema or part of the name). */
  private readonly refs = new Map<string, TableRef>();
  private captureNames: Promise<CaptureNames> | null = null;
  /** The slot's stream, shared with other connectors of this process on the same database. */
  private stream: WalStream | null = null;
  private readonly mode: ChangeDetection;
  private readonly pollIntervalMs: number;
  private readonly keyScanMs: number;
  private readonly polling: PollCapture;
  /** How each table's changes are found, decided once per table (capture-mode.ts). */
  private readonly choices = new Map<string, Promise<CaptureChoice>>();
  private readonly forgotten = new ForgottenReceipts<TableRef>();

  private constructor(
    private readonly url: string,
    options: PostgresOptions,
  ) {
    this.mode = options.changeDetection ?? 'cdc';
    this.pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.keyScanMs = options.keyScanMs ?? 10 * this.pollIntervalMs;
    this.description = redactUrl(url);
    this.reader = new PgSession(url, this.description);
    // The writing session is tagged, so capture skips what tandem itself wrote (origin.ts).
    // Polling cannot tell origins apart: a polled connection takes none.
    this.writer = new PgSession(url, this.description, async (client) => {
      if (this.mode !== 'poll') await tagSession(client);
    });
    this.polling = new PollCapture(this.reader, (work) => this.serially(() => work(this.writer)), {
      pollIntervalMs: this.pollIntervalMs,
      keyScanMs: this.keyScanMs,
    });
  }

  /** `postgres://user:password@host:port/database` (or postgresql://); connects on first use. */
  static open(url: string, options: PostgresOptions = {}): PostgresConnector {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new TandemError(
        'URL_UNSUPPORTED',
        `Not a PostgreSQL URL: ${url.split(':')[0]}:…`,
        'Use postgres://user:password@host:5432/database',
      );
    }
    return new PostgresConnector(url, options);
  }

  async close(): Promise<void> {
    for (const { name, table, tokens } of this.forgotten.all()) {
      await this.serially(() => forgetReceipts(this.writer, table, tokens))
        .then(() => this.forgotten.deleted(name, tokens))
        // Left behind, they are never read again (forgotten-receipts.ts); the close goes on.
        .catch(() => {});
    }
    await this.writing;
    const stream = this.stream;
    this.stream = null;
    if (stream) await releaseStream(stream);
    await Promise.all([this.reader.close(), this.writer.close()]);
  }

  private async walStream(): Promise<WalStream> {
    this.stream ??= acquireStream(this.url, this.description, await this.names());
    return this.stream;
  }

  /** Runs `change` after every change called before it. */
  private serially<T>(change: () => Promise<T>): Promise<T> {
    const run = this.writing.then(change);
    this.writing = run.catch(() => {});
    return run;
  }

  private async table(table: string): Promise<TableRef> {
    const known = this.refs.get(table);
    if (known) return known;
    let ref = tableRef(table);
    // `a.b` with no schema `a`: a table whose name has a dot in it.
    if (ref.schema !== null && (await relationOid(this.reader, ref)) === null) {
      const whole = { schema: null, name: table, sql: `"${table.replace(/"/g, '""')}"` };
      if ((await relationOid(this.reader, whole)) !== null) ref = whole;
    }
    this.refs.set(table, ref);
    return ref;
  }

  async introspect(table: string): Promise<TableInfo | null> {
    return introspectTable(this.reader, await this.table(table), table);
  }

  // ------------------------------------------------------------ reads

  async readByKeys(spec: TableSpec, keys: string[]): Promise<SourceRecord[]> {
    return readWhere(this.reader, await this.table(spec.table), spec, spec.key, keys);
  }

  async readByColumn(spec: TableSpec, column: string, values: string[]): Promise<SourceRecord[]> {
    return readWhere(this.reader, await this.table(spec.table), spec, column, values);
  }

  async scan(spec: TableSpec, afterKey: string | null, limit: number): Promise<SourceRecord[]> {
    return scanPage(this.reader, await this.table(spec.table), spec, afterKey, limit);
  }

  async count(spec: TableSpec): Promise<number> {
    return countRows(this.reader, await this.table(spec.table), spec);
  }

  // ------------------------------------------------------------ writes

  async write(
    spec: TableSpec,
    ops: WriteOp[],
    receipt?: string,
    options?: WriteOptions,
  ): Promise<WriteResult[]> {
    const t = await this.table(spec.table);
    // Only a polled table needs its own writes told to the kept keys; capture's own errors are the pass's.
    const feed = await this.feed(spec).catch(() => null);
    return this.serially(async () => {
      const results = await this.forgotten.writing(tableName(t), receipt, (forget) =>
        writeBatch(this.writer, t, spec, ops, { ...options, receipt, forget }),
      );
      if (feed) {
        const { inserted, deleted } = landedKeys(ops, results);
        await keepOwnWrites(this.writer, feed, inserted, deleted);
      }
      return results;
    });
  }

  async readReceipts(spec: TableSpec, tokens: string[]): Promise<Map<string, WriteReceipt>> {
    const t = await this.table(spec.table);
    const found = await readReceipts(this.reader, t, tokens);
    for (const token of found.keys()) if (this.forgotten.has(tableName(t), token)) found.delete(token);
    return found;
  }

  /** Deleted with the table's next receipt, or when the connector closes (forgotten-receipts.ts). */
  async forgetReceipts(spec: TableSpec, tokens: string[]): Promise<void> {
    const t = await this.table(spec.table);
    this.forgotten.add(tableName(t), t, tokens);
  }

  // ------------------------------------------------------------ capture (capture.ts)

  private names(): Promise<CaptureNames> {
    this.captureNames ??= captureNames(this.reader);
    return this.captureNames;
  }

  /** cdc, poll or scan for this table: decided once (auto asks the server what it allows). */
  private choice(spec: TableSpec): Promise<CaptureChoice> {
    const id = `${spec.table}|${spec.key}|${spec.updatedAt ?? ''}`;
    let c = this.choices.get(id);
    if (!c) {
      c = (async () => {
        const t = await this.table(spec.table);
        return chooseCapture(this.reader, spec, this.mode, async () =>
          setup.preflight(this.reader, t, await this.names()),
        );
      })();
      // A failure (a server down) is asked again next time.
      c.catch(() => this.choices.delete(id));
      this.choices.set(id, c);
    }
    return c;
  }

  /** The poll feed of a table that is polled, else null. */
  private async feed(spec: TableSpec): Promise<Feed | null> {
    const c = await this.choice(spec);
    if (c.method === 'cdc') return null;
    return feedOf(this.reader, await this.table(spec.table), spec, c.method);
  }

  async claimCapture(spec: TableSpec, claim: CaptureClaim): Promise<void> {
    const t = await this.table(spec.table);
    await this.serially(() => claimCapture(this.writer, t, claim, this.description));
  }

  async checkClaim(spec: TableSpec, claim: CaptureClaim): Promise<void> {
    await checkClaim(this.reader, await this.table(spec.table), claim, this.description);
  }

  async installCapture(spec: TableSpec): Promise<void> {
    const t = await this.table(spec.table);
    const feed = await this.feed(spec);
    if (feed) {
      await this.serially(() => installFeed(this.writer, feed));
      return;
    }
    const names = await this.names();
    await this.serially(() => setup.installCapture(this.writer, t, names));
  }

  /**
   * Also checks that capture can be set up (validate calls this): CAPTURE_UNAVAILABLE with the fix if not.
   * `detail` says which way changes are found and, when not by logical replication, why.
   */
  async captureStatus(spec: TableSpec): Promise<CaptureStatus> {
    const choice = await this.choice(spec);
    const t = await this.table(spec.table);
    if (choice.method !== 'cdc') {
      const feed = await feedOf(this.reader, t, spec, choice.method);
      return {
        installed: await feedInstalled(this.reader, feed),
        method: choice.method,
        detail: pollDetail(choice, spec, { pollIntervalMs: this.pollIntervalMs, keyScanMs: this.keyScanMs }),
      };
    }
    const names = await this.names();
    const own = await setup.preflight(this.reader, t, names);
    const installed = await setup.captureInstalled(this.reader, t, names);
    return {
      installed,
      method: 'cdc',
      detail: `logical replication (slot ${names.slot}, publication ${names.publication}); ${own}`,
    };
  }

  async currentPosition(spec: TableSpec): Promise<string> {
    const feed = await this.feed(spec);
    if (feed) return this.polling.currentPosition(feed);
    return slot.currentPosition(this.reader);
  }

  async startCapture(spec: TableSpec): Promise<void> {
    if (await this.feed(spec)) return;
    await capture.startStream(this.reader, await this.walStream(), await this.table(spec.table), spec);
  }

  async readChanges(spec: TableSpec, after: string, limit: number): Promise<ChangeBatch> {
    const feed = await this.feed(spec);
    if (feed) return this.polling.readChanges(feed, after, limit);
    // A position from polling: the table was polled until now, and where that left off
    // means nothing in the log. Compare in full (as after a TRUNCATE).
    if (isPollPosition(after)) return { changes: [], position: after, truncatedAt: after };
    const t = await this.table(spec.table);
    return capture.readChanges(this.reader, await this.walStream(), t, spec, after, limit);
  }

  async captureLag(): Promise<CaptureLag | null> {
    // Null when there is no slot (a connection whose tables are all polled).
    return slot.slotLag(this.reader, await this.names());
  }

  changeMark(): number {
    return this.stream?.mark() ?? 0;
  }

  changedSince(mark: number): Promise<void> {
    // No stream yet: nothing to wait for here (the interval still runs the next pass).
    return this.stream ? this.stream.changedSince(mark) : new Promise(() => {});
  }

  async latestChanges(
    spec: TableSpec,
    after: string,
    keys: string[],
  ): Promise<Map<string, { at: string; op: ChangeEvent['op'] }>> {
    const feed = await this.feed(spec);
    if (feed) return this.polling.latestChanges(feed, after, keys);
    const out = new Map<string, { at: string; op: ChangeEvent['op'] }>();
    if (keys.length === 0 || isPollPosition(after)) return out;
    const wanted = new Set(keys);
    // The log from `after` on, in pages; the last change of each key wins.
    let pos = after;
    for (;;) {
      const batch = await this.readChanges(spec, pos, 10_000);
      for (const c of batch.changes) if (wanted.has(c.key)) out.set(c.key, { at: c.at, op: c.op });
      if (batch.changes.length === 0 || batch.position === pos) return out;
      pos = batch.position;
    }
  }

  async pruneChanges(spec: TableSpec, upTo: string): Promise<void> {
    const feed = await this.feed(spec);
    if (feed) return this.polling.prune(feed, upTo);
    if (isPollPosition(upTo)) return;
    const t = await this.table(spec.table);
    const target = await this.serially(() => slot.saveAcked(this.writer, t, upTo));
    this.stream?.trim(slot.key(await slot.qualified(this.reader, t)), upTo);
    await this.moveSlot(target);
  }

  /** Lets the slot free the log before `target`: through the stream when this process streams it. */
  private async moveSlot(target: Lsn | null): Promise<void> {
    if (target === null) return;
    if (this.stream?.running) this.stream.ack(target);
    else await slot.advanceSlot(this.reader, await this.names(), target);
  }

  async removeCapture(spec: TableSpec): Promise<void> {
    const t = await this.table(spec.table);
    const names = await this.names();
    this.stream?.unwatch(slot.key(await slot.qualified(this.reader, t)));
    const target = await this.serially(async () => {
      // Whichever way the table was captured, now or before.
      await removeFeeds(this.writer, t);
      const moved = await setup.removeCapture(this.writer, t, names);
      await forgetAllReceipts(this.writer, t);
      this.forgotten.deleted(tableName(t));
      await releaseClaim(this.writer, t);
      return moved;
    });
    await this.moveSlot(target);
  }

  async teardown(): Promise<void> {
    const names = await this.names();
    // A slot in use cannot be dropped.
    await this.stream?.stop();
    await this.serially(async () => {
      await setup.teardown(this.writer, names);
      await dropClaimsIfEmpty(this.writer);
    });
  }
}

async function forgetAllReceipts(s: PgSession, t: TableRef): Promise<void> {
  const exists = await s.rows("SELECT to_regclass('_tandem.receipts') IS NOT NULL");
  if (exists[0]?.[0] !== 't') return;
  await s.run('DELETE FROM _tandem.receipts WHERE table_name = $1', [
    t.schema === null ? t.name : `${t.schema}.${t.name}`,
  ]);
}
