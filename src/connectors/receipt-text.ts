/**
 * A write's receipt as the connectors store it beside the rows, in the same
 * transaction: the refs that landed and their keys, as ref-key runs (a batch
 * of inserts numbered by the table is a few numbers). Receipts stored by
 * earlier versions (`{ ok, keys }`) read back the same.
 */
import { packRefKeys, type RefKeyRuns, unpackRefKeys } from '../core/ref-key-runs.js';
import type { WriteReceipt, WriteResult } from './connector.js';

export function receiptText(results: readonly WriteResult[]): string {
  const landed = results.filter((r): r is Extract<WriteResult, { ok: true }> => r.ok);
  const runs = packRefKeys(
    landed.length,
    (i) => landed[i]!.ref,
    (i) => landed[i]!.key,
  );
  return JSON.stringify({ runs });
}

export function receiptFromText(text: string): WriteReceipt {
  const raw = JSON.parse(text) as { runs: RefKeyRuns } | WriteReceipt;
  if (!('runs' in raw)) return raw;
  const receipt: WriteReceipt = { ok: [], keys: {} };
  unpackRefKeys(raw.runs, (ref, key) => {
    receipt.ok.push(ref);
    receipt.keys[ref] = key;
  });
  return receipt;
}
