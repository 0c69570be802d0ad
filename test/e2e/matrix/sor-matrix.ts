/**
 * SPEC §4.2 (System of Record mode), every row, through the real CLI, with
 * PostgreSQL on one side or both, in both capture modes (cdc, poll), the
 * System of Record on PostgreSQL and on SQLite.
 *
 *   S = `customers` (id, email, name)           — the System of Record
 *   N = `contacts`  (id, app_id, email, full_name) — app_id holds S's key
 *
 * The change under test always comes through change capture (a pass has run
 * before it: over empty tables, or the one that linked the records), its pass
 * is checked for exactly the writes it should make, and each test ends with a
 * pass that writes nothing (no echo). PostgreSQL keys are bigint identities.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Workspace, workspace } from '../harness.js';
import { QUIET, type RunCounts, type Side, toCounts, txt } from '../sor-helpers.js';
import { openSide, type Plan, planLabel, type TableSide } from './sides.js';

export interface SorPairing {
  S: Plan;
  N: Plan;
  /** The sync side S is on. */
  sor: Side;
}

const name = (p: SorPairing) => `SOR on ${planLabel(p.S)} ↔ N on ${planLabel(p.N)} (S is ${p.sor})`;

interface ErrorEntry {
  sync: string;
  side: Side;
  key: string | number | null;
  identity: string | number | null;
  reason: string;
  message: string;
}
interface TraceOut {
  link: { left_key: string | null; right_key: string | null } | null;
  history: { side: string; action: string; detail?: Record<string, unknown> }[];
}

const S_COLS = ['email', 'name'];
const N_COLS = ['app_id', 'email', 'full_name'];

/** Every row of §4.2 for each pairing (one describe per pairing). */
export function sorMatrix(pairings: SorPairing[]): void {
  describe.each(pairings.map((p) => ({ ...p, title: name(p) })))('$title', (p) => {
    const sSide = p.sor;
    const nSide: Side = sSide === 'left' ? 'right' : 'left';
    let ws: Workspace | undefined;
    let S: TableSide;
    let N: TableSide;
    const opened: TableSide[] = [];

    afterEach(async () => {
      ws?.cleanup();
      ws = undefined;
      for (const t of opened.splice(0)) await t.close();
    });

    const run = (expectCode = 0): RunCounts => {
      const res = ws!.tandem('run', '--once', '--json');
      const ctx = `run --once exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`;
      expect(res.code, ctx).toBe(expectCode);
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(res.stdout);
      } catch {
        throw new Error(ctx);
      }
      return toCounts(json, sSide);
    };
    const quiet = (expectCode = 0) => {
      const r = run(expectCode);
      expect([r.created, r.updated, r.deleted]).toEqual([QUIET, QUIET, QUIET]);
    };
    const expectCounts = (
      r: RunCounts,
      w: Partial<Record<'created' | 'updated' | 'deleted', RunCounts['created']>>,
    ) =>
      expect({ created: r.created, updated: r.updated, deleted: r.deleted }).toEqual({
        created: QUIET,
        updated: QUIET,
        deleted: QUIET,
        ...w,
      });
    const errors = (): ErrorEntry[] => {
      const r = ws!.tandem('errors', '--json');
      expect(r.code, r.stderr).toBe(0);
      return r.json<ErrorEntry[]>();
    };
    const linked = (): number => {
      const r = ws!.tandem('status', '--json');
      expect(r.code, r.stderr).toBe(0);
      return r.json<{ syncs: { linked: number }[] }>().syncs[0]!.linked;
    };
    const trace = (identity: number): TraceOut => {
      const r = ws!.tandem('trace', 'customers', String(identity), '--json');
      expect(r.code, r.stderr).toBe(0);
      return r.json<TraceOut>();
    };
    /** The N key the link of S record `sid` points at, as `trace` shows it. */
    const linkedN = (sid: number) => {
      const l = trace(sid).link;
      return txt(nSide === 'left' ? l?.left_key : l?.right_key);
    };
    const sRows = () => S.rows(S_COLS);
    const nRows = () => N.rows(N_COLS);

    /**
     * Schema and config. Tests whose first change is the one under test start with `quiet()`:
     * a first pass over empty tables, so the change comes through change capture.
     */
    const open = async (o: { uniqueExternalId?: boolean } = {}) => {
      ws = workspace('tandem-pgm-sor-');
      S = await openSide(ws, p.S, 'app', 'customers');
      opened.push(S);
      N = await openSide(ws, p.N, 'crm', 'contacts');
      opened.push(N);
      await S.create([
        { name: 'email', type: 'text', notNull: true },
        { name: 'name', type: 'text' },
      ]);
      await N.create([
        { name: 'app_id', type: 'int', unique: o.uniqueExternalId !== false },
        { name: 'email', type: 'text', notNull: true },
        { name: 'full_name', type: 'text' },
      ]);
      const sY = `{ connection: app, table: customers${S.sideExtra} }`;
      const nY = `{ connection: crm, table: contacts, external_id: app_id${N.sideExtra} }`;
      const sIsLeft = sSide === 'left';
      ws.writeConfig(`version: 1
connections:
  app: ${S.connYaml}
  crm: ${N.connYaml}
syncs:
  customers:
    mode: system-of-record
    system_of_record: ${sSide}
    left:  ${sIsLeft ? sY : nY}
    right: ${sIsLeft ? nY : sY}
    fields:
      - email
      - ${sIsLeft ? '[name, full_name]' : '[full_name, name]'}
`);
    };

    /** `count` records made in S and synced: their S and N ids. */
    const linkedPairs = async (count: number) => {
      const out: { sid: number; nid: number }[] = [];
      for (let i = 1; i <= count; i++) {
        const sid = await S.insert({ email: `p${i}@x`, name: `P${i}` });
        out.push({ sid, nid: 0 });
      }
      run();
      const n = await nRows();
      for (const o of out) o.nid = n.find((r) => r.app_id === o.sid)!.id as number;
      return out;
    };

    it('create in S → created in N with external_id = S key (never two); nothing echoes', async () => {
      await open();
      quiet();
      const a = await S.insert({ email: 'a@x', name: 'Ann' });
      const b = await S.insert({ email: 'b@x', name: 'Bob' });
      expectCounts(run(), { created: { s: 0, n: 2 } });
      const n = await nRows();
      expect(n.map(({ id: _, ...rest }) => rest)).toEqual([
        { app_id: a, email: 'a@x', full_name: 'Ann' },
        { app_id: b, email: 'b@x', full_name: 'Bob' },
      ]);
      expect(await sRows()).toEqual([
        { id: a, email: 'a@x', name: 'Ann' },
        { id: b, email: 'b@x', name: 'Bob' },
      ]);
      quiet();
      expect(await nRows()).toEqual(n);
      expect(linked()).toBe(2);
    });

    it('create in N with external_id empty → created in S (S assigns the key), key written into N', async () => {
      await open();
      quiet();
      const n1 = await N.insert({ email: 'n1@x', full_name: 'Nina' });
      const n2 = await N.insert({ email: 'n2@x', full_name: 'Ned' });
      expectCounts(run(), { created: { s: 2, n: 0 } });
      const s = await sRows();
      expect(s.map(({ id: _, ...rest }) => rest)).toEqual([
        { email: 'n1@x', name: 'Nina' },
        { email: 'n2@x', name: 'Ned' },
      ]);
      const sid = (email: string) => s.find((x) => x.email === email)!.id;
      expect(await nRows()).toEqual([
        { id: n1, app_id: sid('n1@x'), email: 'n1@x', full_name: 'Nina' },
        { id: n2, app_id: sid('n2@x'), email: 'n2@x', full_name: 'Ned' },
      ]);
      // The write-back of the key is tandem's own write: it does not come back as a change.
      quiet();
      expect(await sRows()).toEqual(s);
    });

    it('create in N with external_id = an unlinked S key → adopted (linked, nothing created), S wins fields', async () => {
      await open();
      quiet();
      // Both appear between two passes; the N record already points at the S key.
      const sid = await S.insert({ id: 500, email: 's@x', name: 'Sam' });
      const nid = await N.insert({ app_id: 500, email: 'other@x', full_name: 'Samuel' });
      expectCounts(run(), { updated: { s: 0, n: 1 } });
      expect(await sRows()).toEqual([{ id: sid, email: 's@x', name: 'Sam' }]);
      expect(await nRows()).toEqual([{ id: nid, app_id: sid, email: 's@x', full_name: 'Sam' }]);
      expect(linkedN(sid)).toBe(String(nid));
      // Linked for real: an N edit now flows to S (and the adoption's write did not echo).
      await N.update(nid, { full_name: 'Sammy' });
      expectCounts(run(), { updated: { s: 1, n: 0 } });
      expect(await sRows()).toEqual([{ id: sid, email: 's@x', name: 'Sammy' }]);
      quiet();
    });

    it('create in N with external_id = a key S does not have → orphan_external_id, exit 4, nothing created in S', async () => {
      await open();
      const keep = await S.insert({ email: 'one@x', name: 'One' });
      run();
      const nid = await N.insert({ app_id: 999, email: 'orphan@x', full_name: 'Orphan' });
      const r = run(4);
      expectCounts(r, {});
      expect(r.quarantined).toBe(1);
      expect(await sRows()).toEqual([{ id: keep, email: 'one@x', name: 'One' }]);
      const errs = errors();
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({ sync: 'customers', side: nSide, reason: 'orphan_external_id' });
      expect(txt(errs[0]!.key)).toBe(String(nid));
      expect(txt(errs[0]!.identity)).toBe('999');
      // Left as the user wrote it; still held on the next pass (exit 4), and nothing written.
      quiet(4);
      expect((await nRows()).find((x) => x.id === nid)).toEqual({
        id: nid,
        app_id: 999,
        email: 'orphan@x',
        full_name: 'Orphan',
      });
      expect(await sRows()).toHaveLength(1);
    });

    it('two N records with one external_id → the linked one stays linked, the other duplicate_external_id', async () => {
      await open({ uniqueExternalId: false });
      const { sid, nid } = (await linkedPairs(1))[0]!;
      const dup = await N.insert({ app_id: sid, email: 'dup@x', full_name: 'Dupe' });
      expectCounts(run(4), {});
      const errs = errors();
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({ sync: 'customers', side: nSide, reason: 'duplicate_external_id' });
      expect(txt(errs[0]!.key)).toBe(String(dup));
      expect(txt(errs[0]!.identity)).toBe(String(sid));
      expect(await sRows()).toEqual([{ id: sid, email: 'p1@x', name: 'P1' }]);
      expect(linkedN(sid)).toBe(String(nid));
      // The linked pair still syncs; the duplicate is not touched.
      await S.update(sid, { name: 'P1 edited' });
      expectCounts(run(4), { updated: { s: 0, n: 1 } });
      expect(await nRows()).toEqual([
        { id: nid, app_id: sid, email: 'p1@x', full_name: 'P1 edited' },
        { id: dup, app_id: sid, email: 'dup@x', full_name: 'Dupe' },
      ]);
      quiet(4);
    });

    it('update in either → flows to the other, matched by S key; one write each way, no echo', async () => {
      await open();
      const [a, b] = await linkedPairs(2);
      await S.update(a!.sid, { name: 'From S' });
      await N.update(b!.nid, { email: 'from-n@x', full_name: 'From N' });
      expectCounts(run(), { updated: { s: 1, n: 1 } });
      expect(await sRows()).toEqual([
        { id: a!.sid, email: 'p1@x', name: 'From S' },
        { id: b!.sid, email: 'from-n@x', name: 'From N' },
      ]);
      expect(await nRows()).toEqual([
        { id: a!.nid, app_id: a!.sid, email: 'p1@x', full_name: 'From S' },
        { id: b!.nid, app_id: b!.sid, email: 'from-n@x', full_name: 'From N' },
      ]);
      quiet();
    });

    it("N's external_id edited or cleared on a linked record → the linked key is written back, and trace shows it", async () => {
      await open();
      const [a, b] = await linkedPairs(2);
      const inStep = async () => {
        expect(await sRows()).toEqual([
          { id: a!.sid, email: 'p1@x', name: 'P1' },
          { id: b!.sid, email: 'p2@x', name: 'P2' },
        ]);
        expect(await nRows()).toEqual([
          { id: a!.nid, app_id: a!.sid, email: 'p1@x', full_name: 'P1' },
          { id: b!.nid, app_id: b!.sid, email: 'p2@x', full_name: 'P2' },
        ]);
      };
      const traced = (sid: number, found: string | null) => {
        const history = trace(sid).history;
        const h = history.filter((e) => e.side === nSide && /external.?id/i.test(e.action));
        expect(h.length, JSON.stringify(history)).toBeGreaterThan(0);
        if (found !== null) expect(JSON.stringify(h)).toContain(found);
      };

      // One edited to a key S does not have (not an orphan), the other cleared: both written back.
      await N.update(a!.nid, { app_id: 777 });
      await N.update(b!.nid, { app_id: null });
      expectCounts(run(), { updated: { s: 0, n: 2 } });
      await inStep();
      traced(a!.sid, '777');
      traced(b!.sid, null);
      quiet(); // exit 0: neither record was quarantined
    });

    it('delete in either → deletes the match by S key (records born on either side)', async () => {
      await open();
      const [a, keep] = await linkedPairs(2);
      const nBorn = await N.insert({ email: 'n@x', full_name: 'FromN' });
      expectCounts(run(), { created: { s: 1, n: 0 } });
      const sBorn = (await sRows()).find((x) => x.email === 'n@x')!.id as number;
      quiet(); // no echo
      await S.remove(sBorn);
      await N.remove(a!.nid);
      expectCounts(run(), { deleted: { s: 1, n: 1 } });
      expect(await sRows()).toEqual([{ id: keep!.sid, email: 'p2@x', name: 'P2' }]);
      expect(await nRows()).toEqual([{ id: keep!.nid, app_id: keep!.sid, email: 'p2@x', full_name: 'P2' }]);
      expect(nBorn).not.toBe(keep!.nid);
      quiet();
    });

    // On a polled PostgreSQL side, tandem's own insert is kept among the keys the delete scan
    // compares with, so the delete is found even though no poll saw the row (poll-keys.ts).
    it('delete in either of a record tandem created there in the previous pass → deletes the match', async () => {
      await open();
      const [keep] = await linkedPairs(1);
      // One record made on each side; the pass creates each one's match on the other side.
      const sid = await S.insert({ email: 's@x', name: 'FromS' });
      await N.insert({ email: 'n@x', full_name: 'FromN' });
      expectCounts(run(), { created: { s: 1, n: 1 } });
      // The user deletes both copies tandem just made, before any other pass.
      const nCopy = (await nRows()).find((x) => x.app_id === sid)!.id as number;
      const sCopy = (await sRows()).find((x) => x.email === 'n@x')!.id as number;
      await N.remove(nCopy);
      await S.remove(sCopy);
      expectCounts(run(), { deleted: { s: 1, n: 1 } });
      expect(await sRows()).toEqual([{ id: keep!.sid, email: 'p1@x', name: 'P1' }]);
      expect(await nRows()).toEqual([{ id: keep!.nid, app_id: keep!.sid, email: 'p1@x', full_name: 'P1' }]);
      expect(linked()).toBe(1);
      quiet();
    });
  });
}
