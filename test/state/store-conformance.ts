/**
 * The conformance suite every state store passes, against a real database.
 * Each store's test file calls `storeConformance` once with a factory that
 * makes a fresh, empty state per test; the suite opens stores on it (more
 * than one at a time, and again after closing, as separate runs of tandem
 * would) and checks what a user depends on: what a commit saves and that it
 * saves all of it or nothing, links found by every route, intents surviving
 * a stop, quarantine, history, retries, status, full-scan marks, forget, and
 * a state written by a newer tandem refused.
 *
 * This file holds the harness and the tests of a state's life (new, its id,
 * closed and opened again, two runs at once, forget, a newer schema); the
 * rest is in store-conformance-links.ts, -intents.ts and -records.ts, on the
 * shared StoreSuite.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TandemError } from '../../src/core/errors.js';
import type { StateStore } from '../../src/state/store.js';
import { commit, newLink, quarantine, sorted } from './store-conformance-fixtures.js';
import { intentTests } from './store-conformance-intents.js';
import { linkTests } from './store-conformance-links.js';
import { recordTests } from './store-conformance-records.js';

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

/** What the suite's parts share: the store open for the test running now, and how to open more. */
export interface StoreSuite {
  readonly store: StateStore;
  /** Opens another store on the test's state (closed after the test). */
  open(): Promise<StateStore>;
  /** Closes `st` and opens the state again, as the next run of tandem would. */
  reopen(st: StateStore): Promise<StateStore>;
}

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

    const suite: StoreSuite = {
      get store() {
        return store;
      },
      open,
      reopen,
    };
    linkTests(suite);
    intentTests(suite);
    recordTests(suite);
  });
}
