/**
 * Hand-written engine scenarios over the simulated world (harness.ts): each is
 * the shortest sequence that shows one guarantee, most of them with a crash at
 * a chosen step. The random simulation (simulation.test.ts) finds sequences;
 * these pin them down.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Row } from '../../src/core/types.js';
import { crashBefore, World, type WorldOptions } from './harness.js';

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterAll(() => {
  vi.useRealTimers();
});

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function make(opts: WorldOptions): World {
  world = new World(opts);
  return world;
}

const row = (name: string, extra: Row = {}): Row => ({
  name,
  email: 'a@x',
  status: 'active',
  qty: '1',
  ...extra,
});
const rrow = (name: string, extra: Row = {}): Row => ({
  full_name: name,
  email: 'a@x',
  state: 'A',
  qty: '1',
  ...extra,
});

/** Fails with the engine's trace when `cond` is false. */
function trace(w: World): string {
  return `\n--- engine trace ---\n${w.log.join('\n')}`;
}

describe('scenarios that hold', () => {
  it('SOR: create in N, crash at every step of the pass, restart: exactly one S record, key written back', async () => {
    // Count the steps of the pass once, then crash at each of them in a fresh world.
    const probe = make({ mode: 'sor-left', policy: 'system-of-record' });
    await probe.pass();
    probe.insert('right', rrow('ann'));
    const clean = await probe.attempt();
    expect(clean.ok).toBe(true);
    const steps = clean.steps;
    await probe.close();
    world = undefined;
    for (let at = 1; at <= steps; at++) {
      const w = new World({ mode: 'sor-left', policy: 'system-of-record' });
      try {
        await w.pass();
        const nKey = w.insert('right', rrow('ann'));
        const crashed = await w.attempt({ crashAt: at });
        expect(crashed.ok, `crash at ${at}`).toBe(false);
        await w.pass();
        const left = [...w.rows('left').values()];
        expect(left.length, `crash at ${at}${trace(w)}`).toBe(1);
        expect(w.get('right', nKey)!.sor_id, `crash at ${at}${trace(w)}`).toBe(left[0]!.id);
        expect(left[0]!.name).toBe('ann');
        expect(await w.store.intents('sim')).toEqual([]);
        // And nothing is left to do.
        const again = await w.pass({ full: true });
        expect(again.counts.created).toEqual({ left: 0, right: 0 });
      } finally {
        await w.close();
      }
    }
  });

  it('no echoes: a user change makes exactly one write on the other side and none back', async () => {
    const w = make({ mode: 'external-id', policy: 'newest-wins', captureEngineWrites: true });
    const k = w.insert('left', row('ann', { code: 'E1' }));
    await w.pass();
    w.update('left', k, { name: 'bea' });
    const r = await w.pass();
    expect(r.counts.updated).toEqual({ left: 0, right: 1 });
    // The engine's own write came back through capture (no echo suppression here): the base drops it.
    const r2 = await w.pass();
    expect(r2.counts.updated).toEqual({ left: 0, right: 0 });
  });

  it('replaying a batch after a crash just before the commit gives the same result', async () => {
    const w = make({ mode: 'sor-right', policy: 'system-of-record' });
    const s = w.insert('right', rrow('ann'));
    await w.pass();
    w.update('right', s, { full_name: 'bea', qty: '7' });
    const crashed = await w.attempt({ crashWhen: crashBefore('store.commit', 'left.write') });
    expect(crashed.ok).toBe(false);
    const r = await w.pass();
    expect(r.counts.updated).toEqual({ left: 0, right: 0 }); // already written before the crash
    const [n] = [...w.rows('left').values()];
    expect(n).toMatchObject({ name: 'bea', qty: '7', sor_id: s });
  });
});

describe('engine bugs found by the simulation (each test is a minimal repro)', () => {
  it('lost update: a crash between the write and the base commit turns the echo into a "conflict" that overwrites a later user edit (sim: random lost-change)', async () => {
    // SOR = left. Field `name` is only ever edited on N (right).
    const w = make({ mode: 'sor-left', policy: 'system-of-record' });
    const s = w.insert('left', row('ann'));
    await w.pass();
    const n = [...w.rows('right').keys()][0]!;
    w.update('right', n, { full_name: 'bea' });
    // The engine copies 'bea' to S, then dies before saving the base.
    const crashed = await w.attempt({ crashWhen: crashBefore('store.commit', 'left.write') });
    expect(crashed.ok).toBe(false);
    expect(w.get('left', s)!.name).toBe('bea');
    // While it is down, the N user edits the same field again.
    w.update('right', n, { full_name: 'cy' });
    await w.pass();
    // The last write was 'cy' on N and nobody changed S: 'cy' must win on both sides.
    expect(w.get('right', n)!.full_name, trace(w)).toBe('cy');
    expect(w.get('left', s)!.name, trace(w)).toBe('cy');
  });

  it('lost delete: the same stale base makes S look updated, so deleting N recreates it (sim seed 117)', async () => {
    const w = make({ mode: 'sor-left', policy: 'system-of-record' });
    const s = w.insert('left', row('ann'));
    await w.pass();
    const n = [...w.rows('right').keys()][0]!;
    w.update('right', n, { qty: '2' });
    expect((await w.attempt({ crashWhen: crashBefore('store.commit', 'left.write') })).ok).toBe(false);
    w.delete('right', n);
    await w.pass();
    // Only N's own change reached S: nobody updated S, so N's delete deletes S.
    expect([...w.rows('right').keys()], trace(w)).toEqual([]);
    expect(w.get('left', s), trace(w)).toBeUndefined();
  });

  it('crash between a create and its link (identity known, no pending entry): deleting the new record before restart recreates it (sim seeds 5, 243)', async () => {
    const w = make({ mode: 'external-id', policy: 'newest-wins' });
    const l = w.insert('left', row('ann', { code: 'E1' }));
    await w.pass({ full: true });
    w.insert('left', row('bob', { code: 'E2' }));
    // The engine inserts E2 on the right, then dies before recording the link.
    expect((await w.attempt({ crashWhen: crashBefore('store.commit', 'right.write') })).ok).toBe(false);
    const r2 = [...w.rows('right').entries()].find(([, r]) => r.code === 'E2')![0];
    // A user deletes that new right record while the engine is down.
    w.delete('right', r2);
    await w.pass();
    // A delete on the right propagates: E2 is gone on both sides, not made again.
    const codes = (side: 'left' | 'right') => [...w.rows(side).values()].map((r) => r.code).sort();
    expect(codes('right'), trace(w)).toEqual(['E1']);
    expect(codes('left'), trace(w)).toEqual(['E1']);
    void l;
  });

  it('crash between a create and its link (External ID): renaming the new record before restart duplicates the record on both sides (sweep seed 103)', async () => {
    const w = make({ mode: 'external-id', policy: 'newest-wins' });
    await w.pass({ full: true });
    w.insert('left', row('ann', { code: 'E1' }));
    expect((await w.attempt({ crashWhen: crashBefore('store.commit', 'right.write') })).ok).toBe(false);
    const r = [...w.rows('right').keys()][0]!;
    // The right user renames the record they see: a rename of a linked record, to be carried to the left.
    w.update('right', r, { code: 'E9' });
    await w.pass();
    const codes = (side: 'left' | 'right') => [...w.rows(side).values()].map((x) => x.code).sort();
    expect(codes('left'), trace(w)).toEqual(['E9']);
    expect(codes('right'), trace(w)).toEqual(['E9']);
  });

  it('crash between a create in N and its link: deleting the S source leaves the N record behind forever (sim seeds 78, 184, 202)', async () => {
    const w = make({ mode: 'sor-left', policy: 'system-of-record' });
    await w.pass();
    const s = w.insert('left', row('ann'));
    expect((await w.attempt({ crashWhen: crashBefore('store.commit', 'right.write') })).ok).toBe(false);
    expect(w.rows('right').size).toBe(1);
    w.delete('left', s);
    await w.pass();
    expect([...w.rows('right').values()], trace(w)).toEqual([]);
    // Nor does a full reconcile clean it up (it only quarantines it as an orphan).
    await w.pass({ full: true });
    expect([...w.rows('right').values()], trace(w)).toEqual([]);
  });

  it('pending-create recovery links with an empty base, so deleting the N source in the crash window recreates it from S (sim seed 201)', async () => {
    const w = make({ mode: 'sor-left', policy: 'system-of-record' });
    await w.pass();
    const n = w.insert('right', rrow('ann'));
    // The engine creates the S record (with its token), then dies before writing the key back.
    expect((await w.attempt({ crashWhen: crashBefore('right.write', 'left.write') })).ok).toBe(false);
    expect(w.rows('left').size).toBe(1);
    // The N user deletes the record they made.
    w.delete('right', n);
    await w.pass();
    // Nobody changed the S record (the engine made it from N): the delete must win.
    expect([...w.rows('right').values()], trace(w)).toEqual([]);
    expect([...w.rows('left').values()], trace(w)).toEqual([]);
  });

  it('pending-create recovery links with an empty base, so an edit made in the crash window loses to the policy (sweep seed 101)', async () => {
    // SOR = right, policy left-wins: the S record is made from N (left), the key written back, then a crash.
    const w = make({ mode: 'sor-right', policy: 'left-wins' });
    await w.pass();
    const n = w.insert('left', row('dee'));
    expect((await w.attempt({ crashWhen: crashBefore('store.commit', 'right.write') })).ok).toBe(false);
    const s = [...w.rows('right').keys()][0]!;
    // A user of the SOR edits the new record while the engine is down; nobody touches N.
    w.update('right', s, { full_name: 'ann' });
    await w.pass();
    // One side changed since the create: that change flows, it is no conflict.
    expect(w.get('right', s)!.full_name, trace(w)).toBe('ann');
    expect(w.get('left', n)!.name, trace(w)).toBe('ann');
  });

  it("newest-wins: a delete newer than the other side's update loses when the key's older update event falls in an earlier batch (sim seeds 26, 100)", async () => {
    const w = make({ mode: 'external-id', policy: 'newest-wins', batchSize: 1 });
    const l = w.insert('left', row('ann', { code: 'E1' }));
    await w.pass({ full: true });
    const r = [...w.rows('right').keys()][0]!;
    w.update('left', l, { name: 'bea' }); // t1, left
    w.update('right', r, { email: 'z@x' }); // t2, right
    w.delete('left', l); // t3, left: the newest change of all
    await w.pass();
    // Under newest-wins the later one wins: the delete (t3) is later than the update (t2).
    expect([...w.rows('right').values()], trace(w)).toEqual([]);
    expect([...w.rows('left').values()], trace(w)).toEqual([]);
  });

  it('a quarantined record that is then deleted keeps its quarantine entry forever, even after retry (sim seeds 15, 18, 24)', async () => {
    const w = make({ mode: 'sor-left', policy: 'system-of-record' });
    await w.pass();
    const s = w.insert('left', row('ann'));
    await w.pass({
      failRow: (table, op) =>
        table === 'R' && op.op === 'insert' ? 'CHECK constraint failed (injected)' : undefined,
    });
    expect((await w.store.quarantined('sim')).map((q) => q.recordKey)).toEqual([s]);
    // The user gives up on the record and deletes it: nothing is left to sync.
    w.delete('left', s);
    await w.pass();
    await w.retryAll();
    await w.pass();
    expect(await w.store.quarantined('sim'), trace(w)).toEqual([]);
  });

  it('retry --all then one run --once retries only batchSize held records per side (sim seeds 5, 261)', async () => {
    const w = make({ mode: 'sor-left', policy: 'system-of-record', batchSize: 2 });
    await w.pass();
    for (const name of ['a', 'b', 'c', 'd', 'e']) w.insert('left', row(name));
    await w.pass({ failRow: (table) => (table === 'R' ? 'CHECK constraint failed (injected)' : undefined) });
    expect(await w.store.countQuarantined('sim')).toBe(5);
    await w.retryAll();
    const r = await w.pass();
    // Every held record was put back in line; the one pass should have looked at all of them.
    expect(r.counts.created.right, trace(w)).toBe(5);
    expect(await w.store.countQuarantined('sim')).toBe(0);
  });

  it('two full passes that start in the same millisecond share a pass id: the second misses a delete (pass id is Date.now())', async () => {
    const w = make({ mode: 'sor-left', policy: 'system-of-record' });
    const a = w.insert('left', row('ann'));
    w.insert('left', row('bob'));
    await w.pass({ full: true }); // first sync: links made
    const now = Date.now();
    const spy = vi.spyOn(Date, 'now').mockReturnValue(now);
    try {
      await w.pass({ full: true }); // a reconcile: marks every link seen in pass `now`
      w.delete('left', a);
      // `tandem reconcile` right away (or a first pass, then a reconcile, in one process).
      await w.pass({ full: true });
    } finally {
      spy.mockRestore();
    }
    await w.pass();
    expect(
      [...w.rows('right').values()].map((r) => r.full_name),
      trace(w),
    ).toEqual(['bob']);
  });
});
