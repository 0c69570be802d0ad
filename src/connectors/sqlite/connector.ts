/**
 * SQLite connector (better-sqlite3): opens the database and wires the parts
 * together. Reads are in `read.ts`, writes in `write.ts` (one row at a time in
 * `row-writer.ts`), change capture in `capture.ts`; values go through
 * `convert.ts` both ways.
 *
 * better-sqlite3 is synchronous, so every method runs to completion inside one
 * call: two calls on one connector never interleave, and a `write` is one
 * uninterrupted transaction.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { TandemError } from '../../core/errors.js';
import type { ChangeEvent, SourceRecord, TableInfo } from '../../core/types.js';
import { CheckpointerOnDemand } from '../../sqlite/checkpointer.js';
import type {
  CaptureClaim,
  CaptureStatus,
  ChangeBatch,
  Connector,
  TableSpec,
  WriteOp,
  WriteOptions,
  WriteReceipt,
  WriteResult,
} from '../connector.js';
import * as capture from './capture.js';
import { checkClaim, claimCapture } from './claims.js';
import { introspectTable } from './introspect.js';
import { countRows, readWhere, scanPage } from './read.js';
import { Statements } from './statements.js';
import { forgetReceipts, readReceipts, writeBatch } from './write.js';

export interface SqliteOpenOptions {
  /** Create the database file (and its directory) when missing. Only the demo wants this. */
  create?: boolean;
}

export class SqliteConnector implements Connector {
  readonly system = 'sqlite' as const;
  readonly description: string;
  private readonly db: Database.Database;
  private readonly q: Statements;
  /**
   * For a file database that is written in bulk: the WAL is copied back from
   * another thread, not inside this thread's commits (see BackgroundCheckpointer).
   */
  private readonly checkpoints: CheckpointerOnDemand;

  private constructor(db: Database.Database, description: string) {
    this.db = db;
    this.q = new Statements(db);
    this.description = description;
    this.checkpoints = new CheckpointerOnDemand(db.memory ? null : db.name);
  }

  /**
   * `sqlite:/abs/path.db`, `sqlite:///abs/path.db`, `sqlite:relative.db` (to the
   * working directory; the config layer makes paths absolute) or `sqlite::memory:`.
   * A missing file is an error unless `create` is set: a typo in a path must
   * not quietly sync into a new empty database.
   */
  static open(url: string, options: SqliteOpenOptions = {}): SqliteConnector {
    if (!url.startsWith('sqlite:')) {
      throw new TandemError(
        'URL_UNSUPPORTED',
        `Not a SQLite URL: ${url.split(':')[0]}:…`,
        'Use sqlite:/absolute/path.db or sqlite::memory:',
      );
    }
    let location = url.slice('sqlite:'.length).replace(/\?.*$/, '');
    if (location.startsWith('//')) location = location.slice(2);
    if (location === '') {
      throw new TandemError(
        'CONNECT_FAILED',
        'The SQLite URL names no file',
        'Use sqlite:/absolute/path.db or sqlite::memory:',
      );
    }
    const memory = location === ':memory:';
    const file = memory ? ':memory:' : resolve(location);

    if (!memory && !options.create && !existsSync(file)) {
      throw new TandemError(
        'CONNECT_FAILED',
        `SQLite database ${file} does not exist`,
        'Check the path in the connection URL (relative paths are relative to the config file); ' +
          'tandem does not create a missing database.',
      );
    }
    try {
      if (!memory && options.create) mkdirSync(dirname(file), { recursive: true });
      const db = new Database(file, { fileMustExist: !memory && !options.create, timeout: 5000 });
      try {
        db.defaultSafeIntegers(true);
        // Readers never block the writer and vice versa; also touches the file,
        // so "not a database" surfaces here rather than on the first read.
        if (!memory) db.pragma('journal_mode = WAL');
        db.pragma('busy_timeout = 5000');
      } catch (err) {
        db.close();
        throw err;
      }
      return new SqliteConnector(db, memory ? 'sqlite::memory:' : `sqlite:${file}`);
    } catch (err) {
      throw new TandemError(
        'CONNECT_FAILED',
        `Cannot open SQLite database ${file}: ${(err as Error).message}`,
        'Check that the file is a SQLite database and that this user can read and write it ' +
          'and its directory (WAL mode writes a -wal file beside it).',
      );
    }
  }

  async close(): Promise<void> {
    await this.checkpoints.stop();
    this.q.clear();
    if (this.db.open) this.db.close();
  }

  async introspect(table: string): Promise<TableInfo | null> {
    return introspectTable(this.q, this.q.table(table), table);
  }

  // ------------------------------------------------------------ reads

  async readByKeys(spec: TableSpec, keys: string[]): Promise<SourceRecord[]> {
    return readWhere(this.q, this.q.table(spec.table), spec, spec.key, keys);
  }

  async readByColumn(spec: TableSpec, column: string, values: string[]): Promise<SourceRecord[]> {
    return readWhere(this.q, this.q.table(spec.table), spec, column, values);
  }

  async scan(spec: TableSpec, afterKey: string | null, limit: number): Promise<SourceRecord[]> {
    return scanPage(this.q, this.q.table(spec.table), spec, afterKey, limit);
  }

  async count(spec: TableSpec): Promise<number> {
    return countRows(this.q, this.q.table(spec.table), spec);
  }

  // ------------------------------------------------------------ writes

  async write(
    spec: TableSpec,
    ops: WriteOp[],
    receipt?: string,
    options?: WriteOptions,
  ): Promise<WriteResult[]> {
    this.checkpoints.wrote(ops.length);
    return writeBatch(this.q, spec, ops, receipt, options?.beforeCommit);
  }

  async readReceipts(spec: TableSpec, tokens: string[]): Promise<Map<string, WriteReceipt>> {
    return readReceipts(this.q, this.q.table(spec.table), tokens);
  }

  async forgetReceipts(spec: TableSpec, tokens: string[]): Promise<void> {
    forgetReceipts(this.q, this.q.table(spec.table), tokens);
  }

  // ------------------------------------------------------------ capture

  async claimCapture(spec: TableSpec, claim: CaptureClaim): Promise<void> {
    claimCapture(this.q, this.q.table(spec.table), claim, this.description);
  }

  async checkClaim(spec: TableSpec, claim: CaptureClaim): Promise<void> {
    checkClaim(this.q, this.q.table(spec.table), claim, this.description);
  }

  async installCapture(spec: TableSpec): Promise<void> {
    const t = this.q.table(spec.table);
    capture.installCapture(this.q, t, spec, introspectTable(this.q, t, spec.table));
  }

  async captureStatus(spec: TableSpec): Promise<CaptureStatus> {
    return capture.captureStatus(this.q, this.q.table(spec.table), spec);
  }

  async currentPosition(spec: TableSpec): Promise<string> {
    return capture.currentPosition(this.q, this.q.table(spec.table));
  }

  async readChanges(spec: TableSpec, after: string, limit: number): Promise<ChangeBatch> {
    return capture.readChanges(this.q, this.q.table(spec.table), spec, after, limit);
  }

  async latestChanges(
    spec: TableSpec,
    after: string,
    keys: string[],
  ): Promise<Map<string, { at: string; op: ChangeEvent['op'] }>> {
    return capture.latestChanges(this.q, this.q.table(spec.table), spec, after, keys);
  }

  async pruneChanges(spec: TableSpec, upTo: string): Promise<void> {
    capture.pruneChanges(this.q, this.q.table(spec.table), upTo);
  }

  async removeCapture(spec: TableSpec): Promise<void> {
    capture.removeCapture(this.q, this.q.table(spec.table));
  }

  async teardown(): Promise<void> {
    capture.teardown(this.q);
  }
}
