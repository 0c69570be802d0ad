/**
 * The state store conformance suite's links: what a commit saves, and all of
 * it or nothing; ids; every route to a link; the order calls are served in;
 * capture cursors; keys of any characters; commits of thousands of links.
 * Registered by `storeConformance` (store-conformance.ts).
 */
import { beforeEach, expect, it } from 'vitest';
import type { Base } from '../../src/core/merge.js';
import type { Link, StateStore } from '../../src/state/store.js';
import type { StoreSuite } from './store-conformance.js';
import { BASE, commit, ids, newLink, quarantine, same, sorted } from './store-conformance-fixtures.js';

export function linkTests(suite: StoreSuite): void {
  let store: StateStore;
  beforeEach(() => {
    store = suite.store;
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
        history: [{ sync: 's', identity: 'b', at: '2026-01-01T00:00:00Z', side: 'left', action: 'created' }],
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
}
