/**
 * MySQL / MariaDB connector (mysql2): opens the connections and wires the
 * parts together. Reads are in `read.ts`, writes in `write.ts`, the catalog in
 * `introspect.ts`; values go through `convert.ts` both ways. One connector
 * serves both servers; where they differ (INSERT … RETURNING, collations) the
 * parts ask `flavour()`.
 *
 * Two connections: one for writes, whose transaction stays open while the
 * engine saves the batch's intent, and one for everything else, so a read
 * made meanwhile never sees (nor joins) a write that has not committed.
 * Writes are queued and run one after another in call order. The writing
 * connection runs `OWN_WRITES_SQL` (own-writes.ts) once connected, so binlog
 * capture knows tandem's own writes and skips them.
 *
 * Change capture is the binlog (`MysqlCapture`, capture.ts) or, where the
 * binlog cannot be used, polling on `updated_at` (`MysqlPollCapture`,
 * poll.ts); capture-mode.ts picks one per table from the connection's
 * `change_detection`. Both are made when first needed, and get each table as
 * `{ schema, name }`. Binlog capture installs nothing in the server, so the
 * tables it captures are listed in `_tandem_capture` (capture-registry.ts).
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
import { preflight } from './binlog-setup.js';
import { MysqlCapture } from './capture.js';
import {
  dropRegistryIfEmpty,
  isRegistered,
  register,
  registeredServer,
  serverIdentity,
  unregister,
} from './capture-registry.js';
import { CaptureSql } from './capture-sql.js';
import { checkClaim, claimCapture, dropClaimsIfEmpty, releaseClaim } from './claims.js';
import { introspectTable } from './introspect.js';
import { OWN_WRITES_SQL, OWN_WRITES_UNSUPPORTED_ERRNOS } from './own-writes.js';
import { isPollPosition, MysqlPollCapture } from './poll.js';
import { countRows, readWhere, scanPage } from './read.js';
import { type Endpoint, MysqlSession, parseUrl } from './session.js';
import { type TableRef, tableRef } from './sql.js';
import { dropReceipts, forgetAllReceipts, forgetReceipts, readReceipts, writeBatch } from './write.js';

export type ChangeDetection = 'auto' | 'cdc' | 'poll';

export interface MysqlOptions {
  /**
   * The connection's `change_detection`: binlog capture is `cdc`; `auto` uses
   * it where the server allows, else polls (the config's default is auto; a
   * connector opened without one reads the binlog, as `cdc`).
   */
  changeDetection?: ChangeDetection;
  /** Between polls, when polling (default 2 s). */
  pollIntervalMs?: number;
  /** Between key scans of a polled table (default 10 × pollIntervalMs). */
  keyScanMs?: number;
}

/** A table as capture names it: `schema` is the database. */
type CaptureTable = { schema: string; name: string };

export class MysqlConnector implements Connector {
  readonly system = 'mysql' as const;
  readonly description: string;
  private readonly endpoint: Endpoint;
  private readonly reader: MysqlSession;
  private readonly writer: MysqlSession;
  /** The tail of the write queue. */
  private writing: Promise<unknown> = Promise.resolve();
  /** Table names as written → where they resolved. */
  private readonly refs = new Map<string, TableRef>();
  /** The connection's `change_detection`. */
  readonly changeDetection: ChangeDetection;
  private readonly options: MysqlOptions;
  /** Binlog capture (capture.ts), made on first use. */
  private capture: MysqlCapture | null = null;
  /** Polling (poll.ts), made on first use: it also decides, per table, which of the two captures it. */
  private polling: MysqlPollCapture | null = null;
  /** The connection the binlog preflight asks (the server's settings and the user's grants). */
  private preflightSql: CaptureSql | null = null;
  /** Tables whose capture this connector removed (until installed again): nothing more is read for them. */
  private readonly removed = new Set<string>();
  /** Tables whose saved binlog positions were checked to belong to this server (once per process). */
  private readonly sameServer = new Map<string, Promise<void>>();
  private readonly forgotten = new ForgottenReceipts<TableRef>();

  private constructor(
    private readonly url: string,
    options: MysqlOptions,
  ) {
    this.changeDetection = options.changeDetection ?? 'cdc';
    this.options = options;
    this.description = redactUrl(url);
    this.endpoint = parseUrl(url);
    this.reader = new MysqlSession(this.endpoint, this.description);
    // Tagged so capture skips what tandem itself wrote (own-writes.ts); a server that cannot
    // tag (MySQL) writes untagged, and the base fingerprints recognise the echoes.
    this.writer = new MysqlSession(this.endpoint, this.description, {
      sql: OWN_WRITES_SQL,
      tolerate: OWN_WRITES_UNSUPPORTED_ERRNOS,
    });
  }

  /** `mysql://user:password@host:3306/database` (or mariadb://…); connects on first use. */
  static open(url: string, options: MysqlOptions = {}): MysqlConnector {
    if (!/^(mysql|mariadb):\/\//.test(url)) {
      throw new TandemError(
        'URL_UNSUPPORTED',
        `Not a MySQL/MariaDB URL: ${url.split(':')[0]}:…`,
        'Use mysql://user:password@host:3306/database (or mariadb://…)',
      );
    }
    return new MysqlConnector(url, options);
  }

  async close(): Promise<void> {
    for (const { name, table, tokens } of this.forgotten.all()) {
      await this.serially(() => forgetReceipts(this.writer, table, tokens))
        .then(() => this.forgotten.deleted(name, tokens))
        // Left behind, they are never read again (forgotten-receipts.ts); the close goes on.
        .catch(() => {});
    }
    await this.writing;
    const { capture, polling, preflightSql } = this;
    this.capture = null;
    this.polling = null;
    this.preflightSql = null;
    await capture?.close();
    await polling?.close();
    await preflightSql?.close();
    await Promise.all([this.reader.close(), this.writer.close()]);
  }

  /** Runs `change` after every change called before it. */
  private serially<T>(change: () => Promise<T>): Promise<T> {
    const run = this.writing.then(change);
    this.writing = run.catch(() => {});
    return run;
  }

  /**
   * `table` in the URL's database, or `db.table`. A dotted name whose first
   * part is no database is a table with a dot in its name.
   */
  private async table(table: string): Promise<TableRef> {
    const known = this.refs.get(table);
    if (known) return known;
    const dot = table.indexOf('.');
    let ref: TableRef | null = null;
    if (dot > 0) {
      const db = table.slice(0, dot);
      const rows = await this.reader.rows(
        'SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
        [db],
      );
      if (rows.some((r) => r[0] === db)) ref = tableRef(db, table.slice(dot + 1));
    }
    if (!ref) {
      const db = this.endpoint.database;
      if (db === null) {
        throw new TandemError(
          'TABLE_MISSING',
          `Table ${table} names no database, and the connection URL names none`,
          'Write the table as database.table, or put the database in the URL: mysql://user@host:3306/database',
        );
      }
      ref = tableRef(db, table);
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
    const polled = await this.choice(spec)
      .then((c) => (c.method === 'cdc' ? null : this.pollingOf()))
      .catch(() => null);
    return this.serially(async () => {
      const results = await this.forgotten.writing(receiptName(t), receipt, (forget) =>
        writeBatch(this.writer, t, spec, ops, { ...options, receipt, forget }),
      );
      if (polled) {
        const { inserted, deleted } = landedKeys(ops, results);
        await polled.keepOwnWrites({ schema: t.database, name: t.name }, spec, inserted, deleted);
      }
      return results;
    });
  }

  async readReceipts(spec: TableSpec, tokens: string[]): Promise<Map<string, WriteReceipt>> {
    const t = await this.table(spec.table);
    const found = await readReceipts(this.reader, t, tokens);
    for (const token of found.keys()) if (this.forgotten.has(receiptName(t), token)) found.delete(token);
    return found;
  }

  /** Deleted in the table's next batch with a receipt, or when the connector closes (forgotten-receipts.ts). */
  async forgetReceipts(spec: TableSpec, tokens: string[]): Promise<void> {
    const t = await this.table(spec.table);
    this.forgotten.add(receiptName(t), t, tokens);
  }

  // ------------------------------------------------------------ capture (capture.ts, poll.ts)

  private captureOf(): MysqlCapture {
    this.capture ??= new MysqlCapture({ url: this.url, database: this.endpoint.database ?? '' });
    return this.capture;
  }

  private pollingOf(): MysqlPollCapture {
    this.polling ??= new MysqlPollCapture({
      url: this.url,
      database: this.endpoint.database ?? '',
      changeDetection: this.changeDetection,
      binlogPreflight: () => {
        this.preflightSql ??= new CaptureSql(this.url);
        return preflight(this.preflightSql);
      },
      ...(this.options.pollIntervalMs === undefined ? {} : { pollIntervalMs: this.options.pollIntervalMs }),
      ...(this.options.keyScanMs === undefined ? {} : { keyScanMs: this.options.keyScanMs }),
    });
    return this.polling;
  }

  /** How this table's changes are found (decided once per table, from change_detection). */
  private async choice(spec: TableSpec) {
    const t = await this.table(spec.table);
    return this.pollingOf().choose({ schema: t.database, name: t.name }, spec);
  }

  /** The capture this table uses, and the table as captures name it. */
  private async withCapture(
    spec: TableSpec,
  ): Promise<[MysqlCapture | MysqlPollCapture, CaptureTable, boolean]> {
    const t = await this.table(spec.table);
    const binlog = (await this.choice(spec)).method === 'cdc';
    return [binlog ? this.captureOf() : this.pollingOf(), { schema: t.database, name: t.name }, binlog];
  }

  async claimCapture(spec: TableSpec, claim: CaptureClaim): Promise<void> {
    const ref = await this.table(spec.table);
    await this.serially(() => claimCapture(this.writer, ref, claim, this.description));
  }

  async checkClaim(spec: TableSpec, claim: CaptureClaim): Promise<void> {
    await checkClaim(this.reader, await this.table(spec.table), claim, this.description);
  }

  async installCapture(spec: TableSpec): Promise<void> {
    const [c, t, binlog] = await this.withCapture(spec);
    await c.installCapture(t, spec);
    this.removed.delete(`${t.schema}.${t.name}`);
    if (binlog) {
      const ref = await this.table(spec.table);
      await this.serially(() => register(this.writer, ref));
    }
  }

  async captureStatus(spec: TableSpec): Promise<CaptureStatus> {
    const [c, t, binlog] = await this.withCapture(spec);
    const status = await c.captureStatus(t, spec);
    if (!binlog || !status.installed) return status;
    if (await isRegistered(this.reader, await this.table(spec.table))) return status;
    return {
      ...status,
      installed: false,
      detail: `not set up yet (the first run does it); ${status.detail}`,
    };
  }

  async startCapture(spec: TableSpec): Promise<void> {
    const [c, t] = await this.withCapture(spec);
    await c.startCapture(t, spec);
  }

  async currentPosition(spec: TableSpec): Promise<string> {
    const [c, t, binlog] = await this.withCapture(spec);
    if (binlog) {
      // A full comparison starts from here: positions from now on are this server's.
      const ref = await this.table(spec.table);
      await this.serially(() => register(this.writer, ref, true));
      this.sameServer.set(`${t.schema}.${t.name}`, Promise.resolve());
    }
    return c.currentPosition(t, spec);
  }

  async readChanges(spec: TableSpec, after: string, limit: number): Promise<ChangeBatch> {
    const [c, t, binlog] = await this.withCapture(spec);
    if (this.removed.has(`${t.schema}.${t.name}`)) return { changes: [], position: after };
    // Saved while the table was polled, and now it is read from the binlog (change_detection or the
    // server's settings changed): no log holds what happened in between, so both sides are compared in full.
    if (binlog && isPollPosition(after)) return { changes: [], position: after, truncatedAt: after };
    if (binlog) await this.checkSameServer(spec, t);
    return c.readChanges(t, spec, after, limit);
  }

  /**
   * The saved positions of a table read from the binlog name a file and an
   * offset of one server's binlog (capture-registry.ts): read from another
   * server's, they would skip or misread changes. Checked once per process.
   */
  private checkSameServer(spec: TableSpec, t: CaptureTable): Promise<void> {
    const id = `${t.schema}.${t.name}`;
    let check = this.sameServer.get(id);
    if (!check) {
      check = (async () => {
        const ref = await this.table(spec.table);
        const saved = await registeredServer(this.reader, ref);
        const now = await serverIdentity(this.reader);
        // Not registered (set up by an earlier version): nothing to compare with.
        if (saved === null || saved === '' || saved === now) return;
        throw new TandemError(
          'CAPTURE_UNAVAILABLE',
          `The binlog positions saved for ${spec.table} belong to another server (${saved}); this one is ${now} (a failover, or the URL now points elsewhere)`,
          "Run `tandem reconcile`: it compares both sides in full and reads this server's binlog from then on",
        );
      })();
      check.catch(() => this.sameServer.delete(id));
      this.sameServer.set(id, check);
    }
    return check;
  }

  async latestChanges(
    spec: TableSpec,
    after: string,
    keys: string[],
  ): Promise<Map<string, { at: string; op: ChangeEvent['op'] }>> {
    const [c, t, binlog] = await this.withCapture(spec);
    if (binlog && isPollPosition(after)) return new Map();
    return c.latestChanges(t, spec, after, keys);
  }

  changeMark(): number {
    return this.capture?.changeMark() ?? 0;
  }

  changedSince(mark: number): Promise<void> {
    // No binlog capture yet (or only polled tables): nothing tells of changes; the interval runs the next pass.
    return this.capture ? this.capture.changedSince(mark) : new Promise(() => {});
  }

  async captureLag(): Promise<CaptureLag | null> {
    return this.capture ? this.capture.captureLag() : null;
  }

  async pruneChanges(spec: TableSpec, upTo: string): Promise<void> {
    const [c, t, binlog] = await this.withCapture(spec);
    if (binlog && isPollPosition(upTo)) return;
    await c.pruneChanges(t, spec, upTo);
  }

  async removeCapture(spec: TableSpec): Promise<void> {
    const ref = await this.table(spec.table);
    const t = { schema: ref.database, name: ref.name };
    // Whichever way the table was captured before (the choice may have changed since).
    await this.captureOf().removeCapture(t, spec);
    await this.pollingOf().removeCapture(t, spec);
    this.removed.add(`${t.schema}.${t.name}`);
    await this.serially(async () => {
      await unregister(this.writer, ref);
      await forgetAllReceipts(this.writer, ref);
      this.forgotten.deleted(receiptName(ref));
      await releaseClaim(this.writer, ref);
    });
  }

  async teardown(): Promise<void> {
    await this.captureOf().teardown();
    await this.pollingOf().teardown();
    // What tandem keeps in every database this connector wrote to, and in the URL's.
    const dbs = new Map<string, TableRef>();
    for (const ref of this.refs.values()) dbs.set(ref.database, ref);
    const home = this.endpoint.database;
    if (home !== null && !dbs.has(home)) dbs.set(home, tableRef(home, ''));
    await this.serially(async () => {
      for (const ref of dbs.values()) {
        await dropRegistryIfEmpty(this.writer, ref.database);
        await dropReceipts(this.writer, ref);
        await dropClaimsIfEmpty(this.writer, ref.database);
      }
    });
  }
}

/** Which receipts a table's are: each database keeps its own tables' receipts. */
const receiptName = (t: TableRef) => `${t.database}.${t.name}`;
