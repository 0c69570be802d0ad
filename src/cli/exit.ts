/**
 * Exit codes (SPEC §3): when several apply, the first in the order 2, 3, 5, 4.
 */
import { EXIT } from '../core/errors.js';

const PRIORITY: number[] = [EXIT.config, EXIT.connection, EXIT.guard, EXIT.quarantine, EXIT.failure];

export function combineExit(codes: number[]): number {
  for (const p of PRIORITY) if (codes.includes(p)) return p;
  return EXIT.ok;
}
