/**
 * The background checkpointer, as the CLI runs it (the compiled worker in
 * dist/, built by `npm test`): it copies a writer's WAL back into the database
 * while the writer goes on, so the writer's own checkpoint finds nothing left
 * to copy; it stops cleanly, and a file it cannot open costs nothing.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

const dist = (path: string) => new URL(`../../dist/${path}`, import.meta.url).href;
const { BackgroundCheckpointer } = (await import(
  dist('sqlite/checkpointer.js')
)) as typeof import('../../src/sqlite/checkpointer.js');

const dirs: string[] = [];
function dbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-checkpointer-'));
  dirs.push(dir);
  return join(dir, 'data.db');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('BackgroundCheckpointer', () => {
  it("copies the writer's WAL back into the database while the writer holds on to it", async () => {
    const path = dbPath();
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    // The writer never checkpoints by itself here, so pages reach the database file only
    // through the checkpointer.
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let batch = 0; batch < 40; batch++) {
      db.transaction(() => {
        for (let i = 0; i < 200; i++) insert.run('x'.repeat(200));
      })();
    }
    // ~2 MB of rows, all of it still in the WAL.
    const sizeBefore = statSync(path).size;
    expect(sizeBefore).toBeLessThan(64 * 1024);
    const cp = BackgroundCheckpointer.start(path);
    expect(cp).not.toBeNull();
    try {
      let size = sizeBefore;
      for (let i = 0; i < 150 && size < 1600 * 1024; i++) {
        await sleep(20);
        size = statSync(path).size;
      }
      expect(size).toBeGreaterThan(1600 * 1024);
      // The writer goes on writing meanwhile.
      insert.run('after');
    } finally {
      await cp!.stop();
    }
    expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(8001);
    db.close();
  });

  it('leaves a trickle of small commits to the writer (no checkpoint, and its syncs, for each)', async () => {
    const path = dbPath();
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const sizeBefore = statSync(path).size;
    const cp = BackgroundCheckpointer.start(path);
    try {
      const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
      // ~50 frames over half a second: far below the 256 it waits for.
      for (let i = 0; i < 25; i++) {
        insert.run('x'.repeat(100));
        await sleep(20);
      }
      await sleep(200);
      // Not one page copied back into the database file.
      expect(statSync(path).size).toBe(sizeBefore);
    } finally {
      await cp!.stop();
      db.close();
    }
  });

  it('stops twice without trouble, and a file it cannot open only ends its thread', async () => {
    const path = dbPath();
    const cp = BackgroundCheckpointer.start(path); // no such file: the worker exits at once
    expect(cp).not.toBeNull();
    await sleep(200);
    await cp!.stop();
    await cp!.stop();
  });
});
