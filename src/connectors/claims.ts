/**
 * What every connector says when a table's capture is claimed by another
 * tandem state (Connector.claimCapture). The claim itself is a row per table
 * in a small table of each connector's own (`_tandem_claims`).
 */
import { TandemError } from '../core/errors.js';
import type { CaptureClaim } from './connector.js';

/** A claim as stored: the claim and when it was made. */
export interface StoredClaim extends CaptureClaim {
  at: string;
}

export function claimedError(
  table: string,
  where: string,
  mine: CaptureClaim,
  held: StoredClaim,
): TandemError {
  return new TandemError(
    'CAPTURE_CLAIMED',
    `table ${table} in ${where} is already synced by sync ${held.sync} of another tandem state ` +
      `(${held.state}, id ${held.owner}, since ${held.at}); this is sync ${mine.sync} of ${mine.state} (id ${mine.owner})`,
    'Sync a table from one tandem state only: each would let go of changes the other has not read yet. ' +
      'Stop the other tandem, or sync this table in its config. If that state is gone for good ' +
      '(its state file deleted or moved), run `tandem teardown` with this config to remove its capture, then run again ' +
      '(the first pass compares both sides in full).',
  );
}
