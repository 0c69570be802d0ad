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
}

export type WriteOp =
  /** Insert; the result carries the new record's key. `token` is stored in the same transaction
   *  (see `lookupCreated`) so a crash between this insert and the engine's bookkeeping cannot
   *  lead to a second insert. */
  | { op: 'insert'; ref: number; values: Row; token?: string }
  | { op: 'update'; ref: number; key: string; values: Row }
  | { op: 'delete'; ref: number; key: string };

export type WriteResult =
  | { ref: number; ok: true; key: string }
  | { ref: number; ok: false; message: string };

export interface ChangeBatch {
  changes: ChangeEvent[];
  /** The position after the last change returned (equal to `after` when there were none). */
  position: string;
}

export interface CaptureStatus {
  installed: boolean;
  method: 'triggers' | 'cdc' | 'poll' | 'scan';
  detail: string;
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
   */
  write(spec: TableSpec, ops: WriteOp[]): Promise<WriteResult[]>;
  /** Keys of records inserted with these tokens (survives a crash of the engine). */
  lookupCreated(spec: TableSpec, tokens: string[]): Promise<Map<string, string>>;
  forgetCreated(spec: TableSpec, tokens: string[]): Promise<void>;

  /** Installs change capture for the table (idempotent). */
  installCapture(spec: TableSpec): Promise<void>;
  captureStatus(spec: TableSpec): Promise<CaptureStatus>;
  /** The position now: changes after it are not yet made. */
  currentPosition(spec: TableSpec): Promise<string>;
  /** Changes after `after` (exclusive), at most `limit`, in log order. */
  readChanges(spec: TableSpec, after: string, limit: number): Promise<ChangeBatch>;
  /** Capture data up to and including `upTo` is no longer needed by this consumer. */
  pruneChanges(spec: TableSpec, upTo: string): Promise<void>;
  /** Removes everything tandem installed for this table (triggers, change rows, created tokens). */
  removeCapture(spec: TableSpec): Promise<void>;
  /** Removes connection-wide objects once no table uses them (change table, flag table). */
  teardown(): Promise<void>;
}
