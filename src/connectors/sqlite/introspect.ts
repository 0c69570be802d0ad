/**
 * What a SQLite table looks like to tandem: columns with their kinds, the
 * primary key and the unique indexes, from SQLite's table-valued pragmas.
 */
import type { TableInfo, UniqueIndexInfo } from '../../core/types.js';
import type { TableRef } from './sql.js';
import type { Statements } from './statements.js';
import { sqliteKind } from './types.js';

/** `null` when the table does not exist; `name` is the table as the caller wrote it. */
export function introspectTable(q: Statements, t: TableRef, name: string): TableInfo | null {
  const rows = q.all(
    'SELECT name, type, "notnull", pk FROM pragma_table_info(?, ?) ORDER BY cid',
    t.name,
    t.schema,
  );
  if (rows.length === 0) return null;
  const columns = rows.map(([column, type, notnull, pk]) => ({
    name: String(column),
    kind: sqliteKind(String(type ?? '')),
    nativeType: String(type ?? ''),
    // An INTEGER PRIMARY KEY (the rowid) can never be NULL even without NOT NULL.
    nullable: notnull === 0n && pk === 0n,
  }));
  const primaryKey = rows
    .filter((r) => (r[3] as bigint) > 0n)
    .sort((a, b) => Number((a[3] as bigint) - (b[3] as bigint)))
    .map((r) => String(r[0]));
  return { name, columns, primaryKey, uniqueIndexes: uniqueIndexes(q, t) };
}

/**
 * Unique, non-partial indexes on plain columns (PRIMARY KEY and UNIQUE
 * constraints included; their automatic indexes are listed too). An index
 * compares case-insensitively when its column uses NOCASE, which SQLite
 * reports per index column whether it comes from the index or the column.
 */
function uniqueIndexes(q: Statements, t: TableRef): UniqueIndexInfo[] {
  const out: UniqueIndexInfo[] = [];
  const indexes = q.all(
    'SELECT name FROM pragma_index_list(?, ?) WHERE "unique" = 1 AND partial = 0 ORDER BY name',
    t.name,
    t.schema,
  );
  for (const [indexName] of indexes) {
    const parts = q.all(
      'SELECT cid, name, coll FROM pragma_index_xinfo(?, ?) WHERE key = 1 ORDER BY seqno',
      String(indexName),
      t.schema,
    );
    // Expression indexes (cid -2) do not make a column unique.
    if (parts.length === 0 || parts.some(([cid]) => (cid as bigint) < 0n)) continue;
    out.push({
      name: String(indexName),
      columns: parts.map((p) => String(p[1])),
      caseInsensitive: parts.some((p) => String(p[2]).toUpperCase() === 'NOCASE'),
    });
  }
  return out;
}
