/**
 * SPEC §4.2, identity rows: creates on either side, adoption, orphans,
 * duplicates, and N's external_id edited or cleared — in both orientations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from './harness.js';
import {
  nView,
  ORIENTATIONS,
  QUIET,
  runClean,
  type SorOptions,
  type SorWorkspace,
  sorWorkspace,
  txt,
} from './sor-helpers.js';

describe.each(ORIENTATIONS)('SOR mode, system_of_record: %s — creates and identity', (sor) => {
  let sw: SorWorkspace;
  const open = (o: Partial<SorOptions> = {}) => {
    sw = sorWorkspace({ sor, ...o });
    return sw;
  };
  afterEach(() => sw?.cleanup());

  it('create in S → created in N with external_id = S key; a second pass writes nothing', () => {
    open();
    const a = sw.insertS({ id: 7, email: 'a@x', name: 'Ann', status: 'active' });
    const b = sw.insertS({ id: 42, email: 'b@x', name: 'Bob', status: 'inactive' });
    const first = runClean(sw);
    expect(first.created).toEqual({ s: 0, n: 2 });
    const n = sw.N();
    expect(
      n.map((r) => ({ app_id: r.app_id, email: r.email, full_name: r.full_name, state: r.state })),
    ).toEqual([
      { app_id: a, email: 'a@x', full_name: 'Ann', state: 'A' },
      { app_id: b, email: 'b@x', full_name: 'Bob', state: 'I' },
    ]);
    expect(sw.S()).toHaveLength(2);
    const second = runClean(sw);
    expect(second.created).toEqual(QUIET);
    expect(second.updated).toEqual(QUIET);
    expect(second.deleted).toEqual(QUIET);
    expect(sw.status().linked).toBe(2);
  });

  it('create in S after the first pass (change capture) → one N record, and nothing echoes back', () => {
    open();
    runClean(sw); // empty tables: installs capture
    const id = sw.insertS({ email: 'c@x', name: 'Cy', status: 'active' });
    expect(runClean(sw).created).toEqual({ s: 0, n: 1 });
    expect(sw.N().map((r) => [r.app_id, r.email])).toEqual([[id, 'c@x']]);
    const again = runClean(sw);
    expect([again.created, again.updated, again.deleted]).toEqual([QUIET, QUIET, QUIET]);
  });

  it('create in N with external_id empty → created in S, and the new S key is written back into N', () => {
    open();
    runClean(sw);
    const n1 = sw.insertN({ email: 'n1@x', full_name: 'Nina', state: 'I' });
    const n2 = sw.insertN({ email: 'n2@x', full_name: 'Ned', state: 'A' });
    const first = runClean(sw);
    expect(first.created).toEqual({ s: 2, n: 0 });
    const s = sw.S();
    expect(s.map((r) => ({ email: r.email, name: r.name, status: r.status }))).toEqual([
      { email: 'n1@x', name: 'Nina', status: 'inactive' },
      { email: 'n2@x', name: 'Ned', status: 'active' },
    ]);
    const byEmail = new Map(s.map((r) => [r.email, r.id]));
    const n = sw.N();
    expect(n).toHaveLength(2);
    expect(n.find((r) => r.id === n1)!.app_id).toBe(byEmail.get('n1@x'));
    expect(n.find((r) => r.id === n2)!.app_id).toBe(byEmail.get('n2@x'));
    const second = runClean(sw);
    expect([second.created, second.updated, second.deleted]).toEqual([QUIET, QUIET, QUIET]);
    expect(sw.S()).toHaveLength(2);
    expect(sw.status().linked).toBe(2);
  });

  it('trace shows where a record came from: a create in S and a create from N (with its write-back)', () => {
    // SPEC §3: trace is "the history of one record: each change seen, from which side,
    // what was written, why" — for a record born on either side.
    open();
    runClean(sw);
    const sid = sw.insertS({ email: 's@x', name: 'FromS', status: 'active' });
    const nid = sw.insertN({ email: 'n@x', full_name: 'FromN', state: 'A' });
    runClean(sw);
    const fromS = sw.trace(sid);
    expect(fromS.link).not.toBeNull();
    expect(
      fromS.history.some((h) => h.side === sw.sSide),
      JSON.stringify(fromS.history),
    ).toBe(true);
    const nBorn = sw.S().find((r) => r.email === 'n@x')!.id;
    const fromN = sw.trace(nBorn);
    expect(fromN.link).not.toBeNull();
    expect(txt(sor === 'left' ? fromN.link!.right_key : fromN.link!.left_key)).toBe(String(nid));
    expect(
      fromN.history.some((h) => h.side === sw.nSide),
      `no history entry for the create from N: ${JSON.stringify(fromN.history)}`,
    ).toBe(true);
  });

  it('create in N before the very first pass (full scan) → created in S with the key written back', () => {
    open();
    const n1 = sw.insertN({ email: 'early@x', full_name: 'Early', state: 'A' });
    runClean(sw);
    const s = sw.S();
    expect(s.map((r) => [r.email, r.name, r.status])).toEqual([['early@x', 'Early', 'active']]);
    expect(sw.N()).toEqual([expect.objectContaining({ id: n1, app_id: s[0]!.id })]);
    const again = runClean(sw);
    expect([again.created, again.updated, again.deleted]).toEqual([QUIET, QUIET, QUIET]);
  });

  it("create in N with external_id '' (empty text) counts as empty: created in S, key written back", () => {
    open({ nExternalIdType: 'TEXT' });
    runClean(sw);
    const n1 = sw.insertN({ app_id: '', email: 'e@x', full_name: 'Empty', state: 'A' });
    runClean(sw);
    const s = sw.S();
    expect(s.map((r) => r.email)).toEqual(['e@x']);
    expect(txt(sw.N().find((r) => r.id === n1)!.app_id)).toBe(String(s[0]!.id));
    expect(sw.errors()).toEqual([]);
  });

  it("S with its own external_id column: a create from N fills S's column with N's key", () => {
    open({ sExternalId: true });
    runClean(sw);
    const n1 = sw.insertN({ email: 'x@x', full_name: 'Xena', state: 'A' });
    runClean(sw);
    const s = sw.S();
    expect(s).toHaveLength(1);
    expect(s[0]!.crm_id).toBe(n1);
    expect(sw.N()[0]!.app_id).toBe(s[0]!.id);
    const again = runClean(sw);
    expect([again.created, again.updated, again.deleted]).toEqual([QUIET, QUIET, QUIET]);
  });

  it("S with its own external_id column: a create from S fills S's column with the new N key", () => {
    // SPEC §4.2: "S may have external_id too: it then holds N's native key".
    open({ sExternalId: true });
    const sid = sw.insertS({ email: 'y@x', name: 'Yann', status: 'active' });
    runClean(sw);
    const n = sw.N();
    expect(n).toHaveLength(1);
    expect(n[0]!.app_id).toBe(sid);
    expect(sw.S()[0]!.crm_id).toBe(n[0]!.id);
  });

  it('create in N with external_id = an existing, unlinked S key → adoption: linked, S wins conflicting fields', () => {
    open();
    runClean(sw);
    // Both appear between two passes; the N record already points at the S key.
    const sid = sw.insertS({ email: 's@x', name: 'Sam', status: 'active' });
    const nid = sw.insertN({ app_id: sid, email: 'other@x', full_name: 'Samuel', state: 'A' });
    const r = runClean(sw);
    expect(r.created).toEqual(QUIET); // adopted, not created
    expect(sw.S()).toEqual([
      expect.objectContaining({ id: sid, email: 's@x', name: 'Sam', status: 'active' }),
    ]);
    expect(sw.N()).toEqual([
      expect.objectContaining({ id: nid, app_id: sid, email: 's@x', full_name: 'Sam', state: 'A' }),
    ]);
    expect(sw.status().linked).toBe(1);
    const t = sw.trace(sid);
    expect(t.link).not.toBeNull();
    expect(txt(sor === 'left' ? t.link!.right_key : t.link!.left_key)).toBe(String(nid));
    // Linked for real: a later N edit flows to S.
    sw.updateN(nid, { full_name: 'Sammy' });
    runClean(sw);
    expect(sw.S()[0]!.name).toBe('Sammy');
  });

  it('adoption on the very first pass (records already on both sides)', () => {
    open();
    const sid = sw.insertS({ id: 5, email: 'five@x', name: 'Five', status: 'inactive' });
    sw.insertN({ app_id: 5, email: 'five@x', full_name: 'V', state: 'A' });
    runClean(sw);
    expect(sw.S()).toHaveLength(1);
    expect(sw.N().map((r) => [r.app_id, r.full_name, r.state])).toEqual([[sid, 'Five', 'I']]);
    const again = runClean(sw);
    expect([again.created, again.updated, again.deleted]).toEqual([QUIET, QUIET, QUIET]);
  });

  it('create in N with external_id = a key S does not have → orphan_external_id, exit 4, nothing created in S', () => {
    open();
    sw.insertS({ id: 1, email: 'one@x', name: 'One', status: 'active' });
    runClean(sw);
    const nid = sw.insertN({ app_id: 999, email: 'orphan@x', full_name: 'Orphan', state: 'A' });
    const r = sw.run();
    expect(r.code, r.res.stderr).toBe(4);
    expect(sw.S().map((x) => x.id)).toEqual([1]);
    const errs = sw.errors();
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ sync: 'customers', side: sw.nSide, reason: 'orphan_external_id' });
    expect(txt(errs[0]!.key)).toBe(String(nid));
    expect(txt(errs[0]!.identity)).toBe('999');
    expect(sw.N().find((x) => x.id === nid)!.app_id).toBe(999); // left as the user wrote it
    // Still held on the next pass (exit 4: records in quarantine, old ones included).
    expect(sw.run().code).toBe(4);
    expect(sw.S()).toHaveLength(1);
    // Clearing the external id makes it a plain N create.
    sw.updateN(nid, { app_id: null });
    runClean(sw);
    expect(sw.errors()).toEqual([]);
    const s = sw.S();
    expect(s.map((x) => x.email)).toEqual(['one@x', 'orphan@x']);
    expect(sw.N().find((x) => x.id === nid)!.app_id).toBe(s[1]!.id);
  });

  it('an orphan is adopted once S gets a record with that key', () => {
    open();
    runClean(sw);
    const nid = sw.insertN({ app_id: 500, email: 'late@x', full_name: 'Late', state: 'I' });
    expect(sw.run().code).toBe(4);
    expect(sw.status().quarantined).toBe(1);
    sw.insertS({ id: 500, email: 'late@s', name: 'Late S', status: 'active' });
    runClean(sw);
    expect(sw.errors()).toEqual([]);
    expect(sw.S()).toHaveLength(1);
    expect(sw.N()).toEqual([
      expect.objectContaining({ id: nid, app_id: 500, email: 'late@s', full_name: 'Late S', state: 'A' }),
    ]);
    expect(sw.status()).toMatchObject({ linked: 1, quarantined: 0 });
  });

  it('a running `tandem run` picks up creates on both sides; SIGTERM stops it with exit 0', async () => {
    open();
    const run = sw.ws.startRun('--interval', '50');
    try {
      const sid = sw.insertS({ email: 'live-s@x', name: 'Live S', status: 'active' });
      const nid = sw.insertN({ email: 'live-n@x', full_name: 'Live N', state: 'I' });
      await eventually(
        () => sw.N().some((r) => r.app_id === sid) && sw.N().find((r) => r.id === nid)!.app_id !== null,
        15_000,
      );
    } finally {
      const res = await run.stop();
      expect(res.code, res.stderr).toBe(0);
    }
    expect(sw.S().map((r) => r.email)).toEqual(['live-s@x', 'live-n@x']);
    expect(sw.N().find((r) => r.email === 'live-n@x')!.app_id).toBe(sw.S()[1]!.id);
    const again = runClean(sw);
    expect([again.created, again.updated, again.deleted]).toEqual([QUIET, QUIET, QUIET]);
  });

  it('two N records with one external_id → the linked one stays linked, the other duplicate_external_id', () => {
    open({ uniqueExternalId: false });
    const sid = sw.insertS({ email: 'd@x', name: 'Dee', status: 'active' });
    runClean(sw);
    const linked = sw.N()[0]!.id;
    const dup = sw.insertN({ app_id: sid, email: 'dup@x', full_name: 'Dupe', state: 'I' });
    const r = sw.run();
    expect(r.code, r.res.stderr).toBe(4);
    const errs = sw.errors();
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ side: sw.nSide, reason: 'duplicate_external_id' });
    expect(txt(errs[0]!.key)).toBe(String(dup));
    expect(txt(errs[0]!.identity)).toBe(String(sid));
    // The S record kept its values (the duplicate did not win), nothing was created in S.
    expect(sw.S()).toEqual([
      expect.objectContaining({ id: sid, email: 'd@x', name: 'Dee', status: 'active' }),
    ]);
    const t = sw.trace(sid);
    expect(txt(sor === 'left' ? t.link?.right_key : t.link?.left_key)).toBe(String(linked));
    expect(sw.status().linked).toBe(1);
    // The linked pair still syncs, and the duplicate is not touched.
    sw.updateS(sid, { name: 'Deedee' });
    expect(sw.run().code).toBe(4);
    const n = sw.N();
    expect(n.find((x) => x.id === linked)!.full_name).toBe('Deedee');
    expect(n.find((x) => x.id === dup)).toMatchObject({ email: 'dup@x', full_name: 'Dupe', app_id: sid });
    // Fixing the duplicate (clearing its external id) makes it a new S record.
    sw.updateN(dup, { app_id: null });
    runClean(sw);
    expect(sw.errors()).toEqual([]);
    expect(sw.S().map((x) => x.email)).toEqual(['d@x', 'dup@x']);
  });

  it('deleting a quarantined N record lifts its quarantine (orphan and duplicate)', () => {
    // SPEC §5.5 lists in `errors` every record that is not synced; a record that no longer
    // exists is not one of them, and must not keep `run` at exit 4 forever.
    open({ uniqueExternalId: false });
    const sid = sw.insertS({ email: 'd@x', name: 'Dee', status: 'active' });
    runClean(sw);
    const orphan = sw.insertN({ app_id: 999, email: 'orphan@x', full_name: 'O', state: 'A' });
    const dup = sw.insertN({ app_id: sid, email: 'dup@x', full_name: 'D', state: 'A' });
    expect(sw.run().code).toBe(4);
    expect(
      sw
        .errors()
        .map((e) => e.reason)
        .sort(),
    ).toEqual(['duplicate_external_id', 'orphan_external_id']);
    sw.deleteN(orphan);
    sw.deleteN(dup);
    const r = sw.run();
    expect(r.code, JSON.stringify(sw.errors())).toBe(0);
    expect(sw.errors()).toEqual([]);
    expect(sw.S()).toHaveLength(1);
    expect(sw.N()).toHaveLength(1);
  });

  it('two new N records pointing at one unlinked S key: neither is adopted, both duplicate_external_id', () => {
    // SPEC is silent on which of two unlinked claimants wins; neither is what an operator expects.
    open({ uniqueExternalId: false });
    runClean(sw);
    const sid = sw.insertS({ email: 'u@x', name: 'U', status: 'active' });
    const a = sw.insertN({ app_id: sid, email: 'a@x', full_name: 'A', state: 'A' });
    const b = sw.insertN({ app_id: sid, email: 'b@x', full_name: 'B', state: 'A' });
    const r = sw.run();
    expect(r.code).toBe(4);
    const errs = sw.errors();
    expect(errs.map((e) => [e.reason, e.side, txt(e.key)]).sort()).toEqual(
      [
        ['duplicate_external_id', sw.nSide, String(a)],
        ['duplicate_external_id', sw.nSide, String(b)],
      ].sort(),
    );
    expect(sw.S()).toHaveLength(1);
    expect(sw.N().map((x) => x.email)).toEqual(['a@x', 'b@x']);
  });

  describe("N's external_id edited or cleared on a linked record", () => {
    const setup = (o: Partial<SorOptions> = {}) => {
      open(o);
      const sid = sw.insertS({ email: 'k@x', name: 'Kay', status: 'active' });
      const other = sw.insertS({ email: 'o@x', name: 'Otto', status: 'inactive' });
      runClean(sw);
      const nid = sw.N().find((r) => r.email === 'k@x')!.id;
      return { sid, other, nid };
    };
    const expectRestored = (sid: number, nid: number, found: string | null) => {
      expect(sw.N().find((r) => r.id === nid)!.app_id).toBe(sid);
      expect(sw.errors()).toEqual([]);
      const t = sw.trace(sid);
      const entry = t.history.find((h) => h.side === sw.nSide && /external.?id/i.test(h.action));
      expect(entry, JSON.stringify(t.history)).toBeDefined();
      if (found !== null) expect(JSON.stringify(entry)).toContain(found);
      // S untouched: no new record, no delete.
      expect(sw.S().map((r) => r.email)).toEqual(['k@x', 'o@x']);
      expect(sw.N()).toHaveLength(2);
      const again = runClean(sw);
      expect([again.created, again.updated, again.deleted]).toEqual([QUIET, QUIET, QUIET]);
    };

    it('cleared → the linked S key is written back, and trace shows it', () => {
      const { sid, nid } = setup();
      sw.updateN(nid, { app_id: null });
      const r = runClean(sw);
      expect(r.created).toEqual(QUIET);
      expectRestored(sid, nid, null);
    });

    it('edited to a key S does not have → written back (not an orphan), and trace shows it', () => {
      const { sid, nid } = setup();
      sw.updateN(nid, { app_id: 777 });
      runClean(sw);
      expectRestored(sid, nid, '777');
    });

    it('edited to another linked S key → written back; neither record is quarantined', () => {
      // No unique index on N.app_id here, so the user can make the edit at all.
      const { sid, other, nid } = setup({ uniqueExternalId: false });
      const otherN = sw.N().find((r) => r.app_id === other)!.id;
      sw.updateN(nid, { app_id: other });
      runClean(sw);
      expect(sw.N().find((r) => r.id === otherN)!.app_id).toBe(other);
      expectRestored(sid, nid, String(other));
    });

    it('edited together with a field change → the field flows and the key is restored', () => {
      const { sid, nid } = setup();
      sw.updateN(nid, { app_id: 555, full_name: 'Kay B' });
      runClean(sw);
      expect(sw.S().find((r) => r.id === sid)!.name).toBe('Kay B');
      expectRestored(sid, nid, '555');
    });
  });

  it('fields of created records match the mapping on both sides (status/state map)', () => {
    open();
    const ids = [
      sw.insertS({ email: 'p@x', name: 'P', status: 'active' }),
      sw.insertS({ email: 'q@x', name: null, status: null }),
    ];
    runClean(sw);
    const s = sw.S();
    const n = sw.N();
    for (const id of ids) {
      const srow = s.find((r) => r.id === id)!;
      const nrow = n.find((r) => r.app_id === id)!;
      expect({ email: nrow.email, full_name: nrow.full_name, state: nrow.state }).toEqual(nView(srow));
    }
  });
});
