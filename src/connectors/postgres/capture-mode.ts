/**
 * Which way a table's changes are found, from the connection's
 * `change_detection` and what the server allows (SPEC §6):
 *
 * - `cdc`: logical replication; missing rights stay CAPTURE_UNAVAILABLE.
 * - `poll`: polling on the side's `updated_at` (a timestamp or date column).
 * - `auto`: logical replication when its preflight passes; otherwise polling
 *   on `updated_at` when the side has one; otherwise a full comparison of
 *   keys and row fingerprints at each poll (correct, but its cost grows with
 *   the table).
 *
 * `detail` is what `validate` prints: the way chosen and why.
 */
import { TandemError } from '../../core/errors.js';
import type { TableSpec } from '../connector.js';
import { OVERLAP_SECONDS } from './poll.js';
import { POLLABLE, pollPreflight } from './poll-setup.js';
import type { PgSession } from './session.js';

export type ChangeDetection = 'auto' | 'cdc' | 'poll';

export interface CaptureChoice {
  method: 'cdc' | 'poll' | 'scan';
  /** Why (empty for cdc: its detail is made where the slot is known). */
  why: string;
}

export interface PollSettings {
  pollIntervalMs: number;
  keyScanMs: number;
}

const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

/**
 * `cdcPreflight` throws CAPTURE_UNAVAILABLE (with the fix) when logical
 * replication cannot be set up.
 */
export async function chooseCapture(
  s: PgSession,
  spec: TableSpec,
  mode: ChangeDetection,
  cdcPreflight: () => Promise<unknown>,
): Promise<CaptureChoice> {
  if (mode === 'cdc') return { method: 'cdc', why: '' };
  const column = spec.updatedAt;
  const kind = column ? spec.kinds[column] : undefined;
  if (mode === 'poll') {
    if (!column) {
      throw new TandemError(
        'CONFIG_INVALID',
        `change_detection: poll needs an updated_at column on table ${spec.table}`,
        `name the column holding each row's last change time with \`updated_at:\` on that side, or use change_detection: auto`,
      );
    }
    if (!kind || !POLLABLE.has(kind)) {
      throw new TandemError(
        'CAPTURE_UNAVAILABLE',
        `updated_at column ${column} of ${spec.table} is ${kind ?? 'unknown'}, and polling needs a timestamp or date`,
        `make ${column} a timestamptz kept up to date on every insert and update (a DEFAULT now() and a BEFORE UPDATE trigger), or use change_detection: auto`,
      );
    }
    await pollPreflight(s);
    return { method: 'poll', why: 'change_detection is poll' };
  }
  try {
    await cdcPreflight();
    return { method: 'cdc', why: '' };
  } catch (err) {
    if (!(err instanceof TandemError) || err.code !== 'CAPTURE_UNAVAILABLE') throw err;
    try {
      await pollPreflight(s);
    } catch (pollErr) {
      if (!(pollErr instanceof TandemError)) throw pollErr;
      throw new TandemError(
        'CAPTURE_UNAVAILABLE',
        `Neither logical replication nor polling can be set up: ${err.message}; ${pollErr.message}`,
        `To poll: ${pollErr.fix} To use logical replication: ${err.fix}`,
      );
    }
    const reason = `${err.message} (to use logical replication instead: ${err.fix})`;
    if (column && kind && POLLABLE.has(kind)) return { method: 'poll', why: reason };
    const noColumn = column
      ? `its updated_at column ${column} is ${kind}, not a timestamp`
      : 'the side names no updated_at column';
    return {
      method: 'scan',
      why: `${reason}; and ${noColumn} (set \`updated_at:\` on this side to poll on it instead)`,
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
