/**
 * The one interface every connector implements. The engine speaks only this;
 * each system's differences stay inside its folder (connectors/<system>/).
 * Every method is async so network connectors fit the same shape as SQLite.
 */
import type { ChangeEvent, ColumnKind, Row, SourceRecord, TableInfo } from '../core/types.js';

/** What the engine asks of one side's table. Column names are the database's own. */
export interface TableSpec {
  /** As written in the config: `customers` or `public.customers`. */
  table: string;
  /** The native key column (one column). */
  key: string;
  /** Columns to read, key and external-ID included. */
  columns: string[];
  /** Kind of each column in `columns`, from introspection. */
  kinds: Record<string, ColumnKind>;
  /** A SQL boolean expression over the table's columns; records failing it are out of scope. */
  filter?: string;
  /**
   * The side's `updated_at` column (one of `columns`), when it has one: connectors
   * that poll for changes poll on it.
   */
  updatedAt?: string;
}

/** Who captures a table's changes: one tandem state, and the sync in it. */
export interface CaptureClaim {
  /** The state store's id (StateStore.instanceId). */
  owner: string;
  /** Where that state is kept (its description), for the message another state gets. */
  state: string;
  sync: string;
}

export type WriteOp =
  /** Insert; the result carries the new record's key. */
  | { op: 'insert'; ref: number; values: Row }
  | { op: 'update'; ref: number; key: string; values: Row }
  | { op: 'delete'; ref: number; key: string };

export type WriteResult =
  | { ref: number; ok: true; key: string }
  | { ref: number; ok: false; message: string };

/**
 * What a committed `write` left behind under its receipt token: which ops landed
 * and the keys inserts got. Stored in the same transaction as the rows, so it
 * exists exactly when they do.
 */
export interface WriteOptions {
  /**
   * Awaited after the rows are written and before they commit; when it fails,
   * nothing commits and write() fails with its error. The engine saves the
   * batch's intent meanwhile: it must be durable before the rows are, not
   * before they are written.
   */
  beforeCommit?: () => Promise<void>;
  /**
   * Called once the rows are on their way to a server that works on them
   * apart from this thread (PostgreSQL, MySQL: after the transaction began,
   * as the first statement is sent). A first sync then decides its next
   * batch while the server inserts these. A connector whose writes run in
   * this thread (SQLite) never calls it: there is nothing to overlap with.
   */
  onSent?: () => void;
}

export interface WriteReceipt {
  ok: number[];
  keys: Record<number, string>;
}

export interface ChangeBatch {
  changes: ChangeEvent[];
  /** The position after the last change returned (equal to `after` when there were none). */
  position: string;
  /**
   * The log holds a TRUNCATE at this position, right after `changes`: every
   * record went, and the log does not say which. The engine compares the
   * table in full instead of reading on.
   */
  truncatedAt?: string;
}

export interface CaptureStatus {
  installed: boolean;
  method: 'triggers' | 'cdc' | 'poll' | 'scan';
  detail: string;
}

/** How far behind the database's log capture is (for `status`), where capture holds a place in it. */
export interface CaptureLag {
  /** What holds the place (a replication slot's name). */
  holder: string;
  /** Log written since the last position tandem confirmed, which the server keeps for tandem. */
  behindBytes: number;
  /** A tandem is reading from it now. */
  active: boolean;
}

export interface Connector {
  readonly system: 'sqlite' | 'postgres' | 'mysql';
  /** Human description of where this connects, never containing secrets. */
  readonly description: string;

  close(): Promise<void>;

  /** `null` when the table does not exist. */
  introspect(table: string): Promise<TableInfo | null>;

  /** Records with these keys (absent keys are simply missing from the result), scope flag set. */
  readByKeys(spec: TableSpec, keys: string[]): Promise<SourceRecord[]>;
  /** Records whose `column` holds one of `values` (canonical text compared exactly), scope flag set. */
  readByColumn(spec: TableSpec, column: string, values: string[]): Promise<SourceRecord[]>;
  /** One keyset page of in-scope records ordered by key, after `afterKey` (exclusive). */
  scan(spec: TableSpec, afterKey: string | null, limit: number): Promise<SourceRecord[]>;
  /** Number of in-scope records (for progress and the delete guard). */
  count(spec: TableSpec): Promise<number>;

  /**
   * Applies the ops in one transaction, isolating each row: a row the database
   * refuses gets `ok: false` with the database's own message; the others land.
   * The engine's own writes are not reported by this connector's capture.
   * With `receipt`, a WriteReceipt is stored under that token in the same transaction.
   */
  write(spec: TableSpec, ops: WriteOp[], receipt?: string, options?: WriteOptions): Promise<WriteResult[]>;
  /** Receipts of writes that committed (a token with no receipt: its write never landed). */
  readReceipts(spec: TableSpec, tokens: string[]): Promise<Map<string, WriteReceipt>>;
  forgetReceipts(spec: TableSpec, tokens: string[]): Promise<void>;

  /**
   * Claims the table's capture for one tandem state, before capture is
   * installed or read (idempotent for the same owner). Capture data is let go
   * of once its consumer has saved it (pruned, acknowledged), so a second
   * state reading the same table would lose what the first let go of: a claim
   * by another owner fails with CAPTURE_CLAIMED, naming it. `removeCapture`
   * lifts the claim.
   */
  claimCapture(spec: TableSpec, claim: CaptureClaim): Promise<void>;
  /** What claimCapture would refuse, without claiming or making anything (`validate`). */
  checkClaim(spec: TableSpec, claim: CaptureClaim): Promise<void>;
  /** Installs change capture for the table (idempotent). */
  installCapture(spec: TableSpec): Promise<void>;
  captureStatus(spec: TableSpec): Promise<CaptureStatus>;
  /**
   * Begins reading the database's log in the background (a replication
   * stream), so that a capture pass after a long full pass finds it read.
   * Connectors whose capture costs nothing to wait for omit it.
   */
  startCapture?(spec: TableSpec): Promise<void>;
  /** The position now: changes after it are not yet made. */
  currentPosition(spec: TableSpec): Promise<string>;
  /** Changes after `after` (exclusive), at most `limit`, in log order. */
  readChanges(spec: TableSpec, after: string, limit: number): Promise<ChangeBatch>;
  /**
   * The last change after `after` of each of these keys (any further on in the log than
   * the batch in hand), so newest-wins compares true change times across batch edges.
   */
  latestChanges(
    spec: TableSpec,
    after: string,
    keys: string[],
  ): Promise<Map<string, { at: string; op: ChangeEvent['op'] }>>;
  /**
   * For capture that is told of changes as they commit (a replication stream):
   * a mark now, and a promise that resolves once changes arrived after it, so
   * a running tandem starts its next pass then instead of at the next interval.
   * Connectors that must be looked at omit these.
   */
  changeMark?(): number;
  changedSince?(mark: number): Promise<void>;
  /** Null when capture holds no place in the database's log (SQLite's change table is counted in `status` otherwise). */
  captureLag?(): Promise<CaptureLag | null>;
  /** Capture data up to and including `upTo` is no longer needed by this consumer. */
  pruneChanges(spec: TableSpec, upTo: string): Promise<void>;
  /** Removes everything tandem installed for this table (triggers, change rows, receipts). */
  removeCapture(spec: TableSpec): Promise<void>;
  /** Removes connection-wide objects once no table uses them (change table, flag table). */
  teardown(): Promise<void>;
}
