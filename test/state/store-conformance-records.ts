/**
 * The state store conformance suite's per-record entries and per-sync
 * status: detached records, quarantine, history, retries, status and
 * full-scan marks.
 * Registered by `storeConformance` (store-conformance.ts).
 */
import { beforeEach, expect, it } from 'vitest';
import type { HistoryEntry, StateStore } from '../../src/state/store.js';
import type { StoreSuite } from './store-conformance.js';
import { commit, newLink, quarantine, same, sorted } from './store-conformance-fixtures.js';

export function recordTests(suite: StoreSuite): void {
  let store: StateStore;
  beforeEach(() => {
    store = suite.store;
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
}
