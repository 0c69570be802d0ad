/**
 * SPEC §4.3 (External ID mode), every row, through the real CLI, with
 * PostgreSQL on one side or both, in both capture modes (cdc, poll), each row
 * exercised from each side: A is the side the user acts on, B the other.
 *
 *   left  = `products` (id, sku, title, qty)  — external_id sku
 *   right = `items`    (id, code, title, qty) — external_id code
 *
 * The change under test always comes through change capture (a pass has run
 * before it: over empty tables, or the one that linked the records), its pass
 * is checked for exactly the writes it should make, and each test ends with a
 * pass that writes nothing (no echo). PostgreSQL keys are bigint identities.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorJson, Pair, PassJson, Side, SyncPass, TraceJson } from '../ext-helpers.js';
import { type Workspace, workspace } from '../harness.js';
import { openSide, type Plan, planLabel, type TableSide } from './sides.js';

export interface ExtPairing {
  left: Plan;
  right: Plan;
  /** The sides records are made on (default both); one is enough when both sides are alike. */
  madeOn?: Side[];
}

/** Every row of §4.3 for each pairing, made on each side (one describe per pairing and side). */
export function extMatrix(pairings: ExtPairing[]): void {
  const CASES = pairings.flatMap((p) =>
    (p.madeOn ?? (['left', 'right'] as Side[])).map((a) => ({
      ...p,
      a,
      title: `External ID: left ${planLabel(p.left)} ↔ right ${planLabel(p.right)}, made on ${a} (${planLabel(a === 'left' ? p.left : p.right)})`,
    })),
  );

  interface Item {
    id: number;
    ext: string | null;
    title: string | null;
    qty: number | null;
  }

  describe.each(CASES)('$title', (c) => {
    const aSide = c.a;
    const bSide: Side = aSide === 'left' ? 'right' : 'left';
    let ws: Workspace | undefined;
    let L: TableSide;
    let R: TableSide;
    const opened: TableSide[] = [];
    const ext = (s: Side) => (s === 'left' ? 'sku' : 'code');
    const tbl = (s: Side) => (s === 'left' ? L : R);

    afterEach(async () => {
      ws?.cleanup();
      ws = undefined;
      for (const t of opened.splice(0)) await t.close();
    });

    // --------------------------------------------------------------- helpers, in A/B terms

    const run = (expectCode = 0): SyncPass => {
      const res = ws!.tandem('run', '--once', '--json');
      const ctx = `run --once exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`;
      expect(res.code, ctx).toBe(expectCode);
      return res.json<PassJson>().syncs[0]!;
    };
    /** The pass wrote exactly `w` (A/B counts; everything else zero). */
    const expectCounts = (
      s: SyncPass,
      w: Partial<Record<'created' | 'updated' | 'deleted', { a?: number; b?: number }>> = {},
    ) => {
      const pair = (x?: { a?: number; b?: number }): Pair =>
        ({ [aSide]: x?.a ?? 0, [bSide]: x?.b ?? 0 }) as unknown as Pair;
      expect({ created: s.created, updated: s.updated, deleted: s.deleted }).toEqual({
        created: pair(w.created),
        updated: pair(w.updated),
        deleted: pair(w.deleted),
      });
    };
    const quiet = (expectCode = 0) => expectCounts(run(expectCode));
    const errors = (): ErrorJson[] => {
      const r = ws!.tandem('errors', '--json');
      expect(r.code, r.stderr).toBe(0);
      return r.json<ErrorJson[]>();
    };
    const trace = (identity: string): TraceJson => {
      const r = ws!.tandem('trace', 'products', identity, '--json');
      expect(r.code, r.stderr).toBe(0);
      return r.json<TraceJson>();
    };

    const rowsOf = async (s: Side): Promise<Item[]> =>
      (await tbl(s).rows([ext(s), 'title', 'qty'])).map((r) => ({
        id: r.id as number,
        ext: r[ext(s)] as string | null,
        title: r.title as string | null,
        qty: r.qty as number | null,
      }));
    const A = {
      insert: (ext_: string | null, title: string, qty = 1) =>
        tbl(aSide).insert({ [ext(aSide)]: ext_, title, qty }),
      update: (id: number, patch: { ext?: string | null; title?: string; qty?: number }) =>
        tbl(aSide).update(
          id,
          Object.fromEntries(Object.entries(patch).map(([k, v]) => [k === 'ext' ? ext(aSide) : k, v])),
        ),
      remove: (id: number) => tbl(aSide).remove(id),
      rows: () => rowsOf(aSide),
    };
    const B = {
      insert: (ext_: string | null, title: string, qty = 1) =>
        tbl(bSide).insert({ [ext(bSide)]: ext_, title, qty }),
      update: (id: number, patch: { title?: string; qty?: number }) => tbl(bSide).update(id, patch),
      rows: () => rowsOf(bSide),
    };
    /** Records without their local ids, sorted by external id: equal lists are in step. */
    const contents = (items: Item[]) =>
      items.map(({ id: _, ...rest }) => rest).sort((x, y) => String(x.ext).localeCompare(String(y.ext)));

    /**
     * Schema and config. Tests whose first change is the one under test start with `quiet()`:
     * a first pass over empty tables, so the change comes through change capture.
     */
    const open = async (o: { unique?: boolean } = {}) => {
      ws = workspace('tandem-pgm-ext-');
      L = await openSide(ws, c.left, 'app', 'products');
      opened.push(L);
      R = await openSide(ws, c.right, 'crm', 'items');
      opened.push(R);
      for (const s of ['left', 'right'] as Side[]) {
        await tbl(s).create([
          { name: ext(s), type: 'text', unique: o.unique !== false },
          { name: 'title', type: 'text' },
          { name: 'qty', type: 'int' },
        ]);
      }
      ws.writeConfig(`version: 1
connections:
  app: ${L.connYaml}
  crm: ${R.connYaml}
syncs:
  products:
    mode: external-id
    left:  { connection: app, table: products, external_id: sku${L.sideExtra} }
    right: { connection: crm, table: items, external_id: code${R.sideExtra} }
    fields: [title, qty]
`);
    };

    /** Records made on A with these external ids, synced to B: their ids on both sides. */
    const linked = async (...exts: string[]) => {
      const a: number[] = [];
      for (const [i, e] of exts.entries()) a.push(await A.insert(e, `t-${e}`, i + 1));
      expectCounts(run(), { created: { b: exts.length } });
      const b = await B.rows();
      return exts.map((e, i) => ({ a: a[i]!, b: b.find((r) => r.ext === e)!.id }));
    };

    // --------------------------------------------------------------- create with external_id set

    it('create with external_id set → created on the other side with the same external_id, or linked to the record already there (first meeting); nothing echoes', async () => {
      await open();
      quiet();
      await A.insert('SKU-1', 'Teapot', 3);
      await A.insert('M-1', 'mine', 5);
      const bm = await B.insert('M-1', 'theirs', 5);
      const r = run();
      expect([r.created, r.deleted]).toEqual([
        { [aSide]: 0, [bSide]: 1 },
        { left: 0, right: 0 },
      ]);
      // M-1 met on both sides: linked, not duplicated; its conflicting title is settled by
      // newest-wins, one write on the side that lost.
      expect(r.updated.left + r.updated.right).toBe(1);
      const b = await B.rows();
      expect(contents(b)).toEqual([
        { ext: 'M-1', title: expect.stringMatching(/^(mine|theirs)$/), qty: 5 },
        { ext: 'SKU-1', title: 'Teapot', qty: 3 },
      ]);
      expect(contents(await A.rows())).toEqual(contents(b));
      // Linked: an edit on B's M-1 flows to A's (and the pass above echoed nothing).
      await B.update(bm, { qty: 6 });
      expectCounts(run(), { updated: { a: 1 } });
      expect(contents(await A.rows())).toEqual(contents(await B.rows()));
      expect((await A.rows()).find((x) => x.ext === 'M-1')!.qty).toBe(6);
      quiet();
    });

    // --------------------------------------------------------------- create without external_id

    it('create without external_id → ignored until one is set; then created with its current values', async () => {
      await open();
      const a = await A.insert(null, 'draft', 1);
      quiet(); // exit 0: not quarantined either
      expect(await B.rows()).toEqual([]);
      await A.update(a, { title: 'draft 2' });
      await A.update(a, { ext: 'NEW-1' });
      expectCounts(run(), { created: { b: 1 } });
      expect(contents(await B.rows())).toEqual([{ ext: 'NEW-1', title: 'draft 2', qty: 1 }]);
      expect(await A.rows()).toHaveLength(1);
      quiet();
    });

    // --------------------------------------------------------------- update

    it('update → flows to the other side matched by external_id; one write, none back', async () => {
      await open();
      const [u, other] = await linked('U-1', 'U-2');
      await A.update(u!.a, { title: 'new', qty: 12 });
      expectCounts(run(), { updated: { b: 1 } });
      expect(await B.rows()).toEqual(
        [
          { id: u!.b, ext: 'U-1', title: 'new', qty: 12 },
          { id: other!.b, ext: 'U-2', title: 't-U-2', qty: 2 },
        ].sort((x, y) => x.id - y.id),
      );
      quiet();
    });

    // --------------------------------------------------------------- rename

    it('external_id changed on a linked record → a rename on the other side (no delete, no new record); to a value taken there → external_id_collision, exit 4', async () => {
      await open();
      const [o, by, x] = await linked('OLD', 'BYSTANDER', 'X');
      await A.update(o!.a, { ext: 'NEW' });
      // X cleared on A: both X records are detached, and B keeps X (taken there, for below).
      await A.update(x!.a, { ext: null });
      expectCounts(run(), { updated: { b: 1 } });
      const expectedB = (oTitle: string) =>
        [
          { id: o!.b, ext: 'NEW', title: oTitle, qty: 1 },
          { id: by!.b, ext: 'BYSTANDER', title: 't-BYSTANDER', qty: 2 },
          { id: x!.b, ext: 'X', title: 't-X', qty: 3 },
        ].sort((p, q) => p.id - q.id);
      expect(await B.rows()).toEqual(expectedB('t-OLD'));
      // The link follows the new value: an edit on B still flows.
      await B.update(o!.b, { title: 'after rename' });
      expectCounts(run(), { updated: { a: 1 } });
      expect((await A.rows()).find((r) => r.id === o!.a)).toEqual({
        id: o!.a,
        ext: 'NEW',
        title: 'after rename',
        qty: 1,
      });

      // A renames BYSTANDER to X, which B already has: held, nothing renamed or created on B.
      await A.update(by!.a, { ext: 'X' });
      expectCounts(run(4));
      const errs = errors();
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({
        sync: 'products',
        side: aSide,
        key: String(by!.a),
        reason: 'external_id_collision',
      });
      expect(await B.rows()).toEqual(expectedB('after rename'));
      quiet(4);
    });

    // --------------------------------------------------------------- clear

    it('external_id cleared on a linked record → both detached: neither changed, deleted or recreated; a new value makes it new', async () => {
      await open();
      const [k] = await linked('C-1');
      await A.update(k!.a, { ext: null });
      quiet();
      expect(await A.rows()).toEqual([{ id: k!.a, ext: null, title: 't-C-1', qty: 1 }]);
      expect(await B.rows()).toEqual([{ id: k!.b, ext: 'C-1', title: 't-C-1', qty: 1 }]);
      // Edits on either side no longer flow.
      await A.update(k!.a, { title: 'A edit' });
      await B.update(k!.b, { title: 'B edit', qty: 8 });
      quiet();
      expect(await A.rows()).toEqual([{ id: k!.a, ext: null, title: 'A edit', qty: 1 }]);
      expect(await B.rows()).toEqual([{ id: k!.b, ext: 'C-1', title: 'B edit', qty: 8 }]);
      // Setting an external_id again makes it new: created on B; B's detached record stays as it is.
      await A.update(k!.a, { ext: 'C-2' });
      expectCounts(run(), { created: { b: 1 } });
      expect(contents(await B.rows())).toEqual([
        { ext: 'C-1', title: 'B edit', qty: 8 },
        { ext: 'C-2', title: 'A edit', qty: 1 },
      ]);
      expect(await A.rows()).toHaveLength(1);
      quiet();
    });

    // --------------------------------------------------------------- duplicates

    it('two records on one side with one external_id → all of them duplicate_external_id until fixed', async () => {
      await open({ unique: false });
      quiet();
      const d1 = await A.insert('DUP', 'one', 1);
      const d2 = await A.insert('DUP', 'two', 2);
      expectCounts(run(4));
      expect(await B.rows()).toEqual([]);
      expect(
        errors()
          .map((e) => [e.reason, e.side, e.key, e.identity])
          .sort(),
      ).toEqual(
        [
          ['duplicate_external_id', aSide, String(d1), 'DUP'],
          ['duplicate_external_id', aSide, String(d2), 'DUP'],
        ].sort(),
      );
      // Fixed: each gets its own value; both sync, and the quarantine empties.
      await A.update(d2, { ext: 'DUP-2' });
      expectCounts(run(), { created: { b: 2 } });
      expect(contents(await B.rows())).toEqual([
        { ext: 'DUP', title: 'one', qty: 1 },
        { ext: 'DUP-2', title: 'two', qty: 2 },
      ]);
      quiet(); // exit 0: the quarantine is empty
    });

    // --------------------------------------------------------------- delete

    it('delete → deletes the record with that external_id on the other side; deleting an unlinked record does nothing', async () => {
      await open();
      const noId = await A.insert(null, 'no id', 9);
      const [d, keep] = await linked('D-1', 'D-2');
      await A.remove(d!.a);
      await A.remove(noId);
      expectCounts(run(), { deleted: { b: 1 } });
      expect(await B.rows()).toEqual([{ id: keep!.b, ext: 'D-2', title: 't-D-2', qty: 2 }]);
      expect(contents(await A.rows())).toEqual(contents(await B.rows()));
      expect(trace('D-1').history.some((h) => /delet/i.test(h.action))).toBe(true);
      quiet();
    });

    // A record tandem created on B, deleted there by the user before the next pass. Runs where B
    // is PostgreSQL (the SQLite e2e suites cover a SQLite B).
    const bPlan = (bSide === 'left' ? c.left : c.right) as Plan;
    if (bPlan.kind === 'pg')
      it('delete on the other side of a record tandem created there in the previous pass → deleted here too', async () => {
        await open();
        const [d, keep] = await linked('E-1', 'E-2');
        await tbl(bSide).remove(d!.b);
        expectCounts(run(), { deleted: { a: 1 } });
        expect(await A.rows()).toEqual([{ id: keep!.a, ext: 'E-2', title: 't-E-2', qty: 2 }]);
        quiet();
      });
  });
}
