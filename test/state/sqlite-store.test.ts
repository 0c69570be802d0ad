/**
 * The SQLite state store (in the engine's thread, as `status` and the other
 * commands that do not sync open it) through the state store conformance
 * suite, each test on a state file of its own.
 */
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/state/sqlite-migrations.js';
import { SqliteStateStore } from '../../src/state/sqlite-store.js';
import { emptyCommit } from '../../src/state/store.js';
import { storeConformance } from './store-conformance.js';

storeConformance('sqlite', {
  async location() {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-state-'));
    const path = join(dir, 'state.db');
    return {
      open: async () => SqliteStateStore.open(path),
      async makeNewer() {
        const db = new Database(path);
        db.pragma('user_version = 999');
        db.close();
      },
      async cleanup() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

/** `test` with the path of a state file in a directory of its own, removed afterwards. */
async function withStateFile(test: (path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-state-file-'));
  try {
    await test(join(dir, 'state.db'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A state file as schema `version` made it (its migrations, no rows), open to be filled. */
function stateFileOfVersion(path: string, version: number): Database.Database {
  const db = new Database(path);
  for (const sql of MIGRATIONS.slice(0, version)) db.exec(sql);
  db.pragma(`user_version = ${version}`);
  return db;
}

describe('a state file from before integer link keys (schema version 1)', () => {
  const KEYS = [
    '0',
    '7',
    '10',
    '-5',
    '123456789012345',
    '1234567890123456',
    '007',
    '-0',
    '1e3',
    ' 8',
    'abc',
    '',
  ];

  it('is migrated: every link is found by its keys and identity, read back as the same text, and stays unique', async () => {
    await withStateFile(async (path) => {
      const db = stateFileOfVersion(path, 1);
      const insert = db.prepare(
        `INSERT INTO links (sync, identity, left_key, right_key, base) VALUES ('s', ?, ?, ?, '{"f":"x"}')`,
      );
      // Identity and left key the same text (SOR mode); the right key another text.
      for (const [i, k] of KEYS.entries()) insert.run(k, k, `r${i}`);
      db.close();

      const store = await SqliteStateStore.open(path);
      try {
        for (const [i, k] of KEYS.entries()) {
          const [byLeft] = await store.linksByKeys('s', 'left', [k]);
          expect(byLeft).toMatchObject({ identity: k, leftKey: k, rightKey: `r${i}` });
          expect(await store.linksByIdentities('s', [k])).toHaveLength(1);
        }
        // Integer text is stored as an integer now; anything else stays text.
        const raw = new Database(path, { readonly: true });
        const types = raw.prepare('SELECT left_key, typeof(left_key) AS t FROM links').all() as {
          left_key: unknown;
          t: string;
        }[];
        raw.close();
        const integers = types.filter((r) => r.t === 'integer').map((r) => String(r.left_key));
        expect(integers.sort()).toEqual(['-5', '0', '10', '123456789012345', '7']);
        // A second link with an identity already there (in either spelling) is still refused.
        await expect(
          store.commit({
            ...emptyCommit('s'),
            upsertLinks: [
              {
                sync: 's',
                identity: '10',
                leftKey: 'x',
                rightKey: 'y',
                base: {},
                leftAt: null,
                rightAt: null,
              },
            ],
          }),
        ).rejects.toThrow(/UNIQUE/);
      } finally {
        await store.close();
      }
    });
  });
});

describe('link keys in the state file', () => {
  it('are stored as INTEGERs when they are integer text, whether saved as links or linked from an intent', async () => {
    await withStateFile(async (path) => {
      const store = await SqliteStateStore.open(path);
      try {
        await store.commit({
          ...emptyCommit('s'),
          upsertLinks: [
            {
              sync: 's',
              identity: '41',
              leftKey: '41',
              rightKey: 'r41',
              base: {},
              leftAt: null,
              rightAt: null,
            },
          ],
        });
        await store.addIntent({
          sync: 's',
          token: 't1',
          createdAt: '2026-01-01T00:00:00.000Z',
          links: [],
          creates: [
            {
              ref: 1,
              target: 'right',
              source: 'left',
              sourceKey: '42',
              identity: '42',
              base: { f: ['a', 'a'] },
              leftAt: null,
              rightAt: null,
            },
          ],
        });
        await store.commit({
          ...emptyCommit('s'),
          removeIntents: ['t1'],
          linkCreates: { token: 't1', landed: [[1, '9000000000']] },
        });
        const raw = new Database(path, { readonly: true });
        const types = raw
          .prepare(
            'SELECT typeof(identity) AS i, typeof(left_key) AS l, typeof(right_key) AS r FROM links ORDER BY id',
          )
          .all();
        raw.close();
        expect(types).toEqual([
          { i: 'integer', l: 'integer', r: 'text' },
          { i: 'integer', l: 'integer', r: 'integer' },
        ]);
        const [created] = await store.linksByKeys('s', 'right', ['9000000000']);
        expect(created).toMatchObject({ identity: '42', leftKey: '42', rightKey: '9000000000' });
      } finally {
        await store.close();
      }
    });
  });
});

describe('a state file of schema version 2 (integer keys bound as REALs)', () => {
  it('is migrated: the keys become INTEGERs, found and read back as before', async () => {
    await withStateFile(async (path) => {
      const db = stateFileOfVersion(path, 2);
      // What version 2 wrote: a JS number, which better-sqlite3 binds as a REAL.
      db.prepare(
        `INSERT INTO links (sync, identity, left_key, right_key, base) VALUES ('s', ?, ?, ?, '{"f":"x"}')`,
      ).run(7, 7, 'r7');
      db.close();

      const store = await SqliteStateStore.open(path);
      try {
        const raw = new Database(path, { readonly: true });
        const types = raw.prepare('SELECT typeof(identity) AS i, typeof(left_key) AS l FROM links').all();
        raw.close();
        expect(types).toEqual([{ i: 'integer', l: 'integer' }]);
        const [link] = await store.linksByKeys('s', 'left', ['7']);
        expect(link).toMatchObject({ identity: '7', leftKey: '7', rightKey: 'r7' });
        expect(await store.instanceId()).toMatch(/^[0-9a-f]{32}$/);
      } finally {
        await store.close();
      }
    });
  });
});

describe('a state file copied elsewhere', () => {
  const idOf = async (path: string) => {
    const store = SqliteStateStore.open(path);
    try {
      return await store.instanceId();
    } finally {
      await store.close();
    }
  };

  it('gets an id of its own and keeps it; the original keeps its id', async () => {
    await withStateFile(async (path) => {
      const id = await idOf(path);
      const copy = join(dirname(path), 'copy', 'state.db');
      mkdirSync(dirname(copy));
      copyFileSync(path, copy);
      const copyId = await idOf(copy);
      expect(copyId).toMatch(/^[0-9a-f]{32}$/);
      expect(copyId).not.toBe(id);
      expect(await idOf(copy)).toBe(copyId);
      expect(await idOf(path)).toBe(id);
    });
  });

  it('is the same state when moved, when opened through a link, or when put back at its own path', async () => {
    await withStateFile(async (path) => {
      const id = await idOf(path);
      // Renamed within its file system: the same file.
      const moved = join(dirname(path), 'moved.db');
      renameSync(path, moved);
      expect(await idOf(moved)).toBe(id);
      // Through a symbolic link: the same file.
      const link = join(dirname(path), 'link.db');
      symlinkSync(moved, link);
      expect(await idOf(link)).toBe(id);
      // A backup copied back over its own path: a new file, where the state was.
      const backup = join(dirname(path), 'backup.db');
      copyFileSync(moved, backup);
      rmSync(moved);
      copyFileSync(backup, moved);
      expect(await idOf(moved)).toBe(id);
    });
  });
});
