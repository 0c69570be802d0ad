/**
 * The state store conformance suite's intents: saved before the writes, read
 * back whole after a stop, and the links a commit makes from the creates that
 * landed.
 * Registered by `storeConformance` (store-conformance.ts).
 */
import { beforeEach, expect, it } from 'vitest';
import { TandemError } from '../../src/core/errors.js';
import type { Base } from '../../src/core/merge.js';
import type { Intent, StateStore } from '../../src/state/store.js';
import type { StoreSuite } from './store-conformance.js';
import { BASE, commit, createOf7, newLink, same } from './store-conformance-fixtures.js';

export function intentTests(suite: StoreSuite): void {
  let store: StateStore;
  beforeEach(() => {
    store = suite.store;
  });
  const { reopen } = suite;

  it('a commit naming creates of an intent the store does not have fails as a bug, saving nothing', async () => {
    const bad = store.commit(
      commit({ linkCreates: { token: 'gone', landed: [[1, 'k']] }, cursors: { left: 'x' } }),
    );
    await expect(bad).rejects.toBeInstanceOf(TandemError);
    await expect(bad).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('gone') });
    expect(await store.cursor('s', 'left')).toBeNull();
  });

  it('intents: saved before the writes, read back whole after a stop, ordered by time then token', async () => {
    const intent: Intent = {
      sync: 's',
      token: 'tok-b',
      createdAt: '2026-01-01T00:00:02Z',
      creates: [
        createOf7(),
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
        createOf7(),
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
    await store.commit(commit({ linkCreates: { token: 't1', landed: [[4, 'l1']] }, removeIntents: ['t1'] }));
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
}
