/**
 * SPEC §4.1 conflicts, in SOR mode: a field changed on both sides since the
 * base, to different values, is settled per field by the policy — and every
 * conflict is visible in `trace`. Both orientations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ORIENTATIONS,
  QUIET,
  runClean,
  type SorOptions,
  type SorWorkspace,
  sorWorkspace,
} from './sor-helpers.js';

describe.each(ORIENTATIONS)('SOR mode, system_of_record: %s — conflicts', (sor) => {
  let sw: SorWorkspace;
  afterEach(() => sw?.cleanup());

  /** One linked pair, then the name edited on both sides to different values. */
  const conflict = (o: Partial<SorOptions> = {}) => {
    sw = sorWorkspace({ sor, ...o });
    const sid = sw.insertS({ email: 'a@x', name: 'Ann', status: 'active' });
    runClean(sw);
    const nid = sw.N()[0]!.id;
    return { sid, nid };
  };
  const names = (sid: number, nid: number) => ({
    s: sw.S().find((r) => r.id === sid)!.name,
    n: sw.N().find((r) => r.id === nid)!.full_name,
  });
  const expectQuiet = () => {
    const r = runClean(sw);
    expect([r.created, r.updated, r.deleted]).toEqual([QUIET, QUIET, QUIET]);
  };
  const leftIsS = sor === 'left';

  it('system-of-record (the default): the SOR value wins, and trace records the conflict', () => {
    const { sid, nid } = conflict();
    sw.updateS(sid, { name: 'From S' });
    sw.updateN(nid, { full_name: 'From N', email: 'n@x' }); // email: changed on N only
    const r = runClean(sw);
    expect(r.conflicts).toBe(1);
    expect(names(sid, nid)).toEqual({ s: 'From S', n: 'From S' });
    expect(sw.S()[0]!.email).toBe('n@x'); // the non-conflicting field still merged
    const t = sw.trace(sid);
    const c = t.history.find((h) => h.action === 'conflict');
    expect(c, JSON.stringify(t.history)).toBeDefined();
    expect(JSON.stringify(c)).toContain('From S');
    expect(JSON.stringify(c)).toContain('From N');
    expectQuiet();
  });

  it('system-of-record written out explicitly behaves the same', () => {
    const { sid, nid } = conflict({ conflicts: 'system-of-record' });
    sw.updateS(sid, { name: 'From S' });
    sw.updateN(nid, { full_name: 'From N' });
    runClean(sw);
    expect(names(sid, nid)).toEqual({ s: 'From S', n: 'From S' });
  });

  it('left-wins: the left side value wins whichever side is the SOR', () => {
    const { sid, nid } = conflict({ conflicts: 'left-wins' });
    sw.updateS(sid, { name: 'From S' });
    sw.updateN(nid, { full_name: 'From N' });
    const r = runClean(sw);
    expect(r.conflicts).toBe(1);
    const want = leftIsS ? 'From S' : 'From N';
    expect(names(sid, nid)).toEqual({ s: want, n: want });
    expectQuiet();
  });

  it('right-wins: the right side value wins whichever side is the SOR', () => {
    const { sid, nid } = conflict({ conflicts: 'right-wins' });
    sw.updateS(sid, { name: 'From S' });
    sw.updateN(nid, { full_name: 'From N' });
    runClean(sw);
    const want = leftIsS ? 'From N' : 'From S';
    expect(names(sid, nid)).toEqual({ s: want, n: want });
    expectQuiet();
  });

  it('newest-wins with updated_at columns: the later N change wins', () => {
    const { sid, nid } = conflict({ conflicts: 'newest-wins', updatedAt: true });
    sw.updateS(sid, { name: 'From S', updated_at: '2031-01-01T10:00:00Z' });
    sw.updateN(nid, { full_name: 'From N', updated_at: '2031-01-01T10:00:05Z' });
    runClean(sw);
    expect(names(sid, nid)).toEqual({ s: 'From N', n: 'From N' });
    expectQuiet();
  });

  it('newest-wins with updated_at columns: the later S change wins (offsets compared as instants)', () => {
    const { sid, nid } = conflict({ conflicts: 'newest-wins', updatedAt: true });
    // 12:00+02:00 is 10:00Z: later than N's 09:30Z though its text sorts lower.
    sw.updateS(sid, { name: 'From S', updated_at: '2031-01-01T12:00:00+02:00' });
    sw.updateN(nid, { full_name: 'From N', updated_at: '2031-01-01T09:30:00Z' });
    runClean(sw);
    expect(names(sid, nid)).toEqual({ s: 'From S', n: 'From S' });
    expectQuiet();
  });

  it('newest-wins, different fields: each side keeps its own edit (no conflict at all)', () => {
    const { sid, nid } = conflict({ conflicts: 'newest-wins', updatedAt: true });
    sw.updateS(sid, { name: 'From S', updated_at: '2031-01-01T10:00:00Z' });
    sw.updateN(nid, { state: 'I', updated_at: '2031-01-02T10:00:00Z' });
    const r = runClean(sw);
    expect(r.conflicts).toBe(0);
    expect(sw.S()[0]).toMatchObject({ name: 'From S', status: 'inactive' });
    expect(sw.N()[0]).toMatchObject({ full_name: 'From S', state: 'I' });
  });

  describe('manual', () => {
    const held = () => {
      const ids = conflict({ conflicts: 'manual' });
      sw.updateS(ids.sid, { name: 'From S' });
      sw.updateN(ids.nid, { full_name: 'From N' });
      const r = sw.run();
      expect(r.code, r.res.stderr).toBe(4);
      // Held: neither side is written.
      expect(names(ids.sid, ids.nid)).toEqual({ s: 'From S', n: 'From N' });
      const errs = sw.errors();
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({ sync: 'customers', reason: 'conflict' });
      expect(String(errs[0]!.identity)).toBe(String(ids.sid));
      // Both values are shown.
      const shown = JSON.stringify(errs[0]);
      expect(shown).toContain('From S');
      expect(shown).toContain('From N');
      // Still held on the next pass, still written nowhere.
      expect(sw.run().code).toBe(4);
      expect(names(ids.sid, ids.nid)).toEqual({ s: 'From S', n: 'From N' });
      return ids;
    };

    it('held: exit 4, errors shows reason conflict and both values; edit N + retry --all → N value wins', () => {
      const { sid, nid } = held();
      sw.updateN(nid, { full_name: 'Agreed' });
      expect(sw.ws.tandem('retry', '--all').code).toBe(0);
      runClean(sw);
      expect(names(sid, nid)).toEqual({ s: 'Agreed', n: 'Agreed' });
      expect(sw.errors()).toEqual([]);
      expectQuiet();
    });

    it('held: edit S + retry --all → S value wins, and the record is in step', () => {
      const { sid, nid } = held();
      sw.updateS(sid, { name: 'Agreed in S' });
      expect(sw.ws.tandem('retry', '--all').code).toBe(0);
      runClean(sw);
      expect(names(sid, nid)).toEqual({ s: 'Agreed in S', n: 'Agreed in S' });
      expect(sw.errors()).toEqual([]);
      expectQuiet();
      // In step for real: later edits flow normally.
      sw.updateN(nid, { full_name: 'Later' });
      runClean(sw);
      expect(names(sid, nid)).toEqual({ s: 'Later', n: 'Later' });
    });

    it('held: retry by id (from errors --json) also works', () => {
      const { sid, nid } = held();
      const id = sw.errors()[0]!.id;
      sw.updateN(nid, { full_name: 'By id' });
      expect(sw.ws.tandem('retry', String(id)).code).toBe(0);
      runClean(sw);
      expect(names(sid, nid)).toEqual({ s: 'By id', n: 'By id' });
      expect(sw.errors()).toEqual([]);
    });

    it('held record: edits on the other fields are not written while it is held', () => {
      const { sid, nid } = held();
      sw.updateN(nid, { email: 'changed@n' });
      expect(sw.run().code).toBe(4);
      expect(sw.S().find((r) => r.id === sid)!.email).toBe('a@x');
    });

    it('an edit without retry leaves it held (exit 4)', () => {
      const { sid, nid } = held();
      sw.updateN(nid, { full_name: 'Agreed' });
      expect(sw.run().code).toBe(4);
      expect(names(sid, nid)).toEqual({ s: 'From S', n: 'Agreed' });
      expect(sw.errors().map((e) => e.reason)).toEqual(['conflict']);
    });
  });
});
