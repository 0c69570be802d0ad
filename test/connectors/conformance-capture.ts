/**
 * The conformance suite's change capture: what is captured and from where,
 * the connector's own writes left out, pruning, removal and claims;
 * registered by `connectorConformance` (conformance.ts).
 */
import { expect } from 'vitest';
import type { TableSpec } from '../../src/connectors/connector.js';
import type { ChangeEvent } from '../../src/core/types.js';
import type { Suite } from './conformance.js';

export function captureTests(s: Suite): void {
  const captureTable = async (): Promise<TableSpec> => {
    const u = s.factory.updatedAt;
    await s.fresh(
      'cap_t',
      `code ${s.d.csText} NOT NULL PRIMARY KEY, name ${s.d.text}${u ? `, ${u.ddl}` : ''}`,
    );
    for (const sql of u?.after('cap_t') ?? []) await s.ctx.exec(sql);
    const spec = await s.specOf('cap_t');
    if (u) spec.updatedAt = u.column;
    await s.c.installCapture(spec);
    return spec;
  };

  s.test('capture: sees user inserts, updates and deletes in order', async () => {
    const spec = await captureTable();
    expect((await s.c.captureStatus(spec)).installed).toBe(true);
    const start = await s.c.currentPosition(spec);
    // Each change is waited for before the next (a poll sees states, not each step between two polls).
    let seen: { events: ChangeEvent[]; position: string } = { events: [], position: start };
    const statements = [
      "INSERT INTO cap_t (code, name) VALUES ('a', 'A')",
      "INSERT INTO cap_t (code, name) VALUES ('b', 'B')",
      "UPDATE cap_t SET name = 'AA' WHERE code = 'a'",
      "DELETE FROM cap_t WHERE code = 'b'",
    ];
    for (const sql of statements) {
      await s.ctx.exec(sql);
      const more = await s.changesUntil(spec, seen.position, (e) => e.length >= 1);
      seen = { events: [...seen.events, ...more.events], position: more.position };
    }
    const { events, position } = seen;
    expect(events.map((e) => [e.op, e.key])).toEqual([
      ['insert', 'a'],
      ['insert', 'b'],
      ['update', 'a'],
      ['delete', 'b'],
    ]);
    const positions = events.map((e) => e.position);
    expect([...positions].sort()).toEqual(positions);
    expect(new Set(positions).size).toBe(4);
    expect(positions[0]! > start).toBe(true);
    expect(position).toBe(positions[3]);
    for (const e of events) expect(e.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    // Nothing more after the last position; the position may move on over log with nothing
    // for this table (PostgreSQL's other tables' work), never back.
    const again = await s.c.readChanges(spec, position, 100);
    expect(again.changes).toEqual([]);
    expect(again.position >= position).toBe(true);
    expect((await s.c.currentPosition(spec)) >= position).toBe(true);
  });

  s.test('capture: readChanges honours the limit and resumes from a position', async () => {
    const spec = await captureTable();
    const start = await s.c.currentPosition(spec);
    for (const k of ['a', 'b', 'c', 'd', 'e'])
      await s.ctx.exec(`INSERT INTO cap_t (code, name) VALUES ('${k}', 'x')`);
    await s.changesUntil(spec, start, (e) => e.length >= 5);
    const first = await s.c.readChanges(spec, start, 2);
    expect(first.changes.map((e) => e.key)).toEqual(['a', 'b']);
    expect(first.position).toBe(first.changes[1]!.position);
    const rest = await s.c.readChanges(spec, first.position, 100);
    expect(rest.changes.map((e) => e.key)).toEqual(['c', 'd', 'e']);
  });

  s.test("capture: the connector's own writes are not captured", async () => {
    const spec = await captureTable();
    await s.ctx.exec("INSERT INTO cap_t (code, name) VALUES ('old', 'x')");
    const start = await s.c.currentPosition(spec);
    const results = await s.c.write(spec, [
      { op: 'insert', ref: 1, values: { code: 'mine', name: 'engine' } },
      { op: 'update', ref: 2, key: 'old', values: { name: 'engine' } },
      { op: 'delete', ref: 3, key: 'old' },
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    // A user write after ours: once it shows up, ours would have too.
    await s.ctx.exec("INSERT INTO cap_t (code, name) VALUES ('marker', 'user')");
    const { events } = await s.changesUntil(spec, start, (e) => e.some((x) => x.key === 'marker'));
    expect(events.map((e) => [e.op, e.key])).toEqual([['insert', 'marker']]);
    // And user writes made after ours are still captured.
    await s.ctx.exec("UPDATE cap_t SET name = 'user' WHERE code = 'mine'");
    const later = await s.changesUntil(spec, start, (e) => e.some((x) => x.key === 'mine'));
    expect(later.events.map((e) => [e.op, e.key])).toEqual([
      ['insert', 'marker'],
      ['update', 'mine'],
    ]);
  });

  s.test('capture: installCapture twice captures each change once', async () => {
    const spec = await captureTable();
    await s.c.installCapture(spec);
    const start = await s.c.currentPosition(spec);
    await s.ctx.exec("INSERT INTO cap_t (code, name) VALUES ('a', 'x')");
    await s.ctx.exec("INSERT INTO cap_t (code, name) VALUES ('b', 'x')");
    const { events } = await s.changesUntil(spec, start, (e) => e.some((x) => x.key === 'b'));
    expect(events.map((e) => e.key)).toEqual(['a', 'b']);
  });

  s.test('capture: pruneChanges forgets changes up to and including the position', async () => {
    const spec = await captureTable();
    const start = await s.c.currentPosition(spec);
    await s.ctx.exec("INSERT INTO cap_t (code, name) VALUES ('a', 'x')");
    await s.ctx.exec("INSERT INTO cap_t (code, name) VALUES ('b', 'x')");
    const { events } = await s.changesUntil(spec, start, (e) => e.length >= 2);
    await s.c.pruneChanges(spec, events[0]!.position);
    const left = await s.c.readChanges(spec, start, 100);
    expect(left.changes.map((e) => e.key)).toEqual(['b']);
    // The position never goes back, even when pruning empties the log.
    await s.c.pruneChanges(spec, events[1]!.position);
    expect((await s.c.currentPosition(spec)) >= events[1]!.position).toBe(true);
  });

  s.test('capture: removeCapture stops capture and removes its data', async () => {
    const spec = await captureTable();
    const start = await s.c.currentPosition(spec);
    await s.ctx.exec("INSERT INTO cap_t (code, name) VALUES ('a', 'x')");
    await s.changesUntil(spec, start, (e) => e.length >= 1);
    await s.c.write(spec, [{ op: 'insert', ref: 1, values: { code: 'b', name: 'y' } }], 'tok-b');
    await s.c.removeCapture(spec);
    expect((await s.c.captureStatus(spec)).installed).toBe(false);
    expect((await s.c.readChanges(spec, start, 100)).changes).toEqual([]);
    expect((await s.c.readReceipts(spec, ['tok-b'])).size).toBe(0);
    await s.c.teardown();
  });

  s.test(
    'capture: one tandem state claims a table; another is refused, naming it, until removeCapture',
    async () => {
      const spec = await captureTable();
      const a = { owner: 'aaaa1111', state: 'sqlite:/srv/a/state.db', sync: 'customers' };
      const b = { owner: 'bbbb2222', state: 'sqlite:/srv/b/state.db', sync: 'clients' };
      // Nobody holds it yet: a check (validate) passes for anyone, and claims nothing.
      await s.c.checkClaim(spec, b);
      await s.c.claimCapture(spec, a);
      // The same state again (every run claims): nothing changes.
      await s.c.claimCapture(spec, a);
      await s.c.checkClaim(spec, a);
      await expect(s.c.checkClaim(spec, b)).rejects.toMatchObject({ code: 'CAPTURE_CLAIMED' });
      const refused = (await s.c.claimCapture(spec, b).then(
        () => null,
        (e: unknown) => e,
      )) as { code?: string; message?: string; fix?: string } | null;
      expect(refused?.code).toBe('CAPTURE_CLAIMED');
      expect(refused?.message).toContain('sync customers');
      expect(refused?.message).toContain('sqlite:/srv/a/state.db');
      expect(refused?.message).toContain('aaaa1111');
      expect(refused?.fix).toContain('tandem teardown');
      // removeCapture (what teardown does) lifts the claim: the other state may claim it now.
      await s.c.removeCapture(spec);
      await s.c.claimCapture(spec, b);
      await expect(s.c.claimCapture(spec, a)).rejects.toMatchObject({ code: 'CAPTURE_CLAIMED' });
      await s.c.removeCapture(spec);
      await s.c.teardown();
    },
  );
}
