/**
 * A state file written by a newer tandem: `run` (whose state store runs on its
 * own thread) and `status` (in the engine's thread) both stop with exit 1, the
 * STATE_VERSION code and the fix, and leave the file as it was.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { sorConfig, type Workspace, workspace } from './harness.js';

let ws: Workspace;
afterEach(() => ws?.cleanup());

describe('state store from a newer tandem', () => {
  it.each([
    ['run', ['run', '--once']],
    ['status', ['status']],
  ])('%s stops with STATE_VERSION and the fix', (_name, args) => {
    ws = workspace();
    ws.exec('app.db', 'CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT, status TEXT)');
    ws.exec(
      'crm.db',
      'CREATE TABLE contacts (id INTEGER PRIMARY KEY, app_id INTEGER UNIQUE, email TEXT, full_name TEXT, state TEXT)',
    );
    ws.writeConfig(sorConfig());
    mkdirSync(join(ws.dir, '.tandem'));
    const state = new Database(join(ws.dir, '.tandem', 'state.db'));
    state.pragma('user_version = 999');
    state.close();

    const r = ws.tandem(...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[STATE_VERSION]');
    expect(r.stderr).toContain('upgrade tandem');
    const after = new Database(join(ws.dir, '.tandem', 'state.db'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(999);
    after.close();
  });
});
