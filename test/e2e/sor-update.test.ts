/**
 * SPEC §4.2 "update in either" and "delete in either", §4.1 field-level merge,
 * no echoes, and a delete racing an update under system-of-record — both orientations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { nView, ORIENTATIONS, QUIET, runClean, type SorWorkspace, sorWorkspace, txt } from './sor-helpers.js';

describe.each(ORIENTATIONS)('SOR mode, system_of_record: %s — updates and deletes', (sor) => {
  let sw: SorWorkspace;
  afterEach(() => sw?.cleanup());

  /** Two linked pairs, in step. */
  const linkedPair = () => {
    sw = sorWorkspace({ sor });
    const sid = sw.insertS({ email: 'a@x', name: 'Ann', status: 'active' });
    const sid2 = sw.insertS({ email: 'b@x', name: 'Bob', status: 'active' });
    runClean(sw);
    const nid = sw.N().find((r) => r.app_id === sid)!.id;
    const nid2 = sw.N().find((r) => r.app_id === sid2)!.id;
    return { sid, nid, sid2, nid2 };
  };
  const expectQuiet = () => {
    const r = runClean(sw);
    expect([r.created, r.updated, r.deleted]).toEqual([QUIET, QUIET, QUIET]);
  };

  it('an update in S flows to N (one write, no echo), the other record untouched', () => {
    const { sid, nid, nid2 } = linkedPair();
    const before2 = sw.N().find((r) => r.id === nid2);
    sw.updateS(sid, { name: 'Anne', status: 'inactive' });
    const r = runClean(sw);
    expect(r.updated).toEqual({ s: 0, n: 1 });
    expect(sw.N().find((x) => x.id === nid)).toMatchObject({ app_id: sid, full_name: 'Anne', state: 'I' });
    expect(sw.N().find((x) => x.id === nid2)).toEqual(before2);
    expectQuiet();
  });

  it('an update in N flows to S (one write, no echo)', () => {
    const { sid, nid } = linkedPair();
    sw.updateN(nid, { email: 'ann@new', state: 'I' });
    const r = runClean(sw);
    expect(r.updated).toEqual({ s: 1, n: 0 });
    expect(sw.S().find((x) => x.id === sid)).toMatchObject({
      email: 'ann@new',
      name: 'Ann',
      status: 'inactive',
    });
    expectQuiet();
  });

  it('field-level merge: different fields edited on both sides both survive', () => {
    const { sid, nid } = linkedPair();
    sw.updateS(sid, { name: 'Ann S' });
    sw.updateN(nid, { email: 'ann@n', state: 'I' });
    const r = runClean(sw);
    expect(r.conflicts).toBe(0);
    const s = sw.S().find((x) => x.id === sid)!;
    expect(s).toMatchObject({ email: 'ann@n', name: 'Ann S', status: 'inactive' });
    expect(sw.N().find((x) => x.id === nid)).toMatchObject({ app_id: sid, ...nView(s) });
    expectQuiet();
  });

  it('the same value set on both sides is no conflict and needs no write', () => {
    const { sid, nid } = linkedPair();
    sw.updateS(sid, { name: 'Same' });
    sw.updateN(nid, { full_name: 'Same' });
    const r = runClean(sw);
    expect(r.conflicts).toBe(0);
    expect(r.updated).toEqual(QUIET);
    expect(sw.S().find((x) => x.id === sid)!.name).toBe('Same');
  });

  it('an edit reverted before the next pass writes nothing (changes are states, not events)', () => {
    const { sid, nid } = linkedPair();
    sw.updateN(nid, { full_name: 'Temp' });
    sw.updateN(nid, { full_name: 'Ann' });
    expectQuiet();
    expect(sw.S().find((x) => x.id === sid)!.name).toBe('Ann');
  });

  it('several successive edits between passes: the last state flows', () => {
    const { sid, nid } = linkedPair();
    for (const name of ['A1', 'A2', 'A3']) sw.updateS(sid, { name });
    runClean(sw);
    expect(sw.N().find((x) => x.id === nid)!.full_name).toBe('A3');
    sw.updateN(nid, { full_name: 'B1' });
    runClean(sw);
    sw.updateS(sid, { name: 'C1' });
    runClean(sw);
    expect(sw.S().find((x) => x.id === sid)!.name).toBe('C1');
    expect(sw.N().find((x) => x.id === nid)!.full_name).toBe('C1');
  });

  it('a delete in S deletes the matching N record (by S key), the other pair stays', () => {
    const { sid, nid, sid2, nid2 } = linkedPair();
    sw.deleteS(sid);
    const r = runClean(sw);
    expect(r.deleted).toEqual({ s: 0, n: 1 });
    expect(sw.N().map((x) => x.id)).toEqual([nid2]);
    expect(sw.S().map((x) => x.id)).toEqual([sid2]);
    expect(sw.N().some((x) => x.id === nid)).toBe(false);
    expect(sw.status().linked).toBe(1);
    expectQuiet();
  });

  it('a delete in N deletes the matching S record (by S key), the other pair stays', () => {
    const { sid, nid, sid2, nid2 } = linkedPair();
    sw.deleteN(nid);
    const r = runClean(sw);
    expect(r.deleted).toEqual({ s: 1, n: 0 });
    expect(sw.S().map((x) => x.id)).toEqual([sid2]);
    expect(sw.N().map((x) => x.id)).toEqual([nid2]);
    expect(sw.S().some((x) => x.id === sid)).toBe(false);
    expect(sw.status().linked).toBe(1);
    expectQuiet();
  });

  it('deleting both records of a pair between passes writes nothing and unlinks', () => {
    const { sid, nid } = linkedPair();
    sw.deleteS(sid);
    sw.deleteN(nid);
    const r = runClean(sw);
    expect([r.created, r.deleted]).toEqual([QUIET, QUIET]);
    expect(sw.status().linked).toBe(1);
    expect(sw.S()).toHaveLength(1);
    expect(sw.N()).toHaveLength(1);
  });

  it('a delete in N matches by S key, not by N key: N keys that equal other S keys do not matter', () => {
    sw = sorWorkspace({ sor });
    // N's ids are made to collide with S's: N id 2 holds S key 1, N id 1 holds S key 2.
    sw.insertS({ id: 1, email: 'one@x', name: 'One', status: 'active' });
    sw.insertS({ id: 2, email: 'two@x', name: 'Two', status: 'active' });
    sw.insertN({ id: 2, app_id: 1, email: 'one@x', full_name: 'One', state: 'A' });
    sw.insertN({ id: 1, app_id: 2, email: 'two@x', full_name: 'Two', state: 'A' });
    runClean(sw);
    sw.deleteN(2); // holds S key 1
    runClean(sw);
    expect(sw.S().map((x) => x.id)).toEqual([2]);
    expect(sw.N().map((x) => [x.id, x.app_id])).toEqual([[1, 2]]);
  });

  it('delete racing update: S deletes while N updates → the SOR delete wins, N record deleted', () => {
    const { sid, nid, sid2 } = linkedPair();
    sw.deleteS(sid);
    sw.updateN(nid, { full_name: 'Edited in N' });
    const r = runClean(sw);
    expect(r.created).toEqual(QUIET);
    expect(sw.S().map((x) => x.id)).toEqual([sid2]);
    expect(sw.N().some((x) => x.id === nid)).toBe(false);
    expect(sw.N()).toHaveLength(1);
    expectQuiet();
  });

  it('delete racing update: N deletes while S updates → the SOR update wins, N record recreated', () => {
    const { sid, nid } = linkedPair();
    sw.deleteN(nid);
    sw.updateS(sid, { name: 'Edited in S', status: 'inactive' });
    const r = runClean(sw);
    expect(r.created).toEqual({ s: 0, n: 1 });
    expect(r.deleted).toEqual(QUIET);
    const s = sw.S().find((x) => x.id === sid)!;
    expect(s).toMatchObject({ name: 'Edited in S', status: 'inactive' });
    const recreated = sw.N().filter((x) => txt(x.app_id) === String(sid));
    expect(recreated).toHaveLength(1);
    expect(recreated[0]).toMatchObject(nView(s));
    expect(recreated[0]!.id).not.toBe(nid);
    expect(sw.status().linked).toBe(2);
    expectQuiet();
    // The recreated record is linked: edits on it flow back.
    sw.updateN(recreated[0]!.id, { full_name: 'Back from N' });
    runClean(sw);
    expect(sw.S().find((x) => x.id === sid)!.name).toBe('Back from N');
  });

  it('a new N record pointing at an S key that was deleted → orphan_external_id, S is not resurrected', () => {
    const { sid, nid } = linkedPair();
    sw.deleteN(nid);
    runClean(sw); // S record deleted too
    expect(sw.S().some((x) => x.id === sid)).toBe(false);
    // The user re-creates it in N pointing at the (now gone) S key: an orphan, nothing created.
    const again = sw.insertN({ app_id: sid, email: 'a@x', full_name: 'Ann', state: 'A' });
    expect(sw.run().code).toBe(4);
    const errs = sw.errors();
    expect(errs.map((e) => [e.reason, txt(e.key)])).toEqual([['orphan_external_id', String(again)]]);
    expect(sw.S().some((x) => x.id === sid)).toBe(false);
  });
});
