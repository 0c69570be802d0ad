/**
 * The state store in PostgreSQL (`state: postgres://…`): the same tables,
 * values and behaviour as the SQLite store, in a schema of their own
 * (`tandem_state`, or `?schema=NAME`), made on first open. A batch's commit
 * is one transaction; calls are served in the order they were made (see
 * postgres-session.ts), so the engine may queue a commit without waiting
 * for it, as it does with the SQLite store's thread.
 */
import type { Side } from '../core/types.js';
import { encodeIntentBody } from './intent-body.js';
import { writeCommit } from './postgres-commit.js';
import { lockKeys } from './postgres-lock.js';
import { migrate, rightsError } from './postgres-migrations.js';
import { PgStateSession } from './postgres-session.js';
import { parseStateUrl } from './postgres-url.js';
import { landedLinkRows } from './sqlite-encoding.js';
import {
  type HistoryRow,
  type IntentRow,
  type LinkRow,
  type QRow,
  type StatusRow,
  SYNC_TABLES,
  toHistory,
  toIntent,
  toLink,
  toQuarantine,
  toStatus,
} from './sqlite-rows.js';
import type {
  BatchCommit,
  Detached,
  HistoryEntry,
  Intent,
  Link,
  QuarantineEntry,
  StateStore,
  SyncStatus,
} from './store.js';

const keyColumn = (side: Side) => (side === 'left' ? 'left_key' : 'right_key');
const seenColumn = (side: Side) => (side === 'left' ? 'left_seen' : 'right_seen');

/** SyncStatus fields as sync_status columns, with how each is stored. */
const STATUS_COLUMNS: Record<Exclude<keyof SyncStatus, 'sync'>, [string, (v: unknown) => unknown]> = {
  state: ['state', (v) => v],
  reason: ['reason', (v) => v],
  lastPassAt: ['last_pass_at', (v) => v],
  lastPass: ['last_pass', (v) => (v ? JSON.stringify(v) : null)],
  guard: ['guard', (v) => (v ? JSON.stringify(v) : null)],
  deletesConfirmed: ['deletes_confirmed', (v) => v === true],
  fullScanDue: ['full_scan_due', (v) => v === true],
  lagMs: ['lag_ms', (v) => v],
};

export class PostgresStateStore implements StateStore {
  readonly description: string;
  /** The schema's name, ready to prefix a table (a plain name: see postgres-url.ts). */
  private readonly s: string;
  private readonly session: PgStateSession;
  /** Bodies of the last intents added, by token (a batch's commit reads its own back). */
  private readonly recentIntents = new Map<string, string>();

  private constructor(session: PgStateSession, schema: string, description: string) {
    this.session = session;
    this.s = schema;
    this.description = description;
  }

  /**
   * Connects, and makes or migrates the schema. Fails with CONNECT_FAILED
   * (the server, or a right to make the schema) or STATE_VERSION (a schema
   * written by a newer tandem).
   */
  static async open(url: string): Promise<PostgresStateStore> {
    const { connectionString, schema, description } = parseStateUrl(url);
    const session = new PgStateSession(connectionString, description);
    try {
      await session
        .transaction((q) => migrate(q, schema, description))
        .catch(async (err) => {
          throw await session.serial((q) => rightsError(q, err, schema, description));
        });
    } catch (err) {
      await session.close();
      throw err;
    }
    return new PostgresStateStore(session, schema, description);
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  private rows<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.session.serial((q) => q.rows<T>(sql, params));
  }

  private async one<T>(sql: string, params: unknown[]): Promise<T> {
    return (await this.rows<T>(sql, params))[0]!;
  }

  private async links(sql: string, params: unknown[]): Promise<Link[]> {
    return (await this.rows<LinkRow>(sql, params)).map(toLink);
  }

  async linksByKeys(sync: string, side: Side, keys: string[]): Promise<Link[]> {
    if (keys.length === 0) return [];
    return this.links(
      `SELECT * FROM ${this.s}.links WHERE sync = $1 AND ${keyColumn(side)} = ANY($2::text[])`,
      [sync, keys],
    );
  }

  async linkMarks(
    sync: string,
    side: Side,
    keys: string[],
  ): Promise<Map<string, { id: number; seen: number }>> {
    const out = new Map<string, { id: number; seen: number }>();
    if (keys.length === 0) return out;
    const col = keyColumn(side);
    const rows = await this.rows<{ id: number; k: string; seen: number }>(
      `SELECT id, ${col} AS k, ${seenColumn(side)} AS seen FROM ${this.s}.links
       WHERE sync = $1 AND ${col} = ANY($2::text[])`,
      [sync, keys],
    );
    for (const r of rows) out.set(r.k, { id: r.id, seen: r.seen });
    return out;
  }

  async linksByIdentities(sync: string, identities: string[]): Promise<Link[]> {
    if (identities.length === 0) return [];
    return this.links(`SELECT * FROM ${this.s}.links WHERE sync = $1 AND identity = ANY($2::text[])`, [
      sync,
      identities,
    ]);
  }

  async scanLinks(sync: string, afterId: number, limit: number): Promise<Link[]> {
    return this.links(`SELECT * FROM ${this.s}.links WHERE sync = $1 AND id > $2 ORDER BY id LIMIT $3`, [
      sync,
      afterId,
      limit,
    ]);
  }

  async instanceId(): Promise<string> {
    return (await this.one<{ value: string }>(`SELECT value FROM ${this.s}.meta WHERE key = 'instance'`, []))
      .value;
  }

  async countLinks(sync: string): Promise<number> {
    return (
      await this.one<{ n: number }>(`SELECT count(*) AS n FROM ${this.s}.links WHERE sync = $1`, [sync])
    ).n;
  }

  async maxLinkId(sync: string): Promise<number> {
    return (
      await this.one<{ n: number }>(`SELECT coalesce(max(id), 0) AS n FROM ${this.s}.links WHERE sync = $1`, [
        sync,
      ])
    ).n;
  }

  async isFresh(sync: string): Promise<boolean> {
    const s = this.s;
    const r = await this.one<{ used: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${s}.links WHERE sync = $1) OR EXISTS (SELECT 1 FROM ${s}.detached WHERE sync = $1)
           OR EXISTS (SELECT 1 FROM ${s}.quarantine WHERE sync = $1) OR EXISTS (SELECT 1 FROM ${s}.intents WHERE sync = $1)
         AS used`,
      [sync],
    );
    return !r.used;
  }

  async nextPassId(sync: string): Promise<number> {
    const row = await this.one<{ pass_seq: number }>(
      `INSERT INTO ${this.s}.sync_status (sync, pass_seq) VALUES ($1, 1)
       ON CONFLICT (sync) DO UPDATE SET pass_seq = sync_status.pass_seq + 1 RETURNING pass_seq`,
      [sync],
    );
    return row.pass_seq;
  }

  async markSeen(sync: string, side: Side, keys: string[], pass: number, maxId: number): Promise<void> {
    if (keys.length === 0) return;
    await this.rows(
      `UPDATE ${this.s}.links SET ${seenColumn(side)} = $1
       WHERE sync = $2 AND id <= $3 AND ${keyColumn(side)} = ANY($4::text[])`,
      [pass, sync, maxId, keys],
    );
  }

  async unseenLinks(
    sync: string,
    pass: number,
    maxId: number,
    afterId: number,
    limit: number,
  ): Promise<Link[]> {
    return this.links(
      `SELECT * FROM ${this.s}.links
       WHERE sync = $1 AND id > $2 AND id <= $3 AND (left_seen <> $4 OR right_seen <> $4)
       ORDER BY id LIMIT $5`,
      [sync, afterId, maxId, pass, limit],
    );
  }

  async countUnseen(sync: string, pass: number, maxId: number): Promise<Record<Side, number>> {
    const r = await this.one<{ l: number; r: number }>(
      `SELECT count(*) FILTER (WHERE left_seen <> $1) AS l, count(*) FILTER (WHERE right_seen <> $1) AS r
       FROM ${this.s}.links WHERE sync = $2 AND id <= $3`,
      [pass, sync, maxId],
    );
    return { left: r.l, right: r.r };
  }

  async detachedByKeys(sync: string, side: Side, keys: string[]): Promise<Detached[]> {
    if (keys.length === 0) return [];
    return this.rows<Detached>(
      `SELECT sync, side, key, identity FROM ${this.s}.detached
       WHERE sync = $1 AND side = $2 AND key = ANY($3::text[])`,
      [sync, side, keys],
    );
  }

  async addIntent(intent: Intent): Promise<void> {
    const body = encodeIntentBody(intent);
    // Kept at hand for the batch's commit, which makes its creates' links from it.
    if (this.recentIntents.size >= 8) this.recentIntents.clear();
    this.recentIntents.set(intent.token, body);
    await this.rows(
      `INSERT INTO ${this.s}.intents (token, sync, created_at, body) VALUES ($1, $2, $3, $4)
       ON CONFLICT (token) DO UPDATE SET sync = excluded.sync, created_at = excluded.created_at, body = excluded.body`,
      [intent.token, intent.sync, intent.createdAt, body],
    );
  }

  async intents(sync: string): Promise<Intent[]> {
    const rows = await this.rows<IntentRow>(
      `SELECT * FROM ${this.s}.intents WHERE sync = $1 ORDER BY created_at, token`,
      [sync],
    );
    return rows.map(toIntent);
  }

  async linksByIds(sync: string, ids: number[]): Promise<Link[]> {
    if (ids.length === 0) return [];
    return this.links(`SELECT * FROM ${this.s}.links WHERE sync = $1 AND id = ANY($2::bigint[])`, [
      sync,
      ids,
    ]);
  }

  async quarantined(sync?: string): Promise<QuarantineEntry[]> {
    const rows = sync
      ? await this.rows<QRow>(`SELECT * FROM ${this.s}.quarantine WHERE sync = $1 ORDER BY id`, [sync])
      : await this.rows<QRow>(`SELECT * FROM ${this.s}.quarantine ORDER BY id`, []);
    return rows.map(toQuarantine);
  }

  async quarantinedByKeys(sync: string, side: Side, keys: string[]): Promise<QuarantineEntry[]> {
    if (keys.length === 0) return [];
    const rows = await this.rows<QRow>(
      `SELECT * FROM ${this.s}.quarantine WHERE sync = $1 AND record_side = $2 AND record_key = ANY($3::text[])`,
      [sync, side, keys],
    );
    return rows.map(toQuarantine);
  }

  async countQuarantined(sync: string): Promise<number> {
    return (
      await this.one<{ n: number }>(`SELECT count(*) AS n FROM ${this.s}.quarantine WHERE sync = $1`, [sync])
    ).n;
  }

  async releaseQuarantine(sync: string | undefined, ids?: number[]): Promise<QuarantineEntry[]> {
    if (ids?.length === 0) return [];
    const where: string[] = [];
    const params: unknown[] = [];
    if (sync) where.push(`sync = $${params.push(sync)}`);
    if (ids) where.push(`id = ANY($${params.push(ids)}::bigint[])`);
    const rows = await this.rows<QRow>(
      `DELETE FROM ${this.s}.quarantine ${where.length ? `WHERE ${where.join(' AND ')}` : ''} RETURNING *`,
      params,
    );
    return rows.sort((a, b) => a.id - b.id).map(toQuarantine);
  }

  async history(sync: string, identity: string): Promise<HistoryEntry[]> {
    const rows = await this.rows<HistoryRow>(
      `SELECT * FROM ${this.s}.history WHERE sync = $1 AND identity = $2 ORDER BY id`,
      [sync, identity],
    );
    return rows.map(toHistory);
  }

  async cursor(sync: string, side: Side): Promise<string | null> {
    const [row] = await this.rows<{ position: string }>(
      `SELECT position FROM ${this.s}.cursors WHERE sync = $1 AND side = $2`,
      [sync, side],
    );
    return row?.position ?? null;
  }

  async addRetry(sync: string, side: Side, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.rows(
      `INSERT INTO ${this.s}.retry (sync, side, key) SELECT $1, $2, unnest($3::text[])
       ON CONFLICT DO NOTHING`,
      [sync, side, keys],
    );
  }

  async takeRetry(sync: string, side: Side, limit: number): Promise<string[]> {
    const rows = await this.rows<{ key: string }>(
      `SELECT key FROM ${this.s}.retry WHERE sync = $1 AND side = $2 ORDER BY key LIMIT $3`,
      [sync, side, limit],
    );
    return rows.map((r) => r.key);
  }

  async dropRetry(sync: string, side: Side, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.rows(`DELETE FROM ${this.s}.retry WHERE sync = $1 AND side = $2 AND key = ANY($3::text[])`, [
      sync,
      side,
      keys,
    ]);
  }

  async status(sync: string): Promise<SyncStatus> {
    const [row] = await this.rows<StatusRow>(
      `SELECT state, reason, last_pass_at, last_pass, guard, deletes_confirmed::int AS deletes_confirmed,
         full_scan_due::int AS full_scan_due, lag_ms
       FROM ${this.s}.sync_status WHERE sync = $1`,
      [sync],
    );
    return toStatus(sync, row);
  }

  /** One statement: only the fields patched are written, so two patches never undo each other. */
  async setStatus(sync: string, patch: Partial<Omit<SyncStatus, 'sync'>>): Promise<void> {
    const cols: string[] = [];
    const params: unknown[] = [sync];
    for (const [field, value] of Object.entries(patch)) {
      const column = STATUS_COLUMNS[field as keyof typeof STATUS_COLUMNS];
      if (!column || value === undefined) continue;
      cols.push(column[0]);
      params.push(column[1](value));
    }
    const values = cols.map((_, i) => `$${i + 2}`);
    const update = cols.length
      ? `DO UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`).join(', ')}`
      : 'DO NOTHING';
    await this.rows(
      `INSERT INTO ${this.s}.sync_status (sync${cols.map((c) => `, ${c}`).join('')})
       VALUES ($1${values.map((v) => `, ${v}`).join('')}) ON CONFLICT (sync) ${update}`,
      params,
    );
  }

  async commit(b: BatchCommit): Promise<void> {
    const [cls, key] = lockKeys(this.s, b.sync);
    await this.session.transaction(
      async (q) => {
        const creates = b.linkCreates;
        const created = creates?.landed.length
          ? landedLinkRows(
              b.sync,
              creates,
              this.recentIntents.get(creates.token) ??
                (
                  await q.rows<{ body: string }>(
                    `SELECT body FROM ${this.s}.intents WHERE token = $1 AND sync = $2`,
                    [creates.token, b.sync],
                  )
                )[0]?.body,
            )
          : [];
        await writeCommit(q, this.s, b, created);
      },
      // One round trip: the batch's commits of a sync are written one after another (postgres-lock.ts).
      `BEGIN; SELECT pg_advisory_xact_lock(${cls}, ${key})`,
    );
    for (const t of b.removeIntents) this.recentIntents.delete(t);
  }

  async forget(sync: string): Promise<void> {
    await this.session.transaction(async (q) => {
      for (const t of SYNC_TABLES) {
        await q.run(`DELETE FROM ${this.s}.${t} WHERE sync = $1`, [sync]);
      }
    });
  }
}
