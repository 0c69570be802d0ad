/**
 * SPEC §2 field options in SOR mode: `values` maps (both ways, unmapped values
 * pass unchanged), `direction`, `null: skip`, `default` — both orientations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_FIELDS,
  type FieldSpec,
  ORIENTATIONS,
  QUIET,
  runClean,
  type SorWorkspace,
  sorWorkspace,
} from './sor-helpers.js';

describe.each(ORIENTATIONS)('SOR mode, system_of_record: %s — field options', (sor) => {
  let sw: SorWorkspace;
  afterEach(() => sw?.cleanup());
  const leftIsS = sor === 'left';
  const expectQuiet = () => {
    const r = runClean(sw);
    expect([r.created, r.updated, r.deleted]).toEqual([QUIET, QUIET, QUIET]);
  };

  it('values: {active: A, inactive: I} maps S → N on create and update, and N → S back', () => {
    sw = sorWorkspace({ sor });
    const a = sw.insertS({ email: 'a@x', name: 'A', status: 'active' });
    const b = sw.insertS({ email: 'b@x', name: 'B', status: 'inactive' });
    runClean(sw);
    const stateOf = (sid: number) => sw.N().find((r) => r.app_id === sid)!.state;
    expect([stateOf(a), stateOf(b)]).toEqual(['A', 'I']);
    sw.updateS(a, { status: 'inactive' });
    runClean(sw);
    expect(stateOf(a)).toBe('I');
    const nb = sw.N().find((r) => r.app_id === b)!.id;
    sw.updateN(nb, { state: 'A' });
    runClean(sw);
    expect(sw.S().find((r) => r.id === b)!.status).toBe('active');
    // An N-born record maps N → S on create.
    sw.insertN({ email: 'c@x', full_name: 'C', state: 'I' });
    runClean(sw);
    expect(sw.S().find((r) => r.email === 'c@x')!.status).toBe('inactive');
    expectQuiet();
  });

  it('values: a value not in the map passes unchanged, both ways, and is then in step', () => {
    sw = sorWorkspace({ sor });
    const a = sw.insertS({ email: 'a@x', name: 'A', status: 'pending' });
    runClean(sw);
    const na = sw.N()[0]!;
    expect(na.state).toBe('pending');
    expectQuiet();
    sw.updateN(na.id, { state: 'X' });
    runClean(sw);
    expect(sw.S().find((r) => r.id === a)!.status).toBe('X');
    expectQuiet();
  });

  it('values: a null status stays null on both sides', () => {
    sw = sorWorkspace({ sor });
    sw.insertS({ email: 'a@x', name: 'A', status: null });
    runClean(sw);
    expect(sw.N()[0]!.state).toBeNull();
    expectQuiet();
  });

  describe('direction: left-to-right (notes)', () => {
    const fields: FieldSpec[] = [...DEFAULT_FIELDS, { s: 'notes', n: 'notes', direction: 'left-to-right' }];
    const setup = () => {
      sw = sorWorkspace({ sor, fields });
      const sid = sw.insertS({ email: 'a@x', name: 'A', status: 'active', notes: 'from S' });
      runClean(sw);
      const nid = sw.N()[0]!.id;
      return { sid, nid };
    };
    const notes = (sid: number, nid: number) => ({
      s: sw.S().find((r) => r.id === sid)!.notes,
      n: sw.N().find((r) => r.id === nid)!.notes,
    });

    it('a create from S carries notes only when S is the left side', () => {
      const { sid, nid } = setup();
      expect(notes(sid, nid)).toEqual({ s: 'from S', n: leftIsS ? 'from S' : null });
    });

    it("the left side's edit flows to the right", () => {
      const { sid, nid } = setup();
      if (leftIsS) sw.updateS(sid, { notes: 'left edit' });
      else sw.updateN(nid, { notes: 'left edit' });
      runClean(sw);
      expect(notes(sid, nid)).toEqual({ s: 'left edit', n: 'left edit' });
      expectQuiet();
    });

    it("the right side's edit never reaches the left (the left value is kept on the left)", () => {
      const { sid, nid } = setup();
      const leftBefore = leftIsS ? notes(sid, nid).s : notes(sid, nid).n;
      if (leftIsS) sw.updateN(nid, { notes: 'right edit' });
      else sw.updateS(sid, { notes: 'right edit' });
      runClean(sw);
      const after = notes(sid, nid);
      const [leftAfter, rightAfter] = leftIsS ? [after.s, after.n] : [after.n, after.s];
      expect(leftAfter).toBe(leftBefore);
      // SPEC §5.1: after the pass every mapped field is in step, so the one-way field
      // is put back to what the left side holds.
      expect(rightAfter).toBe(leftBefore);
      expectQuiet();
    });

    it('a create from the right side does not carry notes to the left', () => {
      setup();
      if (leftIsS) {
        sw.insertN({ email: 'n@x', full_name: 'N', state: 'A', notes: 'n notes' });
        runClean(sw);
        expect(sw.S().find((r) => r.email === 'n@x')!.notes).toBeNull();
      } else {
        sw.insertS({ email: 's@x', name: 'S', status: 'active', notes: 's notes' });
        runClean(sw);
        expect(sw.N().find((r) => r.email === 's@x')!.notes).toBeNull();
      }
    });
  });

  describe('null: skip (name ↔ full_name)', () => {
    const fields: FieldSpec[] = [
      { s: 'email', n: 'email' },
      { s: 'name', n: 'full_name', null: 'skip' },
      { s: 'status', n: 'state', values: { active: 'A', inactive: 'I' } },
    ];
    const setup = () => {
      sw = sorWorkspace({ sor, fields });
      const sid = sw.insertS({ email: 'a@x', name: 'Ann', status: 'active' });
      runClean(sw);
      return { sid, nid: sw.N()[0]!.id };
    };

    it('a null set in S does not overwrite N, a later N value flows back', () => {
      const { sid, nid } = setup();
      sw.updateS(sid, { name: null });
      runClean(sw);
      expect(sw.N()[0]!.full_name).toBe('Ann');
      expect(sw.S()[0]!.name).toBeNull();
      expectQuiet();
      sw.updateN(nid, { full_name: 'Anna' });
      runClean(sw);
      expect(sw.S()[0]!.name).toBe('Anna');
    });

    it('a null set in N does not overwrite S', () => {
      const { sid, nid } = setup();
      sw.updateN(nid, { full_name: null });
      runClean(sw);
      expect(sw.S().find((r) => r.id === sid)!.name).toBe('Ann');
      expectQuiet();
    });

    it('a non-null edit still flows', () => {
      const { sid, nid } = setup();
      sw.updateS(sid, { name: 'Annie' });
      runClean(sw);
      expect(sw.N().find((r) => r.id === nid)!.full_name).toBe('Annie');
    });

    it('without null: skip (clear, the default) a null does overwrite', () => {
      sw = sorWorkspace({ sor });
      const sid = sw.insertS({ email: 'a@x', name: 'Ann', status: 'active' });
      runClean(sw);
      sw.updateS(sid, { name: null });
      runClean(sw);
      expect(sw.N()[0]!.full_name).toBeNull();
    });
  });

  describe('default', () => {
    const fields: FieldSpec[] = [
      { s: 'email', n: 'email' },
      { s: 'name', n: 'full_name', default: { n: '(no name)', s: 'Unnamed' } },
      { s: 'status', n: 'state', values: { active: 'A', inactive: 'I' } },
    ];

    it('written to N when S has null (create and update), and the pair is then in step', () => {
      sw = sorWorkspace({ sor, fields });
      const sid = sw.insertS({ email: 'a@x', name: null, status: 'active' });
      const named = sw.insertS({ email: 'b@x', name: 'Bo', status: 'active' });
      runClean(sw);
      expect(sw.N().find((r) => r.app_id === sid)!.full_name).toBe('(no name)');
      expect(sw.N().find((r) => r.app_id === named)!.full_name).toBe('Bo');
      expect(sw.S().find((r) => r.id === sid)!.name).toBeNull(); // the source is not touched
      expectQuiet();
      sw.updateS(named, { name: null });
      runClean(sw);
      expect(sw.N().find((r) => r.app_id === named)!.full_name).toBe('(no name)');
      expectQuiet();
    });

    it('written to S when N has null (create from N)', () => {
      sw = sorWorkspace({ sor, fields });
      runClean(sw);
      sw.insertN({ email: 'n@x', full_name: null, state: 'A' });
      runClean(sw);
      expect(sw.S()[0]!.name).toBe('Unnamed');
      expect(sw.N()[0]!.full_name).toBeNull();
      expectQuiet();
    });

    it('lets a create from S land in an N column that is NOT NULL', () => {
      sw = sorWorkspace({ sor, fields, nNameType: 'TEXT NOT NULL' });
      sw.insertS({ email: 'a@x', name: null, status: 'active' });
      runClean(sw);
      expect(sw.N().map((r) => r.full_name)).toEqual(['(no name)']);
      expect(sw.errors()).toEqual([]);
    });
  });
});
