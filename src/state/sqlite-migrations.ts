/**
 * Versioned schema of the SQLite state store. Append a migration; never edit one
 * that has shipped. `user_version` records how far a file has come.
 */
import { storedKeySql } from './sqlite-keys.js';
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE links (
    id INTEGER PRIMARY KEY,
    sync TEXT NOT NULL,
    identity TEXT NOT NULL,
    left_key TEXT,
    right_key TEXT,
    base TEXT NOT NULL,
    left_at TEXT,
    right_at TEXT,
    left_seen INTEGER NOT NULL DEFAULT 0,
    right_seen INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sync, identity)
  );
  CREATE INDEX links_left ON links (sync, left_key);
  CREATE INDEX links_right ON links (sync, right_key);
  CREATE TABLE detached (
    sync TEXT NOT NULL, side TEXT NOT NULL, key TEXT NOT NULL, identity TEXT NOT NULL,
    PRIMARY KEY (sync, side, key)
  );
  CREATE TABLE intents (
    token TEXT PRIMARY KEY, sync TEXT NOT NULL, created_at TEXT NOT NULL, body TEXT NOT NULL
  );
  CREATE TABLE cursors (
    sync TEXT NOT NULL, side TEXT NOT NULL, position TEXT NOT NULL,
    PRIMARY KEY (sync, side)
  );
  CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    sync TEXT NOT NULL, side TEXT NOT NULL, key TEXT, identity TEXT,
    record_side TEXT NOT NULL, record_key TEXT NOT NULL,
    reason TEXT NOT NULL, message TEXT NOT NULL, detail TEXT,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
    UNIQUE (sync, record_side, record_key)
  );
  CREATE TABLE retry (
    sync TEXT NOT NULL, side TEXT NOT NULL, key TEXT NOT NULL,
    PRIMARY KEY (sync, side, key)
  );
  CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    sync TEXT NOT NULL, identity TEXT NOT NULL, at TEXT NOT NULL,
    side TEXT NOT NULL, action TEXT NOT NULL, detail TEXT
  );
  CREATE INDEX history_identity ON history (sync, identity, id);
  CREATE TABLE sync_status (
    sync TEXT PRIMARY KEY,
    state TEXT NOT NULL DEFAULT 'ok',
    reason TEXT,
    last_pass_at TEXT,
    last_pass TEXT,
    guard TEXT,
    deletes_confirmed INTEGER NOT NULL DEFAULT 0,
    full_scan_due INTEGER NOT NULL DEFAULT 0,
    pass_seq INTEGER NOT NULL DEFAULT 0,
    lag_ms INTEGER
  );
  `,
  // 2: link keys and identities stored as integers where they are integer text (sqlite-keys.ts).
  `
  CREATE TABLE links_v2 (
    id INTEGER PRIMARY KEY,
    sync TEXT NOT NULL,
    identity NOT NULL,
    left_key,
    right_key,
    base TEXT NOT NULL,
    left_at TEXT,
    right_at TEXT,
    left_seen INTEGER NOT NULL DEFAULT 0,
    right_seen INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sync, identity)
  );
  INSERT INTO links_v2
    SELECT id, sync, ${storedKeySql('identity')}, ${storedKeySql('left_key')}, ${storedKeySql('right_key')},
           base, left_at, right_at, left_seen, right_seen
    FROM links;
  DROP TABLE links;
  ALTER TABLE links_v2 RENAME TO links;
  CREATE INDEX links_left ON links (sync, left_key);
  CREATE INDEX links_right ON links (sync, right_key);
  `,
  // 3: the state's own id, which the tables it captures are claimed under (Connector.claimCapture);
  //    and integer keys that version 2 bound as REALs (8 bytes each) made INTEGERs, as it meant
  //    (≤ 15 digits, so the cast is exact; equal values, so no UNIQUE index is crossed).
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  INSERT INTO meta (key, value) VALUES ('instance', lower(hex(randomblob(16))));
  UPDATE links SET identity = CAST(identity AS INTEGER) WHERE typeof(identity) = 'real';
  UPDATE links SET left_key = CAST(left_key AS INTEGER) WHERE typeof(left_key) = 'real';
  UPDATE links SET right_key = CAST(right_key AS INTEGER) WHERE typeof(right_key) = 'real';
  `,
];
