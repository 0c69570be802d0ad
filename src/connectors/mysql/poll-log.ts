/**
 * Writing a feed's finds inside a poll's transaction: the log entries,
 * numbered on from the feed's `logged` (held under the feed row's lock, so
 * numbers follow the order polls commit in), and the kept keys brought up to
 * date. Positions are `poll:` and the number in 19 digits, so they sort as
 * strings (and never look like a binlog position).
 */
import type { ChangeEvent } from '../../core/types.js';
import { keyText, toParam } from './convert.js';
import type { PollParam, PollSession } from './poll-session.js';
import type { Feed } from './poll-setup.js';

const PREFIX = 'poll:';
/** Rows per multi-row statement. */
const CHUNK = 1_000;

export const isPollPosition = (pos: string): boolean => /^poll:\d{19}$/.test(pos);
export const position = (seq: bigint | string): string => `${PREFIX}${String(seq).padStart(19, '0')}`;
/**
 * A log number as a parameter: an exact literal, since a quoted number
 * compared with a BIGINT column is compared as a double (and numbers here
 * are past 2^53, see poll-setup.ts).
 */
export const seqParam = (seq: bigint | string): { toSqlString(): string } => {
  const text = BigInt(seq).toString();
  return { toSqlString: () => text };
};
/** The log number of a position, as a parameter. */
export const seqOf = (pos: string): { toSqlString(): string } => seqParam(pos.slice(PREFIX.length));

/** `2024-01-02 03:04:05[.ffffff]` (or a DATE) → the same as DATETIME(6) text, so texts compare as times. */
export function fullTime(text: string): string {
  const t = text.length === 10 ? `${text} 00:00:00` : text;
  const [whole = '', frac = ''] = t.split('.');
  return `${whole}.${frac.padEnd(6, '0').slice(0, 6)}`;
}

/** DATETIME(6) text in UTC → ISO 8601 with milliseconds, as the engine's change times are. */
export const isoOf = (text: string): string => {
  const t = fullTime(text);
  return `${t.slice(0, 10)}T${t.slice(11, 23)}Z`;
};

/** A key as read (raw) → its canonical text. */
export const keyOf = (f: Feed, raw: unknown): string => keyText(raw, f.keyKind, f.keyType) ?? '';

/**
 * A key as read → a parameter compared exactly: a BIGINT arrives as a string,
 * and a quoted number against an integer column is compared as a double.
 */
export const keyParam = (f: Feed, raw: unknown): PollParam => toParam(keyOf(f, raw), f.keyKind) as PollParam;

export interface Entry {
  /** Canonical key text. */
  key: string;
  op: ChangeEvent['op'];
  /** DATETIME(6) text, UTC. */
  at: string;
}

export class FeedWriter {
  constructor(
    private readonly s: PollSession,
    private readonly f: Feed,
    /** The last number logged for the feed. */
    public logged: bigint,
  ) {}

  async log(entries: Entry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += CHUNK) {
      const chunk = entries.slice(i, i + CHUNK);
      const params: PollParam[] = [];
      for (const e of chunk) {
        this.logged += 1n;
        params.push(this.f.id, seqParam(this.logged), e.key, e.op, e.at);
      }
      await this.s.run(
        `INSERT INTO ${this.f.logSql} (feed, seq, k, op, at) VALUES ${chunk.map(() => '(?, ?, ?, ?, CAST(? AS DATETIME(6)))').join(', ')}`,
        params,
      );
    }
  }

  /** Kept keys and their versions, as read from the table (raw values). */
  async keep(rows: [unknown, unknown][]): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const params: PollParam[] = [];
      for (const [k, v] of chunk) params.push(keyParam(this.f, k), v as PollParam);
      await this.s.run(
        `INSERT INTO ${this.f.keysSql} (k, v) VALUES ${chunk.map(() => '(?, ?)').join(', ')}
         ON DUPLICATE KEY UPDATE v = VALUES(v)`,
        params,
      );
    }
  }

  async forget(keys: unknown[]): Promise<void> {
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK).map((k) => keyParam(this.f, k));
      await this.s.run(
        `DELETE FROM ${this.f.keysSql} WHERE k IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
    }
  }
}
