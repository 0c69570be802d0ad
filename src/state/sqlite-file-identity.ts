/**
 * A state file copied elsewhere keeps the id it was made with (meta
 * `instance`), so a copy run beside its original would claim the same tables
 * under the same id (Connector.claimCapture) and the two would each let go of
 * changes the other has not read. So the file's place is kept beside the id:
 * its real path and its inode. Opened at another path as another file, the
 * state is a copy, and it gets an id of its own: its claims are then told
 * apart, and a table its original holds is refused with CAPTURE_CLAIMED,
 * naming the original. Renamed or moved within its file system (the same
 * inode), or put back at its own path (restored from a backup), it is the
 * same state and keeps its id.
 *
 * The inode alone, without the device number: a file bind-mounted into a
 * container may show another device, and is the same file. A copy moved to
 * another file system is a new file at a new path, and rightly a copy: when
 * the original is gone for good, `tandem teardown` with the copy's config
 * lets it take the tables over (the claim error says so).
 */
import { realpathSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';

interface Place {
  file: string | undefined;
  inode: string | undefined;
}

/** Notes where the state file is, and gives a copy an id of its own (see above). */
export function identifyStateFile(db: Database.Database, path: string): void {
  const here: Place = { file: realpathSync(path), inode: String(statSync(path).ino) };
  if (samePlace(placeOf(db), here)) return;
  // IMMEDIATE: two runs opening one copy at once give it one new id, not two.
  db.transaction(() => {
    const was = placeOf(db);
    if (samePlace(was, here)) return;
    const set = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    if (was.inode !== undefined && was.inode !== here.inode && was.file !== here.file) {
      db.prepare("UPDATE meta SET value = lower(hex(randomblob(16))) WHERE key = 'instance'").run();
      set.run('copied_from', was.file ?? '');
    }
    set.run('file', here.file);
    set.run('inode', here.inode);
  }).immediate();
}

function placeOf(db: Database.Database): Place {
  const value = (key: string) =>
    (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  return { file: value('file'), inode: value('inode') };
}

function samePlace(a: Place, b: Place): boolean {
  return a.file === b.file && a.inode === b.inode;
}
