/**
 * The state store on its own thread, as the CLI runs it (the compiled worker in
 * dist/, built by `npm test`): calls are served in the order sent, so a commit
 * that was not waited for is seen by the next read; errors cross the thread with
 * their code and fix.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyCommit, type StateStore } from '../../src/state/store.js';

// The compiled modules: the worker thread runs dist/state/store-worker.js.
const dist = (path: string) => new URL(`../../dist/${path}`, import.meta.url).href;
const { WorkerStateStore } = (await import(
  dist('state/worker-store.js')
)) as typeof import('../../src/state/worker-store.js');
const { TandemError } = (await import(dist('core/errors.js'))) as typeof import('../../src/core/errors.js');

const dirs: string[] = [];
function statePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-worker-store-'));
  dirs.push(dir);
  return join(dir, 'state.db');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const base = { email: ['sa:b', 'sa:b'] as [string, string], name: ['n', 'sc:d'] as [string, string] };

describe('WorkerStateStore', () => {
  it('runs on a thread, and a read sent after an unawaited commit sees it', async () => {
    const store: StateStore = await WorkerStateStore.open(statePath());
    expect(store).toBeInstanceOf(WorkerStateStore);
    try {
      const intent = {
        sync: 's',
        token: 't1',
        createdAt: '2026-11-27T00:00:00Z',
        creates: [
          {
            ref: 1,
            target: 'right' as const,
            source: 'left' as const,
            sourceKey: '7',
            identity: '7',
            base,
            leftAt: null,
            rightAt: null,
          },
        ],
        links: [],
      };
      await store.addIntent(intent);
      const committed = store.commit({
        ...emptyCommit('s'),
        linkCreates: { token: 't1', landed: [[1, '70']] },
        removeIntents: ['t1'],
        cursors: { left: '5' },
      });
      // Not awaited: the worker serves these after the commit.
      const [links, cursor, intents] = await Promise.all([
        store.linksByKeys('s', 'right', ['70']),
        store.cursor('s', 'left'),
        store.intents('s'),
      ]);
      await committed;
      expect(links).toMatchObject([{ identity: '7', leftKey: '7', rightKey: '70', base }]);
      expect(cursor).toBe('5');
      expect(intents).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('rejects a call that fails in the worker with the same TandemError', async () => {
    const store = await WorkerStateStore.open(statePath());
    try {
      const failed = store.commit({
        ...emptyCommit('s'),
        linkCreates: { token: 'gone', landed: [[1, 'k']] },
      });
      await expect(failed).rejects.toBeInstanceOf(TandemError);
      await expect(failed).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringContaining('gone'),
      });
      // The store goes on serving after a failed call.
      expect(await store.countLinks('s')).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('fails to open a state file written by a newer tandem, naming the fix', async () => {
    const path = statePath();
    const db = new Database(path);
    db.pragma('user_version = 999');
    db.close();
    const opened = WorkerStateStore.open(path);
    await expect(opened).rejects.toBeInstanceOf(TandemError);
    await expect(opened).rejects.toMatchObject({
      code: 'STATE_VERSION',
      fix: expect.stringContaining('upgrade tandem'),
    });
  });
});
