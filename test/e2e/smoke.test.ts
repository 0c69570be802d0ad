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

  it('a first sync of 5,000 records (background checkpoints on) lands every one, and a second pass writes nothing', () => {
    ws.exec(
      'app.db',
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
       INSERT INTO customers (id, email, name, status) SELECT i, 'u' || i || '@x', 'N' || i, 'active' FROM n`,
    );
    const first = ws.tandem('run', '--once', '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(first.json<{ syncs: { created: object }[] }>().syncs[0]!.created).toEqual({
      left: 0,
      right: 5000,
    });
    expect(
      ws.all(
        'crm.db',
        "SELECT count(*) AS n, count(DISTINCT app_id) AS ids, sum(email = 'u' || app_id || '@x' AND state = 'A') AS same FROM contacts",
      ),
    ).toEqual([{ n: 5000, ids: 5000, same: 5000 }]);
    const second = ws.tandem('run', '--once', '--json');
    expect(second.code, second.stderr).toBe(0);
    const s2 = second.json<{ syncs: { created: object; updated: object }[] }>().syncs[0]!;
    expect(s2.created).toEqual({ left: 0, right: 0 });
    expect(s2.updated).toEqual({ left: 0, right: 0 });
  });
});
