/**
 * Two tandem states syncing the same tables (two configs with their own state
 * files): the second is refused with CAPTURE_CLAIMED, naming the first, and
 * takes nothing away from it; after `teardown` with the second config it may
 * take over. Real CLI, real SQLite files.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { byExt, insert, LEFT, RIGHT, runOnce, setupExt, update } from './ext-helpers.js';
import { type CliResult, extConfig, type Workspace, workspace } from './harness.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspace('tandem-claims-');
});
afterEach(() => ws.cleanup());

const output = (r: CliResult) => `${r.stdout}\n${r.stderr}`;
/** The same sync, kept in another state file. */
const OTHER = 'other.yaml';
const otherConfig = () =>
  extConfig().replace('version: 1\n', 'version: 1\nstate: sqlite:./other-state/state.db\n');

describe('a table synced from two tandem states', () => {
  it('is refused to the second, which loses nothing of the first; teardown lets it take over', () => {
    setupExt(ws);
    const id = insert(ws, LEFT, { ext: 'A', title: 'first', price: 1 });
    runOnce(ws);
    ws.writeConfig(otherConfig(), OTHER);

    // validate says so before anything runs.
    const checked = ws.tandem('validate', '-c', OTHER);
    expect(checked.code, output(checked)).toBe(3);
    expect(output(checked)).toContain('CAPTURE_CLAIMED');

    // A change waits in capture; the second state is refused before it reads or prunes anything.
    update(ws, LEFT, id, { title: 'changed' });
    const refused = ws.tandem('run', '--once', '-c', OTHER);
    expect(refused.code, output(refused)).toBe(3);
    expect(output(refused)).toContain('CAPTURE_CLAIMED');
    expect(output(refused)).toMatch(/table products in sqlite:\S+app\.db is already synced by sync products/);
    expect(output(refused)).toContain('.tandem/state.db');
    expect(output(refused)).toContain('tandem teardown');

    // The first state still finds the change and carries it.
    runOnce(ws);
    expect(byExt(ws, RIGHT, 'A')[0]!.title).toBe('changed');

    // Once the first state is given up for good: teardown with the second config, then it runs.
    const down = ws.tandem('teardown', '-c', OTHER);
    expect(down.code, output(down)).toBe(0);
    const taken = ws.tandem('run', '--once', '-c', OTHER);
    expect(taken.code, output(taken)).toBe(0);
    update(ws, LEFT, id, { title: 'after take-over' });
    expect(ws.tandem('run', '--once', '-c', OTHER).code).toBe(0);
    expect(byExt(ws, RIGHT, 'A')[0]!.title).toBe('after take-over');
    expect(byExt(ws, RIGHT, 'A')).toHaveLength(1);

    // And now the first state is the one refused.
    const first = ws.tandem('run', '--once');
    expect(first.code, output(first)).toBe(3);
    expect(output(first)).toContain('other-state/state.db');
  });

  it('is refused to a copy of the first state file, which is told apart from its original', () => {
    setupExt(ws);
    const id = insert(ws, LEFT, { ext: 'A', title: 'first', price: 1 });
    runOnce(ws);
    // The whole state copied for a second config (a copied project directory, say).
    mkdirSync(join(ws.dir, 'other-state'));
    copyFileSync(join(ws.dir, '.tandem', 'state.db'), join(ws.dir, 'other-state', 'state.db'));
    ws.writeConfig(otherConfig(), OTHER);

    update(ws, LEFT, id, { title: 'changed' });
    const refused = ws.tandem('run', '--once', '-c', OTHER);
    expect(refused.code, output(refused)).toBe(3);
    expect(output(refused)).toContain('CAPTURE_CLAIMED');
    expect(output(refused)).toContain('.tandem/state.db');

    // The original goes on, and nothing it had not read was let go by the copy.
    runOnce(ws);
    expect(byExt(ws, RIGHT, 'A')[0]!.title).toBe('changed');
  });
});
