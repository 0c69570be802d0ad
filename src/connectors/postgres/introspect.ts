/**
 * What a PostgreSQL table looks like to tandem: columns with their kinds, the
 * primary key and the unique indexes, from the system catalogs. Tables,
 * partitioned tables, views and foreign tables are all readable relations.
 */
import type { ColumnInfo, TableInfo, UniqueIndexInfo } from '../../core/types.js';
import type { PgSession } from './session.js';
import type { TableRef } from './sql.js';
import { pgKind } from './types.js';

/** The relation's oid, or null when there is none by that name. */
export async function relationOid(s: PgSession, t: TableRef): Promise<string | null> {
  const rows = await s.rows(
    `SELECT c.oid::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND n.nspname = coalesce($1, current_schema())`,
    [t.schema, t.name],
  );
  return rows[0]?.[0] ?? null;
}

/** `null` when the table does not exist; `name` is the table as the caller wrote it. */
export async function introspectTable(s: PgSession, t: TableRef, name: string): Promise<TableInfo | null> {
  const oid = await relationOid(s, t);
  if (oid === null) return null;
  // A domain is judged by its base type.
  const cols = await s.rows(
    `SELECT a.attname, format_type(a.atttypid, a.atttypmod), bt.typname, bt.typcategory, (NOT a.attnotnull)::text
     FROM pg_attribute a
     JOIN pg_type ty ON ty.oid = a.atttypid
     JOIN pg_type bt ON bt.oid = CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END
     WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
    [oid],
  );
  const columns: ColumnInfo[] = cols.map(([column, type, base, category, nullable]) => ({
    name: column!,
    kind: pgKind({ name: base!, category: category! }),
    nativeType: type!,
    nullable: nullable === 'true',
  }));
  const pk = await s.rows(
    `SELECT a.attname FROM pg_index i
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = $1::oid AND i.indisprimary
     ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [oid],
  );
  return { name, columns, primaryKey: pk.map((r) => r[0]!), uniqueIndexes: await uniqueIndexes(s, oid) };
}

/**
 * Unique indexes on plain columns, without a predicate (PRIMARY KEY and
 * UNIQUE constraints included). One compares case-insensitively when a column
 * is citext or its collation is nondeterministic.
 */
async function uniqueIndexes(s: PgSession, oid: string): Promise<UniqueIndexInfo[]> {
  const rows = await s.rows(
    `SELECT ic.relname, a.attname,
            (bt.typname = 'citext' OR coalesce(NOT coll.collisdeterministic, false))::text
     FROM pg_index i
     JOIN pg_class ic ON ic.oid = i.indexrelid
     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     JOIN pg_type ty ON ty.oid = a.atttypid
     JOIN pg_type bt ON bt.oid = CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END
     LEFT JOIN pg_collation coll ON coll.oid = (i.indcollation::oid[])[k.ord - 1]
     WHERE i.indrelid = $1::oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
       AND k.ord <= i.indnkeyatts
     ORDER BY ic.relname, k.ord`,
    [oid],
  );
  const byName = new Map<string, UniqueIndexInfo>();
  for (const [index, column, ci] of rows) {
    let ix = byName.get(index!);
    if (!ix) {
      ix = { name: index!, columns: [], caseInsensitive: false };
      byName.set(index!, ix);
    }
    ix.columns.push(column!);
    if (ci === 'true') ix.caseInsensitive = true;
  }
  return [...byName.values()];
}
