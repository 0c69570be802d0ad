/**
 * PostgreSQL column type → Tandem column kind, from the catalog (`pg_type`),
 * not from the type's printed name: a domain is judged by its base type, an
 * enum is text, and any array is kept as its own literal text (`{1,2}`),
 * which PostgreSQL reads back as the same array.
 */
import type { ColumnKind } from '../../core/types.js';

/** What the catalog says of a column's type (after resolving domains to their base type). */
export interface PgTypeFacts {
  /** `pg_type.typname` of the base type: int8, numeric, timestamptz, _int4, … */
  name: string;
  /** `pg_type.typcategory`: A (array), E (enum), … */
  category: string;
}

const BY_NAME: Record<string, ColumnKind> = {
  int2: 'integer',
  int4: 'integer',
  int8: 'integer',
  numeric: 'decimal',
  float4: 'float',
  float8: 'float',
  bool: 'boolean',
  date: 'date',
  timestamp: 'timestamp',
  timestamptz: 'timestamp',
  // A time with a zone has no canonical form of its own: kept as text, exactly.
  time: 'time',
  json: 'json',
  jsonb: 'json',
  bytea: 'bytes',
};

export function pgKind(t: PgTypeFacts): ColumnKind {
  if (t.category === 'A') return 'text';
  return BY_NAME[t.name] ?? 'text';
}
