/**
 * The state store in a SQLite file (WAL). Writes of one batch go in one
 * transaction, so links, base and capture cursor can never disagree.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { TandemError } from '../core/errors.js';
import type { Side } from '../core/types.js';
import { encodeIntentBody } from './intent-body.js';
import { writeCommit } from './sqlite-commit.js';
import { type LinkRows, landedFromText, landedLinkRows, linksToRows } from './sqlite-encoding.js';
import { identifyStateFile } from './sqlite-file-identity.js';
import { keyText, storedKeysJson } from './sqlite-keys.js';
import { MIGRATIONS } from './sqlite-migrations.js';
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

type Db = Database.Database;

const keyColumn = (side: Side) => (side === 'left' ? 'left_key' : 'right_key');

export class SqliteStateStore implements StateStore {
  readonly description: string;
  private readonly db: Db;
  private readonly stmts = new Map<string, Database.Statement>();
  /** Bodies of the last intents added, by token (a batch's commit reads its own back). */
  private readonly recentIntents = new Map<string, string>();

  private constructor(db: Db, description: string) {
    this.db = db;
    this.description = description;
  }

  /** `path` is a file path or ':memory:'. */
  static open(path: string): SqliteStateStore {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // Link indexes outgrow the default 2 MB page cache at a few hundred thousand rows.
    db.pragma('cache_size = -16384');
    db.pragma('temp_store = MEMORY');
    // Checkpoints copy pages back from the WAL; at the default 1,000 pages (4 MB) a first sync
    // copies the same link index pages over and over. 64 MB measured ~5% faster at a million
    // rows. (Under `run`, a BackgroundCheckpointer does most of the copying, off this thread.)
    db.pragma('wal_autocheckpoint = 16384');
    const store = new SqliteStateStore(db, `sqlite:${path}`);
    store.migrate();
    if (path !== ':memory:') identifyStateFile(db, path);
    return store;
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new TandemError(
        'STATE_VERSION',
        `the state store ${this.description} has schema version ${version}, newer than this tandem knows (${MIGRATIONS.length})`,
        'upgrade tandem, or point `state:` at another file',
      );
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  private st(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async linksByKeys(sync: string, side: Side, keys: string[]): Promise<Link[]> {
    if (keys.length === 0) return [];
    const rows = this.st(
      `SELECT * FROM links WHERE sync = ? AND ${keyColumn(side)} IN (SELECT value FROM json_each(?))`,
    ).all(sync, storedKeysJson(keys)) as LinkRow[];
    return rows.map(toLink);
  }

  async linkMarks(
    sync: string,
    side: Side,
    keys: string[],
  ): Promise<Map<string, { id: number; seen: number }>> {
    const out = new Map<string, { id: number; seen: number }>();
    if (keys.length === 0) return out;
    const col = keyColumn(side);
    const rows = this.st(
      `SELECT id, ${col} AS k, ${side === 'left' ? 'left_seen' : 'right_seen'} AS seen FROM links
       WHERE sync = ? AND ${col} IN (SELECT value FROM json_each(?))`,
    ).all(sync, storedKeysJson(keys)) as { id: number; k: string | number; seen: number }[];
    for (const r of rows) out.set(keyText(r.k), { id: r.id, seen: r.seen });
    return out;
  }

  async linksByIdentities(sync: string, identities: string[]): Promise<Link[]> {
    if (identities.length === 0) return [];
    const rows = this.st(
      'SELECT * FROM links WHERE sync = ? AND identity IN (SELECT value FROM json_each(?))',
    ).all(sync, storedKeysJson(identities)) as LinkRow[];
    return rows.map(toLink);
  }

  async scanLinks(sync: string, afterId: number, limit: number): Promise<Link[]> {
    const rows = this.st('SELECT * FROM links WHERE sync = ? AND id > ? ORDER BY id LIMIT ?').all(
      sync,
      afterId,
      limit,
    ) as LinkRow[];
    return rows.map(toLink);
  }

  async instanceId(): Promise<string> {
    return (this.st("SELECT value FROM meta WHERE key = 'instance'").get() as { value: string }).value;
  }

  async countLinks(sync: string): Promise<number> {
    return (this.st('SELECT count(*) AS n FROM links WHERE sync = ?').get(sync) as { n: number }).n;
  }

  async maxLinkId(sync: string): Promise<number> {
    return (this.st('SELECT coalesce(max(id), 0) AS n FROM links WHERE sync = ?').get(sync) as { n: number })
      .n;
  }

  async isFresh(sync: string): Promise<boolean> {
    const r = this.st(
      `SELECT (SELECT count(*) FROM links WHERE sync = ?) + (SELECT count(*) FROM detached WHERE sync = ?)
            + (SELECT count(*) FROM quarantine WHERE sync = ?) + (SELECT count(*) FROM intents WHERE sync = ?) AS n`,
    ).get(sync, sync, sync, sync) as { n: number };
    return r.n === 0;
  }

  async nextPassId(sync: string): Promise<number> {
    const row = this.st(
      `INSERT INTO sync_status (sync, pass_seq) VALUES (?, 1)
       ON CONFLICT (sync) DO UPDATE SET pass_seq = pass_seq + 1 RETURNING pass_seq`,
    ).get(sync) as { pass_seq: number };
    return row.pass_seq;
  }

  async markSeen(sync: string, side: Side, keys: string[], pass: number, maxId: number): Promise<void> {
    if (keys.length === 0) return;
    const col = side === 'left' ? 'left_seen' : 'right_seen';
    this.st(
      `UPDATE links SET ${col} = ? WHERE sync = ? AND id <= ? AND ${keyColumn(side)} IN (SELECT value FROM json_each(?))`,
    ).run(pass, sync, maxId, storedKeysJson(keys));
  }

  async unseenLinks(
    sync: string,
    pass: number,
    maxId: number,
    afterId: number,
    limit: number,
  ): Promise<Link[]> {
    const rows = this.st(
      `SELECT * FROM links WHERE sync = ? AND id > ? AND id <= ? AND (left_seen != ? OR right_seen != ?)
       ORDER BY id LIMIT ?`,
    ).all(sync, afterId, maxId, pass, pass, limit) as LinkRow[];
    return rows.map(toLink);
  }

  async countUnseen(sync: string, pass: number, maxId: number): Promise<Record<Side, number>> {
    const r = this.st(
      `SELECT coalesce(sum(left_seen != ?), 0) AS l, coalesce(sum(right_seen != ?), 0) AS r
       FROM links WHERE sync = ? AND id <= ?`,
    ).get(pass, pass, sync, maxId) as { l: number; r: number };
    return { left: r.l, right: r.r };
  }

  async detachedByKeys(sync: string, side: Side, keys: string[]): Promise<Detached[]> {
    if (keys.length === 0) return [];
    return this.st(
      'SELECT sync, side, key, identity FROM detached WHERE sync = ? AND side = ? AND key IN (SELECT value FROM json_each(?))',
    ).all(sync, side, JSON.stringify(keys)) as Detached[];
  }

  async addIntent(intent: Intent): Promise<void> {
    this.addIntentText(intent.sync, intent.token, intent.createdAt, encodeIntentBody(intent));
  }

  /** addIntent with the body already encoded (by WorkerStateStore, on the engine's thread). */
  addIntentText(sync: string, token: string, createdAt: string, body: string): void {
    // Kept at hand for the batch's commit, which makes its creates' links from it.
    if (this.recentIntents.size >= 8) this.recentIntents.clear();
    this.recentIntents.set(token, body);
    this.st('INSERT OR REPLACE INTO intents (token, sync, created_at, body) VALUES (?, ?, ?, ?)').run(
      token,
      sync,
      createdAt,
      body,
    );
  }

  async intents(sync: string): Promise<Intent[]> {
    const rows = this.st('SELECT * FROM intents WHERE sync = ? ORDER BY created_at, token').all(
      sync,
    ) as IntentRow[];
    return rows.map(toIntent);
  }

  async linksByIds(sync: string, ids: number[]): Promise<Link[]> {
    if (ids.length === 0) return [];
    const rows = this.st('SELECT * FROM links WHERE sync = ? AND id IN (SELECT value FROM json_each(?))').all(
      sync,
      JSON.stringify(ids),
    ) as LinkRow[];
    return rows.map(toLink);
  }

  async quarantined(sync?: string): Promise<QuarantineEntry[]> {
    const rows = (
      sync
        ? this.st('SELECT * FROM quarantine WHERE sync = ? ORDER BY id').all(sync)
        : this.st('SELECT * FROM quarantine ORDER BY id').all()
    ) as QRow[];
    return rows.map(toQuarantine);
  }

  async quarantinedByKeys(sync: string, side: Side, keys: string[]): Promise<QuarantineEntry[]> {
    if (keys.length === 0) return [];
    const rows = this.st(
      'SELECT * FROM quarantine WHERE sync = ? AND record_side = ? AND record_key IN (SELECT value FROM json_each(?))',
    ).all(sync, side, JSON.stringify(keys)) as QRow[];
    return rows.map(toQuarantine);
  }

  async countQuarantined(sync: string): Promise<number> {
    return (this.st('SELECT count(*) AS n FROM quarantine WHERE sync = ?').get(sync) as { n: number }).n;
  }

  async releaseQuarantine(sync: string | undefined, ids?: number[]): Promise<QuarantineEntry[]> {
    return this.db.transaction(() => {
      const all = (
        sync
          ? this.st('SELECT * FROM quarantine WHERE sync = ? ORDER BY id').all(sync)
          : this.st('SELECT * FROM quarantine ORDER BY id').all()
      ) as QRow[];
      const chosen = ids ? all.filter((r) => ids.includes(r.id)) : all;
      const del = this.st('DELETE FROM quarantine WHERE id = ?');
      for (const r of chosen) del.run(r.id);
      return chosen.map(toQuarantine);
    })();
  }

  async history(sync: string, identity: string): Promise<HistoryEntry[]> {
    return (
      this.st('SELECT * FROM history WHERE sync = ? AND identity = ? ORDER BY id').all(
        sync,
        identity,
      ) as HistoryRow[]
    ).map(toHistory);
  }

  async cursor(sync: string, side: Side): Promise<string | null> {
    const row = this.st('SELECT position FROM cursors WHERE sync = ? AND side = ?').get(sync, side) as
      | { position: string }
      | undefined;
    return row?.position ?? null;
  }

  async addRetry(sync: string, side: Side, keys: string[]): Promise<void> {
    const ins = this.st('INSERT OR IGNORE INTO retry (sync, side, key) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const k of keys) ins.run(sync, side, k);
    })();
  }

  async takeRetry(sync: string, side: Side, limit: number): Promise<string[]> {
    return (
      this.st('SELECT key FROM retry WHERE sync = ? AND side = ? LIMIT ?').all(sync, side, limit) as {
        key: string;
      }[]
    ).map((r) => r.key);
  }

  async dropRetry(sync: string, side: Side, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    this.st('DELETE FROM retry WHERE sync = ? AND side = ? AND key IN (SELECT value FROM json_each(?))').run(
      sync,
      side,
      JSON.stringify(keys),
    );
  }

  async status(sync: string): Promise<SyncStatus> {
    return toStatus(
      sync,
      this.st('SELECT * FROM sync_status WHERE sync = ?').get(sync) as StatusRow | undefined,
    );
  }

  async setStatus(sync: string, patch: Partial<Omit<SyncStatus, 'sync'>>): Promise<void> {
    const cur = await this.status(sync);
    const next = { ...cur, ...patch };
    this.st(
      `INSERT INTO sync_status (sync, state, reason, last_pass_at, last_pass, guard, deletes_confirmed, full_scan_due, lag_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (sync) DO UPDATE SET state = excluded.state, reason = excluded.reason,
         last_pass_at = excluded.last_pass_at, last_pass = excluded.last_pass, guard = excluded.guard,
         deletes_confirmed = excluded.deletes_confirmed, full_scan_due = excluded.full_scan_due, lag_ms = excluded.lag_ms`,
    ).run(
      sync,
      next.state,
      next.reason,
      next.lastPassAt,
      next.lastPass ? JSON.stringify(next.lastPass) : null,
      next.guard ? JSON.stringify(next.guard) : null,
      next.deletesConfirmed ? 1 : 0,
      next.fullScanDue ? 1 : 0,
      next.lagMs,
    );
  }

  /** The links the landed creates of an intent make: [identity, leftKey, rightKey, base, leftAt, rightAt]. */
  private createdLinks(sync: string, creates: NonNullable<BatchCommit['linkCreates']>) {
    const body =
      this.recentIntents.get(creates.token) ??
      (
        this.st('SELECT body FROM intents WHERE token = ? AND sync = ?').get(creates.token, sync) as
          | { body: string }
          | undefined
      )?.body;
    return landedLinkRows(sync, creates, body);
  }

  async commit(b: BatchCommit): Promise<void> {
    this.commitRows(b, linksToRows(b.upsertLinks));
  }

  /**
   * commit with the links already encoded (by WorkerStateStore, on the engine's
   * thread); `upsertLinks` is ignored, and `landedText` (landedToText), when
   * given, stands for `linkCreates.landed`.
   */
  commitRows(b: Omit<BatchCommit, 'upsertLinks'>, links: LinkRows, landedText?: string): void {
    if (landedText !== undefined && b.linkCreates) {
      b = { ...b, linkCreates: { token: b.linkCreates.token, landed: landedFromText(landedText) } };
    }
    this.db.transaction(() => {
      const created = b.linkCreates?.landed.length ? this.createdLinks(b.sync, b.linkCreates) : [];
      writeCommit((sql) => this.st(sql), b, links, created);
    })();
    for (const t of b.removeIntents) this.recentIntents.delete(t);
  }

  async forget(sync: string): Promise<void> {
    this.db.transaction(() => {
      for (const t of SYNC_TABLES) {
        this.db.prepare(`DELETE FROM ${t} WHERE sync = ?`).run(sync);
      }
    })();
  }
}
