import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SOR_SCHEMA, sorConfig, type Workspace, workspace } from './harness.js';

describe('smoke: SOR sync through the CLI', () => {
  let ws: Workspace;
  beforeEach(() => {
    ws = workspace();
    ws.exec('app.db', SOR_SCHEMA.app);
    ws.exec('crm.db', SOR_SCHEMA.crm);
    ws.writeConfig(sorConfig());
  });
  afterEach(() => ws.cleanup());

  it('creates in N with the SOR key, and a second pass writes nothing', () => {
    ws.exec('app.db', "INSERT INTO customers (id, email, name, status) VALUES (7, 'a@x', 'Ann', 'active')");
    const first = ws.tandem('run', '--once', '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(ws.all('crm.db', 'SELECT app_id, email, full_name, state FROM contacts')).toEqual([
      { app_id: 7, email: 'a@x', full_name: 'Ann', state: 'A' },
    ]);
    const second = ws
      .tandem('run', '--once', '--json')
      .json<{ syncs: { created: object; updated: object }[] }>();
    expect(second.syncs[0]!.created).toEqual({ left: 0, right: 0 });
    expect(second.syncs[0]!.updated).toEqual({ left: 0, right: 0 });
  });
});
