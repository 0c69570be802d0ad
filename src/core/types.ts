/**
 * The vocabulary shared by every layer. Pure data: no I/O, no clocks.
 */

export const SIDES = ['left', 'right'] as const;
export type Side = (typeof SIDES)[number];
export const otherSide = (side: Side): Side => (side === 'left' ? 'right' : 'left');

/**
 * The one form values are compared in. Numbers never travel as JS numbers:
 * integers and decimals are exact decimal strings, instants are ISO-8601 UTC
 * strings, JSON is its canonical (sorted-key) text, bytes are `\x`-prefixed hex.
 */
export type Canonical = null | boolean | string;

export const COLUMN_KINDS = [
  'text',
  'integer',
  'decimal',
  'float',
  'boolean',
  'date',
  'timestamp',
  'time',
  'json',
  'bytes',
] as const;
export type ColumnKind = (typeof COLUMN_KINDS)[number];

export interface ColumnInfo {
  name: string;
  kind: ColumnKind;
  /** The type as the database declares it, for messages. */
  nativeType: string;
  nullable: boolean;
}

export interface UniqueIndexInfo {
  name: string;
  columns: string[];
  /** True when the index would call `a` and `A` equal (NOCASE, a *_ci collation, citext). */
  caseInsensitive: boolean;
}

export interface TableInfo {
  /** As the user wrote it in the config. */
  name: string;
  columns: ColumnInfo[];
  primaryKey: string[];
  uniqueIndexes: UniqueIndexInfo[];
}

/** A record's values by column name, canonical. */
export type Row = Record<string, Canonical>;

/** One record as read from a side. */
export interface SourceRecord {
  /** The native key, canonical form. */
  key: string;
  values: Row;
  /** Whether the record matches the side's `filter` (always true without one). */
  inScope: boolean;
}

/** One change reported by capture: only *which* record changed, never what. */
export interface ChangeEvent {
  key: string;
  op: 'insert' | 'update' | 'delete';
  /** ISO-8601 UTC time of the change as the capture saw it. */
  at: string;
  /** Opaque position; positions of one side sort in log order as strings. */
  position: string;
}
