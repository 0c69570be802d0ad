/**
 * Keys of the advisory locks the PostgreSQL state store takes, always for
 * the length of one transaction (`pg_advisory_xact_lock`): one per schema
 * while it is made or migrated, one per sync of a schema while a batch's
 * commit is written, so two processes' commits of the same sync run one
 * after the other, as SQLite's writers do, instead of deadlocking on links.
 * A clash of two keys' hashes only makes them wait for each other.
 */

/** Class key of every tandem state lock: "tand". */
const CLASS = 0x74616e64;

/** [class, key] for pg_advisory_xact_lock(int4, int4). */
export function lockKeys(schema: string, sync?: string): [number, number] {
  return [CLASS, fnv1a(sync === undefined ? schema : `${schema}\u0000${sync}`)];
}

/** 32-bit FNV-1a of the UTF-16 units, as a signed int4. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
