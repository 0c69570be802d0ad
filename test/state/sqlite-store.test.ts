/**
 * The SQLite state store (in the engine's thread, as `status` and the other
 * commands that do not sync open it) through the state store conformance
 * suite, each test on a state file of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStateStore } from '../../src/state/sqlite-store.js';
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
