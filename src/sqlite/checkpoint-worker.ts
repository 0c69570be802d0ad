/**
 * The thread behind BackgroundCheckpointer (checkpointer.ts): PASSIVE
 * checkpoints of one SQLite file on its own connection, until asked to close.
 *
 * It looks every 50 ms at how many WAL frames are not yet copied back (from
 * the WAL index, the `-shm` file: `mxFrame` at byte 16 and `nBackfill` at byte
 * 96, native byte order; https://www.sqlite.org/walformat.html) and
 * checkpoints once 256 have piled up (1 MB at 4 KB pages). That is well before
 * a writer's own automatic checkpoint (1,000 frames by default), so under a
 * steady stream of writes the copying happens here; and a trickle of small
 * commits (a running `tandem run`) is not met with a checkpoint, and its two
 * syncs, every few moments. Reading the index takes no lock: a torn read only
 * makes one look early or late.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const LOOK_EVERY_MS = 50;
const FRAMES = 256;

const path = (workerData as { path: string }).path;
const db = new Database(path, { fileMustExist: true });
// Checkpoints still sync the WAL before copying and the database after; NORMAL only
// drops the per-commit sync, and this connection commits nothing.
db.pragma('synchronous = NORMAL');
// Busy means another connection is checkpointing: try again next time.
db.pragma('busy_timeout = 0');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
// A first read opens this connection's WAL index, so the -shm file stays while this thread reads it.
db.prepare('SELECT count(*) FROM sqlite_master').get();

const header = Buffer.alloc(100);
const littleEndian = endianness() === 'LE';
let shm: number | null = null;

/** WAL frames not yet copied back; null when the index cannot be read (not in WAL mode). */
function framesBehind(): number | null {
  try {
    shm ??= openSync(`${path}-shm`, 'r');
    if (readSync(shm, header, 0, header.length, 0) < header.length) return null;
    const mxFrame = littleEndian ? header.readUInt32LE(16) : header.readUInt32BE(16);
    const backfilled = littleEndian ? header.readUInt32LE(96) : header.readUInt32BE(96);
    return mxFrame - backfilled;
  } catch {
    return null;
  }
}

const timer = setInterval(() => {
  const behind = framesBehind();
  // Unknown: the writers' own checkpoints do the work, as they would without this thread.
  if (behind === null || behind < FRAMES) return;
  try {
    checkpoint.get();
  } catch {
    // A file being closed or locked: the writer's own checkpoint covers for this one.
  }
}, LOOK_EVERY_MS);

parentPort?.on('message', (msg: unknown) => {
  if (msg !== 'close') return;
  clearInterval(timer);
  if (shm !== null) closeSync(shm);
  db.close();
  parentPort?.close();
});
