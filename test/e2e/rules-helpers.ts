/**
 * What the SPEC §4.1 rule tests share (rules*.test.ts): a synced start on the
 * External ID setup of harness.ts, and records made and linked through the CLI.
 */
import { expect } from 'vitest';
import {
  byExt,
  expectNoWrites,
  insert,
  LEFT,
  RIGHT,
  runOnce,
  type SideRef,
  setupExt,
} from './ext-helpers.js';
import type { Workspace } from './harness.js';

/** Schema + config + a first pass over empty tables (so later changes come through capture). */
export function start(ws: Workspace, opts: Parameters<typeof setupExt>[1] = {}) {
  setupExt(ws, opts);
  expectNoWrites(runOnce(ws).sync());
}

/** A record made on `s`, synced: local ids on both sides. */
export function linked(
  ws: Workspace,
  ext: string,
  title = `t-${ext}`,
  price: number | string = 10,
  s: SideRef = LEFT,
) {
  const o = s === LEFT ? RIGHT : LEFT;
  const id = insert(ws, s, { ext, title, price });
  runOnce(ws);
  const rows = byExt(ws, o, ext);
  expect(rows).toHaveLength(1);
  return s === LEFT ? { left: id, right: rows[0]!.id } : { left: rows[0]!.id, right: id };
}
