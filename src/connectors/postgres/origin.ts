/**
 * Marks tandem's writing session with a replication origin, so capture can
 * tell tandem's own changes from everyone else's (pgoutput sends an Origin
 * message before such a transaction; capture.ts skips it).
 *
 * In PostgreSQL 15 an origin serves one session at a time, so the session
 * takes the first of `tandem_w_<database>`, `…_2`, `…_3`… that is free; the
 * names are reused across runs, so nothing piles up. Using origins takes
 * superuser or a grant of the pg_replication_origin_* functions; without, the
 * session writes untagged and its changes come back through capture, where
 * the base fingerprints recognise them and nothing is written twice.
 */
import type pg from 'pg';
import { OWN_ORIGIN_PREFIX } from './slot.js';

const MAX_SESSIONS = 32;

/** The origin name the session took, or null when the role may not use origins. */
export async function tagSession(client: pg.Client): Promise<string | null> {
  const db = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
  const base = `${OWN_ORIGIN_PREFIX}${db}`;
  for (let n = 1; n <= MAX_SESSIONS; n++) {
    const name = n === 1 ? base : `${base}_${n}`;
    try {
      await client.query(
        'SELECT pg_replication_origin_create($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)',
        [name],
      );
      await client.query('SELECT pg_replication_origin_session_setup($1)', [name]);
      return name;
    } catch (err) {
      const code = (err as { code?: string }).code;
      // In use by another session (55006), or made by another session just now (23505): the next.
      if (code === '55006' || code === '23505') continue;
      if (code === '42501') return null;
      throw err;
    }
  }
  return null;
}
