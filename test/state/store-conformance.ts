/**
 * The conformance suite every state store passes, against a real database.
 * Each store's test file calls `storeConformance` once with a factory that
 * makes a fresh, empty state per test; the suite opens stores on it (more
 * than one at a time, and again after closing, as separate runs of tandem
 * would) and checks what a user depends on: what a commit saves and that it
 * saves all of it or nothing, links found by every route, intents surviving
 * a stop, quarantine, history, retries, status, full-scan marks, forget, and
 * a state written by a newer tandem refused.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TandemError } from '../../src/core/errors.js';
import type { Base } from '../../src/core/merge.js';
import {
  type BatchCommit,
  emptyCommit,
  type HistoryEntry,
  type Intent,
  type Link,
  type QuarantineEntry,
  type StateStore,
} from '../../src/state/store.js';

export interface StoreLocation {
  /** Opens a store on this state (another one each call, as another run of tandem would). */
  open(): Promise<StateStore>;
  /** Marks the state as written by a tandem whose schema is newer than this one knows. */
  makeNewer(): Promise<void>;
  /** Removes the state (stores opened by the suite are closed before). */
  cleanup(): Promise<void>;
}

export interface StoreFactory {
  /** A fresh, empty state of its own. */
  location(): Promise<StoreLocation>;
}

const same = (fp: string): [string, string] => [fp, fp];
const BASE: Base = { email: same('sa1:b2'), name: ['sn1', 'sn2'], age: same('n2a') };

function newLink(identity: string, leftKey: string | null, rightKey: string | null, base: Base = BASE): Link {
  return { sync: 's', identity, leftKey, rightKey, base, leftAt: null, rightAt: null };
}

function commit(patch: Partial<BatchCommit>, sync = 's'): BatchCommit {
  return { ...emptyCommit(sync), ...patch };
}

function quarantine(recordKey: string, patch: Partial<QuarantineEntry> = {}): QuarantineEntry {
  return {
    sync: 's',
    side: 'right',
    key: null,
    identity: recordKey,
    recordSide: 'left',
    recordKey,
    reason: 'write_failed',
    message: 'value too long',
    ...patch,
  };
}

const ids = (links: Link[]) => links.map((l) => l.id);
const sorted = <T>(xs: T[]) => [...xs].sort();

export function storeConformance(name: string, factory: StoreFactory): void {
  describe(`state store conformance: ${name}`, () => {
    let loc: StoreLocation;
    const opened: StateStore[] = [];
    let store: StateStore;
    const open = async () => {
      const st = await loc.open();
      opened.push(st);
      return st;
    };
    /** Closes `st` and opens the state again, as the next run of tandem would. */
    const reopen = async (st: StateStore) => {
      opened.splice(opened.indexOf(st), 1);
      await st.close();
      return open();
    };

    beforeEach(async () => {
      loc = await factory.location();
      store = await open();
    });
    afterEach(async () => {
      for (const st of opened.splice(0)) await st.close();
      await loc.cleanup();
    });

    it('a new state is empty and fresh', async () => {
      expect(await store.isFresh('s')).toBe(true);
      expect(await store.countLinks('s')).toBe(0);
      expect(await store.maxLinkId('s')).toBe(0);
      expect(await store.scanLinks('s', 0, 10)).toEqual([]);
      expect(await store.cursor('s', 'left')).toBeNull();
      expect(await store.intents('s')).toEqual([]);
      expect(await store.quarantined()).toEqual([]);
      expect(await store.history('s', 'x')).toEqual([]);
      expect(await store.takeRetry('s', 'left', 10)).toEqual([]);
      expect(await store.status('s')).toEqual({
        sync: 's',
        state: 'ok',
        reason: null,
        lastPassAt: null,
        lastPass: null,
        guard: null,
        deletesConfirmed: false,
        fullScanDue: false,
        lagMs: null,
      });
    });

    it('has an id of its own, kept when opened again, and another state has another', async () => {
      const id = await store.instanceId();
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(await (await reopen(store)).instanceId()).toBe(id);
      const other = await factory.location();
      try {
        const st = await other.open();
        expect(await st.instanceId()).not.toBe(id);
        await st.close();
      } finally {
        await other.cleanup();
      }
    });

    it('a commit saves new links with increasing ids, found by key, identity and id', async () => {
      const a = { ...newLink('a', '1', '10'), leftAt: '2026-01-01T00:00:00Z' };
      const b = newLink('b', '2', null, { email: ['sx', 'sy'] });
      const c = newLink('c', null, '30', {});
      await store.commit(commit({ upsertLinks: [a, b, c] }));
      const all = await store.scanLinks('s', 0, 10);
      expect(all.map((l) => l.identity)).toEqual(['a', 'b', 'c']);
      const [ia, ib, ic] = ids(all) as number[];
      expect(ia).toBeGreaterThan(0);
      expect(ib).toBeGreaterThan(ia!);
      expect(ic).toBeGreaterThan(ib!);
      expect(all[0]).toEqual({ ...a, id: ia, leftSeen: 0, rightSeen: 0 });
      expect(all[1]).toEqual({ ...b, id: ib, leftSeen: 0, rightSeen: 0 });
      expect(all[2]).toEqual({ ...c, id: ic, leftSeen: 0, rightSeen: 0 });

      expect(ids(await store.linksByKeys('s', 'left', ['1', '2', '999']))).toEqual(
        expect.arrayContaining([ia, ib]),
      );
      expect(await store.linksByKeys('s', 'left', ['1', '2', '999'])).toHaveLength(2);
      expect(ids(await store.linksByKeys('s', 'right', ['30']))).toEqual([ic]);
      expect(await store.linksByKeys('s', 'right', ['1'])).toEqual([]);
      expect(await store.linksByKeys('s', 'left', [])).toEqual([]);
      expect(sorted((await store.linksByIdentities('s', ['c', 'a', 'zz'])).map((l) => l.identity))).toEqual([
        'a',
        'c',
      ]);
      expect((await store.linksByIds('s', [ib!])).map((l) => l.identity)).toEqual(['b']);
      expect(await store.countLinks('s')).toBe(3);
      expect(await store.maxLinkId('s')).toBe(ic);
      expect(await store.isFresh('s')).toBe(false);
      // Another sync sees none of it.
      expect(await store.countLinks('other')).toBe(0);
      expect(await store.linksByKeys('other', 'left', ['1'])).toEqual([]);
      expect(await store.linksByIds('other', [ia!])).toEqual([]);
      expect(await store.isFresh('other')).toBe(true);
    });

    it('scanLinks pages by id', async () => {
      await store.commit(commit({ upsertLinks: ['a', 'b', 'c', 'd', 'e'].map((k) => newLink(k, k, k)) }));
      const first = await store.scanLinks('s', 0, 2);
      expect(first.map((l) => l.identity)).toEqual(['a', 'b']);
      const second = await store.scanLinks('s', first[1]!.id!, 2);
      expect(second.map((l) => l.identity)).toEqual(['c', 'd']);
      const third = await store.scanLinks('s', second[1]!.id!, 2);
      expect(third.map((l) => l.identity)).toEqual(['e']);
      expect(await store.scanLinks('s', third[0]!.id!, 2)).toEqual([]);
    });

    it('saving a link again moves its base and keeps its id; a changed key moves the link', async () => {
      await store.commit(commit({ upsertLinks: [newLink('a', '1', '10'), newLink('b', '2', '20')] }));
      const [a, b] = await store.scanLinks('s', 0, 10);
      const movedBase: Base = { email: same('sz9'), name: same('sn2'), age: same('n2a') };
      await store.commit(
        commit({
          upsertLinks: [
            { ...a!, base: movedBase, rightAt: '2026-02-02T00:00:00Z' },
            { ...b!, identity: 'b2', rightKey: '21' },
          ],
        }),
      );
      const [a2, b2] = await store.scanLinks('s', 0, 10);
      expect(a2).toMatchObject({
        id: a!.id,
        base: movedBase,
        rightAt: '2026-02-02T00:00:00Z',
        rightKey: '10',
      });
      expect(b2).toMatchObject({ id: b!.id, identity: 'b2', leftKey: '2', rightKey: '21', base: BASE });
      expect(await store.linksByKeys('s', 'right', ['20'])).toEqual([]);
      expect(await store.linksByIdentities('s', ['b'])).toEqual([]);
      expect(ids(await store.linksByKeys('s', 'right', ['21']))).toEqual([b!.id]);
      expect(await store.countLinks('s')).toBe(2);
    });

    it('a link deleted and made again under the same identity in one commit; ids are never handed out twice', async () => {
      await store.commit(commit({ upsertLinks: [newLink('a', '1', '10'), newLink('b', '2', '20')] }));
      const [a, b] = await store.scanLinks('s', 0, 10);
      await store.commit(commit({ deleteLinks: [a!.id!], upsertLinks: [newLink('a', '1', '11')] }));
      const relinked = await store.linksByIdentities('s', ['a']);
      expect(relinked).toHaveLength(1);
      expect(relinked[0]!.rightKey).toBe('11');
      expect(relinked[0]!.id).toBeGreaterThan(b!.id!);
      expect(await store.linksByIds('s', [a!.id!])).toEqual([]);
      // A link saved under its id after it was deleted (recovery) comes back under that id.
      await store.commit(commit({ deleteLinks: [b!.id!] }));
      await store.commit(commit({ upsertLinks: [{ ...b!, rightKey: '22' }] }));
      expect(await store.linksByIds('s', [b!.id!])).toMatchObject([{ identity: 'b', rightKey: '22' }]);
      // Even under an id it never handed out, no later link is given that id.
      const ahead = (await store.maxLinkId('s')) + 1;
      await store.commit(commit({ upsertLinks: [{ ...newLink('z', '26', '260'), id: ahead }] }));
      await store.commit(commit({ upsertLinks: [newLink('c', '3', '30')] }));
      expect(await store.linksByIds('s', [ahead])).toMatchObject([{ identity: 'z' }]);
      const all = ids(await store.scanLinks('s', 0, 10));
      expect(new Set(all).size).toBe(4);
      expect(await store.countLinks('s')).toBe(4);
    });

    it('a commit that fails at its last write saves nothing of itself', async () => {
      await store.commit(
        commit({
          upsertLinks: [newLink('a', '1', '10'), newLink('d', '4', '40')],
          addQuarantine: [quarantine('7')],
          addDetached: [{ sync: 's', side: 'right', key: '6', identity: '6' }],
          cursors: { left: 'L1' },
        }),
      );
      await store.addIntent({
        sync: 's',
        token: 't1',
        createdAt: '2026-01-01T00:00:00Z',
        creates: [],
        links: [],
      });
      await store.addRetry('s', 'left', ['5']);
      const before = await store.scanLinks('s', 0, 10);
      const [a, d] = before;
      const bad = store.commit(
        commit({
          deleteLinks: [d!.id!],
          upsertLinks: [newLink('b', '2', '20'), { ...a!, base: { email: same('sz') } }],
          addQuarantine: [quarantine('9')],
          clearQuarantine: [{ side: 'left', key: '7' }],
          addDetached: [{ sync: 's', side: 'left', key: '8', identity: '8' }],
          removeDetached: [{ side: 'right', key: '6' }],
          history: [
            { sync: 's', identity: 'b', at: '2026-01-01T00:00:00Z', side: 'left', action: 'created' },
          ],
          removeIntents: ['t1'],
          dropRetry: [{ side: 'left', key: '5' }],
          // A position the store cannot save: the commit fails at its last write.
          cursors: { left: 'L2', right: null as unknown as string },
        }),
      );
      await expect(bad).rejects.toThrow();
      expect(await store.scanLinks('s', 0, 10)).toEqual(before);
      expect(await store.cursor('s', 'left')).toBe('L1');
      expect((await store.quarantined('s')).map((q) => q.recordKey)).toEqual(['7']);
      expect(await store.detachedByKeys('s', 'left', ['8'])).toEqual([]);
      expect(await store.detachedByKeys('s', 'right', ['6'])).toHaveLength(1);
      expect(await store.history('s', 'b')).toEqual([]);
      expect((await store.intents('s')).map((i) => i.token)).toEqual(['t1']);
      expect(await store.takeRetry('s', 'left', 10)).toEqual(['5']);
      // The store goes on serving, and the next commit saves.
      await store.commit(commit({ upsertLinks: [newLink('b', '2', '20')], cursors: { left: 'L3' } }));
      expect(await store.countLinks('s')).toBe(3);
      expect(await store.cursor('s', 'left')).toBe('L3');
    });

    it('two new links under one identity: the commit is refused whole', async () => {
      const bad = store.commit(
        commit({ upsertLinks: [newLink('b', '2', '20'), newLink('b', '3', '30')], cursors: { left: 'L' } }),
      );
      await expect(bad).rejects.toThrow();
      expect(await store.countLinks('s')).toBe(0);
      expect(await store.cursor('s', 'left')).toBeNull();
    });

    it('a commit naming creates of an intent the store does not have fails as a bug, saving nothing', async () => {
      const bad = store.commit(
        commit({ linkCreates: { token: 'gone', landed: [[1, 'k']] }, cursors: { left: 'x' } }),
      );
      await expect(bad).rejects.toBeInstanceOf(TandemError);
      await expect(bad).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('gone') });
      expect(await store.cursor('s', 'left')).toBeNull();
    });

    it('calls are served in the order made: reads sent after an unawaited commit see it', async () => {
      const committed = store.commit(
        commit({
          upsertLinks: Array.from({ length: 500 }, (_, i) => newLink(`i${i}`, `${i}`, `r${i}`)),
          cursors: { left: '5' },
        }),
      );
      const [count, cursor, found] = await Promise.all([
        store.countLinks('s'),
        store.cursor('s', 'left'),
        store.linksByKeys('s', 'right', ['r499']),
      ]);
      await committed;
      expect(count).toBe(500);
      expect(cursor).toBe('5');
      expect(found.map((l) => l.identity)).toEqual(['i499']);
    });

    it('capture cursors advance with commits, per side and sync', async () => {
      await store.commit(commit({ cursors: { left: 'L1', right: 'R1' } }));
      await store.commit(commit({ cursors: { right: 'R2' } }));
      await store.commit(commit({}));
      await store.commit(commit({ cursors: { left: 'other' } }, 't'));
      expect(await store.cursor('s', 'left')).toBe('L1');
      expect(await store.cursor('s', 'right')).toBe('R2');
      expect(await store.cursor('t', 'left')).toBe('other');
      expect(await store.cursor('t', 'right')).toBeNull();
    });

    it('intents: saved before the writes, read back whole after a stop, ordered by time then token', async () => {
      const intent: Intent = {
        sync: 's',
        token: 'tok-b',
        createdAt: '2026-01-01T00:00:02Z',
        creates: [
          {
            ref: 1,
            target: 'right',
            source: 'left',
            sourceKey: '7',
            identity: '7',
            base: BASE,
            leftAt: '2026-01-01T00:00:00Z',
            rightAt: null,
          },
          {
            ref: 2,
            target: 'left',
            source: 'right',
            sourceKey: '70',
            identity: null,
            base: { email: same('sq') },
            leftAt: null,
            rightAt: null,
            replacesLinkId: 12,
          },
        ],
        links: [
          {
            planned: { ...newLink('8', '8', '80'), id: 3 },
            writes: [{ side: 'right', ref: 3, fields: ['email'], setsIdentity: false }],
          },
        ],
      };
      await store.addIntent(intent);
      await store.addIntent({ ...intent, token: 'tok-c', createdAt: '2026-01-01T00:00:01Z', creates: [] });
      await store.addIntent({ ...intent, token: 'tok-a', createdAt: '2026-01-01T00:00:02Z', links: [] });
      // Byte order, as SQLite compares: 'B' before 'a'.
      await store.addIntent({ ...intent, token: 'TOK', createdAt: '2026-01-01T00:00:02Z', links: [] });
      expect(await store.isFresh('s')).toBe(false);
      store = await reopen(store);
      const back = await store.intents('s');
      expect(back.map((i) => i.token)).toEqual(['tok-c', 'TOK', 'tok-a', 'tok-b']);
      expect(back[3]).toEqual(intent);
      expect(await store.intents('other')).toEqual([]);
      // The same token saved again replaces the intent.
      await store.addIntent({ ...intent, token: 'tok-c', creates: [] });
      expect((await store.intents('s')).find((i) => i.token === 'tok-c')!.createdAt).toBe(intent.createdAt);
      expect(await store.intents('s')).toHaveLength(4);
    });

    it('a commit makes the links of the creates that landed from their intent, and settles it', async () => {
      const base2: Base = { email: ['sa', 'sb'] };
      await store.addIntent({
        sync: 's',
        token: 't1',
        createdAt: '2026-01-01T00:00:00Z',
        creates: [
          {
            ref: 1,
            target: 'right',
            source: 'left',
            sourceKey: '7',
            identity: '7',
            base: BASE,
            leftAt: '2026-01-01T00:00:00Z',
            rightAt: null,
          },
          {
            ref: 2,
            target: 'left',
            source: 'right',
            sourceKey: '80',
            identity: null,
            base: base2,
            leftAt: null,
            rightAt: '2026-01-01T00:00:01Z',
          },
          {
            ref: 3,
            target: 'right',
            source: 'left',
            sourceKey: '9',
            identity: '9',
            base: BASE,
            leftAt: null,
            rightAt: null,
          },
        ],
        links: [],
      });
      // Stopped and started again: the commit reads the intent back from the state.
      store = await reopen(store);
      await store.commit(
        commit({
          linkCreates: {
            token: 't1',
            landed: [
              [1, '70'],
              [2, '8'],
            ],
          },
          removeIntents: ['t1'],
        }),
      );
      const links = await store.scanLinks('s', 0, 10);
      expect(links).toMatchObject([
        {
          identity: '7',
          leftKey: '7',
          rightKey: '70',
          base: BASE,
          leftAt: '2026-01-01T00:00:00Z',
          rightAt: null,
        },
        {
          identity: '8',
          leftKey: '8',
          rightKey: '80',
          base: base2,
          leftAt: null,
          rightAt: '2026-01-01T00:00:01Z',
        },
      ]);
      expect(await store.intents('s')).toEqual([]);
    });

    it('a commit made right after its intent, in the same run, makes the same links', async () => {
      await store.addIntent({
        sync: 's',
        token: 't1',
        createdAt: '2026-01-01T00:00:00Z',
        creates: [
          {
            ref: 4,
            target: 'left',
            source: 'right',
            sourceKey: 'r1',
            identity: 'id1',
            base: BASE,
            leftAt: null,
            rightAt: null,
          },
        ],
        links: [],
      });
      await store.commit(
        commit({ linkCreates: { token: 't1', landed: [[4, 'l1']] }, removeIntents: ['t1'] }),
      );
      expect(await store.linksByKeys('s', 'left', ['l1'])).toMatchObject([
        { identity: 'id1', leftKey: 'l1', rightKey: 'r1', base: BASE },
      ]);
      expect(await store.intents('s')).toEqual([]);
    });

    it('a commit of many creates links every one of them with its own keys, base and times', async () => {
      // More than one statement's worth (stores may insert links many to a statement), and a remainder.
      const n = 123;
      const creates = Array.from({ length: n }, (_, i) => ({
        ref: i + 1,
        target: 'right' as const,
        source: 'left' as const,
        sourceKey: `L${i}`,
        identity: `L${i}`,
        base: {
          email: [`fp${i}`, `fp${i}`] as [string, string],
          name: [`a${i}`, `b${i}`] as [string, string],
        },
        leftAt: i % 2 === 0 ? `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z` : null,
        rightAt: null,
      }));
      await store.addIntent({
        sync: 's',
        token: 'many',
        createdAt: '2026-01-01T00:00:00Z',
        creates,
        links: [],
      });
      // Landed out of order, and one of them not at all.
      const landed = creates
        .filter((c) => c.ref !== 77)
        .reverse()
        .map((c): [number, string] => [c.ref, `R${c.ref}`]);
      await store.commit(commit({ linkCreates: { token: 'many', landed }, removeIntents: ['many'] }));
      const links = await store.scanLinks('s', 0, 1000);
      expect(links).toHaveLength(n - 1);
      const byIdentity = new Map(links.map((l) => [l.identity, l]));
      for (const c of creates) {
        const l = byIdentity.get(c.identity);
        if (c.ref === 77) {
          expect(l).toBeUndefined();
          continue;
        }
        expect(l).toMatchObject({
          leftKey: c.sourceKey,
          rightKey: `R${c.ref}`,
          base: c.base,
          leftAt: c.leftAt,
        });
      }
      expect(await store.linksByKeys('s', 'right', ['R1', 'R123'])).toHaveLength(2);
    });

    it('detached records: added, found per side, replaced, removed', async () => {
      await store.commit(
        commit({
          addDetached: [
            { sync: 's', side: 'left', key: '1', identity: 'a' },
            { sync: 's', side: 'right', key: '1', identity: 'b' },
          ],
        }),
      );
      expect(await store.isFresh('s')).toBe(false);
      expect(await store.detachedByKeys('s', 'left', ['1', '2'])).toEqual([
        { sync: 's', side: 'left', key: '1', identity: 'a' },
      ]);
      await store.commit(commit({ addDetached: [{ sync: 's', side: 'left', key: '1', identity: 'c' }] }));
      expect(await store.detachedByKeys('s', 'left', ['1'])).toEqual([
        { sync: 's', side: 'left', key: '1', identity: 'c' },
      ]);
      await store.commit(commit({ removeDetached: [{ side: 'right', key: '1' }] }));
      expect(await store.detachedByKeys('s', 'right', ['1'])).toEqual([]);
      expect(await store.detachedByKeys('s', 'left', ['1'])).toHaveLength(1);
      expect(await store.detachedByKeys('other', 'left', ['1'])).toEqual([]);
    });

    it('quarantine: one entry per record, updated in place when held again, cleared when fine', async () => {
      await store.commit(
        commit({ addQuarantine: [quarantine('1', { detail: { left: 'x', right: 'y' } }), quarantine('2')] }),
      );
      const [q1, q2] = await store.quarantined('s');
      expect(q1).toMatchObject({
        sync: 's',
        side: 'right',
        key: null,
        identity: '1',
        recordSide: 'left',
        recordKey: '1',
        reason: 'write_failed',
        message: 'value too long',
        detail: { left: 'x', right: 'y' },
      });
      expect(q2!.detail).toBeUndefined();
      expect(q2!.id).toBeGreaterThan(q1!.id!);
      expect(Date.parse(q1!.firstSeen!)).not.toBeNaN();
      expect(q1!.lastSeen).toBe(q1!.firstSeen);
      expect(await store.countQuarantined('s')).toBe(2);
      expect(await store.isFresh('s')).toBe(false);

      await new Promise((r) => setTimeout(r, 5));
      await store.commit(
        commit({
          addQuarantine: [quarantine('1', { reason: 'conflict', message: 'both changed', key: '10' })],
        }),
      );
      const again = await store.quarantinedByKeys('s', 'left', ['1']);
      expect(again).toHaveLength(1);
      expect(again[0]).toMatchObject({ id: q1!.id, reason: 'conflict', message: 'both changed', key: '10' });
      expect(again[0]!.detail).toBeUndefined();
      expect(again[0]!.firstSeen).toBe(q1!.firstSeen);
      expect(again[0]!.lastSeen! > q1!.lastSeen!).toBe(true);
      expect(await store.quarantinedByKeys('s', 'right', ['1'])).toEqual([]);
      expect(await store.countQuarantined('s')).toBe(2);

      await store.commit(commit({ clearQuarantine: [{ side: 'left', key: '2' }] }));
      expect((await store.quarantined('s')).map((q) => q.recordKey)).toEqual(['1']);
    });

    it('the same record held twice in one commit keeps one entry, the last reason', async () => {
      await store.commit(
        commit({ addQuarantine: [quarantine('1'), quarantine('2'), quarantine('1', { message: 'second' })] }),
      );
      const all = await store.quarantined('s');
      expect(all.map((q) => [q.recordKey, q.message])).toEqual([
        ['1', 'second'],
        ['2', 'value too long'],
      ]);
    });

    it('releasing quarantine returns what it removes: chosen ids, a sync, or everything', async () => {
      await store.commit(commit({ addQuarantine: [quarantine('1'), quarantine('2'), quarantine('3')] }));
      await store.commit(commit({ addQuarantine: [quarantine('1', { sync: 't' })] }, 't'));
      const all = await store.quarantined();
      expect(all.map((q) => [q.sync, q.recordKey])).toEqual([
        ['s', '1'],
        ['s', '2'],
        ['s', '3'],
        ['t', '1'],
      ]);
      const released = await store.releaseQuarantine('s', [all[2]!.id!, all[0]!.id!, all[3]!.id!]);
      expect(released.map((q) => q.recordKey)).toEqual(['1', '3']);
      expect(released[0]).toEqual(all[0]);
      expect((await store.quarantined()).map((q) => [q.sync, q.recordKey])).toEqual([
        ['s', '2'],
        ['t', '1'],
      ]);
      expect(await store.releaseQuarantine('s', [])).toEqual([]);
      expect((await store.releaseQuarantine('s')).map((q) => q.recordKey)).toEqual(['2']);
      expect(await store.countQuarantined('t')).toBe(1);
      await store.commit(commit({ addQuarantine: [quarantine('5')] }));
      expect((await store.releaseQuarantine(undefined)).map((q) => [q.sync, q.recordKey])).toEqual([
        ['t', '1'],
        ['s', '5'],
      ]);
      expect(await store.quarantined()).toEqual([]);
    });

    it('history: entries of one identity in the order they were saved, with their detail', async () => {
      const h = (action: string, detail?: Record<string, unknown>): HistoryEntry => ({
        sync: 's',
        identity: 'a',
        at: '2026-01-01T00:00:00Z',
        side: 'left',
        action,
        ...(detail ? { detail } : {}),
      });
      await store.commit(commit({ history: [h('created'), { ...h('other'), identity: 'b' }, h('updated')] }));
      await store.commit(commit({ history: [{ ...h('written', { fields: ['email'] }), side: 'engine' }] }));
      expect(await store.history('s', 'a')).toEqual([
        h('created'),
        h('updated'),
        { ...h('written', { fields: ['email'] }), side: 'engine' },
      ]);
      expect((await store.history('s', 'b')).map((e) => e.action)).toEqual(['other']);
      expect(await store.history('t', 'a')).toEqual([]);
    });

    it('retry: keys marked per side, taken without removing, dropped by hand or by a commit', async () => {
      await store.addRetry('s', 'left', ['1', '2', '3', '2']);
      await store.addRetry('s', 'left', ['1']);
      await store.addRetry('s', 'right', ['9']);
      expect(sorted(await store.takeRetry('s', 'left', 10))).toEqual(['1', '2', '3']);
      expect(await store.takeRetry('s', 'left', 2)).toHaveLength(2);
      expect(await store.takeRetry('s', 'right', 10)).toEqual(['9']);
      expect(await store.takeRetry('t', 'left', 10)).toEqual([]);
      await store.dropRetry('s', 'left', ['1']);
      await store.commit(commit({ dropRetry: [{ side: 'left', key: '3' }] }));
      expect(await store.takeRetry('s', 'left', 10)).toEqual(['2']);
      expect(await store.takeRetry('s', 'right', 10)).toEqual(['9']);
    });

    it('status: patches merge, values read back as set, and the pass counter goes on', async () => {
      expect(await store.nextPassId('s')).toBe(1);
      await store.setStatus('s', {
        state: 'paused',
        reason: 'guard',
        guard: { side: 'left', deletes: 5, linked: 9 },
      });
      await store.setStatus('s', {
        lastPassAt: '2026-01-01T00:00:00Z',
        lastPass: { created: 3, updated: 0 },
        deletesConfirmed: true,
        fullScanDue: true,
        lagMs: 1234,
      });
      expect(await store.nextPassId('s')).toBe(2);
      expect(await store.status('s')).toEqual({
        sync: 's',
        state: 'paused',
        reason: 'guard',
        lastPassAt: '2026-01-01T00:00:00Z',
        lastPass: { created: 3, updated: 0 },
        guard: { side: 'left', deletes: 5, linked: 9 },
        deletesConfirmed: true,
        fullScanDue: true,
        lagMs: 1234,
      });
      await store.setStatus('s', {
        state: 'ok',
        reason: null,
        guard: null,
        deletesConfirmed: false,
        lagMs: null,
      });
      expect(await store.status('s')).toMatchObject({
        state: 'ok',
        reason: null,
        guard: null,
        deletesConfirmed: false,
        fullScanDue: true,
        lagMs: null,
        lastPass: { created: 3, updated: 0 },
      });
      expect(await store.nextPassId('s')).toBe(3);
      expect(await store.nextPassId('t')).toBe(1);
      expect((await store.status('t')).state).toBe('ok');
      // Status alone does not make a sync less fresh.
      expect(await store.isFresh('s')).toBe(true);
    });

    it('full scans: marks per side and pass, unseen links up to the id taken at the start', async () => {
      await store.commit(
        commit({ upsertLinks: ['a', 'b', 'c', 'd'].map((k) => newLink(k, `l${k}`, `r${k}`)) }),
      );
      const links = await store.scanLinks('s', 0, 10);
      const maxId = await store.maxLinkId('s');
      const pass = await store.nextPassId('s');
      await store.markSeen('s', 'left', ['la', 'lb', 'lc'], pass, maxId);
      await store.markSeen('s', 'right', ['ra', 'rc', 'rd', 'nope'], pass, maxId);
      // A link made during the pass is not among the unseen, whatever its marks.
      await store.commit(commit({ upsertLinks: [newLink('e', 'le', 're')] }));
      await store.markSeen('s', 'left', ['le'], pass, maxId);
      const marks = await store.linkMarks('s', 'left', ['la', 'ld', 'le', 'zz']);
      expect(marks.get('la')).toEqual({ id: links[0]!.id, seen: pass });
      expect(marks.get('ld')).toEqual({ id: links[3]!.id, seen: 0 });
      expect(marks.get('le')!.seen).toBe(0);
      expect(marks.has('zz')).toBe(false);
      expect(await store.countUnseen('s', pass, maxId)).toEqual({ left: 1, right: 1 });
      const unseen = await store.unseenLinks('s', pass, maxId, 0, 10);
      expect(unseen.map((l) => l.identity)).toEqual(['b', 'd']);
      expect(unseen[0]).toMatchObject({ leftSeen: pass, rightSeen: 0 });
      expect((await store.unseenLinks('s', pass, maxId, unseen[0]!.id!, 10)).map((l) => l.identity)).toEqual([
        'd',
      ]);
      expect((await store.unseenLinks('s', pass, maxId, 0, 1)).map((l) => l.identity)).toEqual(['b']);
      // Saving a link's base keeps its marks.
      await store.commit(commit({ upsertLinks: [{ ...links[0]!, base: { email: same('s0') } }] }));
      expect((await store.linkMarks('s', 'left', ['la'])).get('la')!.seen).toBe(pass);
    });

    it('keys and identities with any characters are kept as they are', async () => {
      const odd = ['', 'a,b', '{x}', '"q"', 'back\\slash', 'NULL', ' sp ', 'é😀', "it's", '(1,2)'];
      await store.commit(commit({ upsertLinks: odd.map((k, i) => newLink(`id${k}`, k, `r${i}`)) }));
      const found = await store.linksByKeys('s', 'left', odd);
      expect(sorted(found.map((l) => l.leftKey!))).toEqual(sorted(odd));
      expect((await store.linksByIdentities('s', ['id"q"', 'idNULL'])).map((l) => l.leftKey)).toHaveLength(2);
      await store.addRetry('s', 'left', odd);
      expect(sorted(await store.takeRetry('s', 'left', 100))).toEqual(sorted(odd));
      await store.commit(
        commit({
          dropRetry: odd.map((key) => ({ side: 'left' as const, key })),
          cursors: { left: '{"lsn":"0/1"}' },
        }),
      );
      expect(await store.takeRetry('s', 'left', 100)).toEqual([]);
      expect(await store.cursor('s', 'left')).toBe('{"lsn":"0/1"}');
    });

    it('a commit of thousands of links, then of all their bases, in one go each', async () => {
      const n = 5000;
      await store.commit(
        commit({ upsertLinks: Array.from({ length: n }, (_, i) => newLink(`${i}`, `${i}`, `r${i}`)) }),
      );
      expect(await store.countLinks('s')).toBe(n);
      const all: Link[] = [];
      for (let after = 0; ; ) {
        const page = await store.scanLinks('s', after, 1000);
        if (page.length === 0) break;
        all.push(...page);
        after = page[page.length - 1]!.id!;
      }
      expect(all.map((l) => l.identity)).toEqual(Array.from({ length: n }, (_, i) => `${i}`));
      const moved: Base = { email: same('s1') };
      await store.commit(commit({ upsertLinks: all.map((l) => ({ ...l, base: moved })) }));
      expect(await store.countLinks('s')).toBe(n);
      const sample = await store.linksByKeys('s', 'right', ['r0', 'r2500', `r${n - 1}`]);
      expect(sample.map((l) => l.base)).toEqual([moved, moved, moved]);
      expect(new Set(ids(sample))).toEqual(new Set([all[0]!.id, all[2500]!.id, all[n - 1]!.id]));
    });

    it('forget removes one sync entirely and leaves the others', async () => {
      for (const sync of ['s', 't']) {
        await store.commit(
          commit(
            {
              upsertLinks: [{ ...newLink('a', '1', '10'), sync }],
              addDetached: [{ sync, side: 'left', key: '5', identity: '5' }],
              addQuarantine: [quarantine('2', { sync })],
              history: [{ sync, identity: 'a', at: '2026-01-01T00:00:00Z', side: 'left', action: 'created' }],
              cursors: { left: 'L' },
            },
            sync,
          ),
        );
        await store.addIntent({
          sync,
          token: `tok-${sync}`,
          createdAt: '2026-01-01T00:00:00Z',
          creates: [],
          links: [],
        });
        await store.addRetry(sync, 'left', ['1']);
        await store.setStatus(sync, { state: 'paused', reason: 'r' });
      }
      await store.forget('s');
      expect(await store.isFresh('s')).toBe(true);
      expect(await store.countLinks('s')).toBe(0);
      expect(await store.cursor('s', 'left')).toBeNull();
      expect(await store.intents('s')).toEqual([]);
      expect(await store.quarantined('s')).toEqual([]);
      expect(await store.history('s', 'a')).toEqual([]);
      expect(await store.takeRetry('s', 'left', 10)).toEqual([]);
      expect(await store.detachedByKeys('s', 'left', ['5'])).toEqual([]);
      expect((await store.status('s')).state).toBe('ok');
      expect(await store.nextPassId('s')).toBe(1);
      // The other sync is untouched.
      expect(await store.countLinks('t')).toBe(1);
      expect(await store.cursor('t', 'left')).toBe('L');
      expect(await store.intents('t')).toHaveLength(1);
      expect(await store.countQuarantined('t')).toBe(1);
      expect(await store.history('t', 'a')).toHaveLength(1);
      expect(await store.takeRetry('t', 'left', 10)).toEqual(['1']);
      expect(await store.detachedByKeys('t', 'left', ['5'])).toHaveLength(1);
      expect((await store.status('t')).state).toBe('paused');
    });

    it('everything saved is there after the store is closed and opened again', async () => {
      await store.commit(
        commit({
          upsertLinks: [newLink('a', '1', '10')],
          addQuarantine: [quarantine('2')],
          history: [
            { sync: 's', identity: 'a', at: '2026-01-01T00:00:00Z', side: 'left', action: 'created' },
          ],
          cursors: { left: 'L', right: 'R' },
        }),
      );
      await store.setStatus('s', { state: 'error', reason: 'x' });
      await store.addRetry('s', 'right', ['10']);
      const links = await store.scanLinks('s', 0, 10);
      const quarantined = await store.quarantined();
      store = await reopen(store);
      expect(await store.scanLinks('s', 0, 10)).toEqual(links);
      expect(await store.quarantined()).toEqual(quarantined);
      expect(await store.history('s', 'a')).toHaveLength(1);
      expect([await store.cursor('s', 'left'), await store.cursor('s', 'right')]).toEqual(['L', 'R']);
      expect((await store.status('s')).reason).toBe('x');
      expect(await store.takeRetry('s', 'right', 10)).toEqual(['10']);
      // New ids go on after the ones handed out before.
      await store.commit(commit({ upsertLinks: [newLink('b', '2', '20')] }));
      expect((await store.linksByIdentities('s', ['b']))[0]!.id).toBeGreaterThan(links[0]!.id!);
    });

    it('two stores open on one state at once (two runs): both commit, nothing lost or doubled', async () => {
      await store.close();
      opened.splice(0);
      await loc.cleanup();
      loc = await factory.location();
      // Opened together on a new state: one makes it, the other waits and finds it made.
      const [one, two] = await Promise.all([open(), open()]);
      const batch = (prefix: string) =>
        commit({
          upsertLinks: Array.from({ length: 200 }, (_, i) => newLink(`${prefix}${i}`, `${prefix}${i}`, null)),
        });
      const passes = await Promise.all([
        one!.commit(batch('a')),
        two!.commit(batch('b')),
        one!.nextPassId('s'),
        two!.nextPassId('s'),
        one!.commit(batch('c')),
        two!.commit(batch('d')),
      ]);
      expect(sorted([passes[2], passes[3]] as number[])).toEqual([1, 2]);
      expect(await one!.countLinks('s')).toBe(800);
      const all = await two!.scanLinks('s', 0, 1000);
      expect(new Set(all.map((l) => l.id)).size).toBe(800);
      store = one!;
    });

    it('a state written by a newer tandem is refused with STATE_VERSION and the fix', async () => {
      await store.commit(commit({ upsertLinks: [newLink('a', '1', '10')] }));
      await store.close();
      opened.splice(0);
      await loc.makeNewer();
      const refused = loc.open();
      await expect(refused).rejects.toBeInstanceOf(TandemError);
      await expect(refused).rejects.toMatchObject({
        code: 'STATE_VERSION',
        message: expect.stringMatching(/has schema version 999, newer than this tandem knows \(\d+\)/),
        fix: expect.stringContaining('upgrade tandem'),
      });
    });
  });
}
