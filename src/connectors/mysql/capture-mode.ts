/**
 * Which way a MySQL/MariaDB table's changes are found, from the connection's
 * `change_detection` and what the server allows (SPEC §6):
 *
 * - `cdc`: the row-based binlog; what is missing stays CAPTURE_UNAVAILABLE.
 * - `poll`: polling on the side's `updated_at` (DATETIME, TIMESTAMP or DATE).
 * - `auto`: the binlog when its preflight passes (log_bin on, binlog_format
 *   ROW, binlog_row_image FULL, REPLICATION SLAVE and REPLICATION CLIENT);
 *   otherwise polling on `updated_at` when the side has one; otherwise a
 *   full comparison of keys and row fingerprints at each poll (correct, but
 *   its cost grows with the table).
 *
 * `why` is what `validate` prints after the way chosen (see pollDetail).
 */
import { TandemError } from '../../core/errors.js';
import type { TableSpec } from '../connector.js';
import type { PollSession } from './poll-session.js';
import { POLLABLE, pollPreflight } from './poll-setup.js';
import { OVERLAP_SECONDS } from './poll-window.js';

export type ChangeDetection = 'auto' | 'cdc' | 'poll';

export interface CaptureChoice {
  method: 'cdc' | 'poll' | 'scan';
  /** Why (empty for cdc: its detail is the binlog capture's). */
  why: string;
}

export interface PollSettings {
  pollIntervalMs: number;
  keyScanMs: number;
}

const UPDATED_AT_DDL = 'DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';

const seconds = (ms: number) => (ms > 0 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

/**
 * `binlogPreflight` throws CAPTURE_UNAVAILABLE (with the fix) when binlog
 * capture cannot be used; `s` asks whether tandem may keep its polling tables
 * in `database` (the table's).
 */
export async function chooseCapture(
  s: PollSession,
  database: string,
  spec: TableSpec,
  mode: ChangeDetection,
  binlogPreflight: () => Promise<unknown>,
): Promise<CaptureChoice> {
  if (mode === 'cdc') return { method: 'cdc', why: '' };
  const column = spec.updatedAt;
  const kind = column ? spec.kinds[column] : undefined;
  if (mode === 'poll') {
    if (!column) {
      throw new TandemError(
        'CONFIG_INVALID',
        `change_detection: poll needs an updated_at column on table ${spec.table}`,
        `name the column holding each row's last change time with \`updated_at:\` on that side (e.g. ALTER TABLE … ADD COLUMN updated_at ${UPDATED_AT_DDL}), or use change_detection: auto`,
      );
    }
    if (!kind || !POLLABLE.has(kind)) {
      throw new TandemError(
        'CAPTURE_UNAVAILABLE',
        `updated_at column ${column} of ${spec.table} is ${kind ?? 'unknown'}, and polling needs a DATETIME, TIMESTAMP or DATE`,
        `make ${column} a ${UPDATED_AT_DDL}, or use change_detection: auto`,
      );
    }
    await pollPreflight(s, database);
    return { method: 'poll', why: 'change_detection is poll' };
  }
  try {
    await binlogPreflight();
    return { method: 'cdc', why: '' };
  } catch (err) {
    if (!(err instanceof TandemError) || err.code !== 'CAPTURE_UNAVAILABLE') throw err;
    try {
      await pollPreflight(s, database);
    } catch (pollErr) {
      if (!(pollErr instanceof TandemError)) throw pollErr;
      throw new TandemError(
        'CAPTURE_UNAVAILABLE',
        `Neither the binlog nor polling can be used: ${err.message}; ${pollErr.message}`,
        `To poll: ${pollErr.fix} To read the binlog: ${err.fix}`,
      );
    }
    const reason = `${err.message} (to read the binlog instead: ${err.fix})`;
    if (column && kind && POLLABLE.has(kind)) return { method: 'poll', why: reason };
    const noColumn = column
      ? `its updated_at column ${column} is ${kind}, not a DATETIME, TIMESTAMP or DATE`
      : 'the side names no updated_at column';
    return {
      method: 'scan',
      why: `${reason}; and ${noColumn} (add one, ${UPDATED_AT_DDL}, and set \`updated_at:\` on this side to poll on it instead)`,
    };
  }
}

/** What `validate` says of a polled table. */
export function pollDetail(choice: CaptureChoice, spec: TableSpec, p: PollSettings): string {
  if (choice.method === 'poll') {
    return `poll on updated_at (${spec.updatedAt}) every ${seconds(p.pollIntervalMs)}, looking ${OVERLAP_SECONDS} s behind its cursor for late commits; deletes found by a key scan every ${seconds(p.keyScanMs)} (its cost grows with the table) — ${choice.why}`;
  }
  return `full scan of keys and row fingerprints at every poll (every ${seconds(p.pollIntervalMs)}): still correct, but its cost grows with the table — ${choice.why}`;
}
