/**
 * MySQL 8.0's binlog, byte for byte, through zongji's own decoder and into
 * tandem's binlog stream: what the test machines cannot show with a server
 * (they install only MariaDB, whose binlog differs: its own GTID events, v1
 * row events, no optional table metadata).
 *
 * The events are built as a MySQL 8.0 dump sends them
 * (test/support/mysql8-binlog.ts: GTID_LOG_EVENT or ANONYMOUS_GTID_LOG_EVENT
 * before each transaction, v2 row events, TABLE_MAP with FULL metadata,
 * CRC32 checksums). Each is decoded by zongji's BinlogPacket, as its dump
 * connection does, and handed to BinlogStream as the live stream hands it
 * (feedEvent). What is checked is what tandem makes of them: the changes of
 * the watched table with their keys (a BIGINT UNSIGNED beyond 2^63 exactly),
 * a key change as delete and insert, a TRUNCATE, each change's position at
 * the byte where its transaction's GTID event starts, and how far the read
 * point moves between transactions and on a heartbeat.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { position } from '../../src/connectors/mysql/binlog-position.js';
import { type AnyEvent, BinlogStream } from '../../src/connectors/mysql/binlog-stream.js';
import { connectionOptions } from '../../src/connectors/mysql/capture-sql.js';
import { Mysql8Binlog } from '../support/mysql8-binlog.js';

const URL = 'mysql://tandem@127.0.0.1:1/shop';

// zongji's decoder, the classes its dump connection parses every event with (not part of its exports).
const zongjiRoot = dirname(createRequire(import.meta.url).resolve('@vlasky/zongji'));
const zongjiModule = (path: string) => import(pathToFileURL(join(zongjiRoot, path)).href);
const { default: initBinlogPacketClass } = await zongjiModule('lib/packet/binlog.js');
const { Parser } = await zongjiModule('lib/reader.js');

interface DecodedEvent extends AnyEvent {
  tableId?: number;
  schemaName?: string;
  tableName?: string;
  hasSelfDescribingMetadata?(): boolean;
  buildColumnSchemas?(): unknown[];
  updateColumnInfo?(): void;
}

/**
 * Decodes a dump's events as zongji does for a stream watching `schema.table`:
 * the BinlogPacket class over its parser, with checksums on, and for a
 * TABLE_MAP with FULL metadata the column schemas taken from the event itself
 * (zongji's index.js does the same before it emits the event).
 */
function zongjiDecoder(schema: string, table: string): (bytes: Buffer) => DecodedEvent {
  const zongji = {
    useChecksum: true,
    isMariaDb: false,
    tableMap: {} as Record<number, unknown>,
    connection: { config: connectionOptions(URL) },
    _skipSchema: (db: string, name: string) => db !== schema || name !== table,
    _warnUnsupportedEvent: () => {},
  };
  const BinlogPacket = initBinlogPacketClass(zongji);
  return (bytes) => {
    const parser = new Parser();
    // The network packet's first byte (OK), then the event.
    parser.append(Buffer.concat([Buffer.from([0]), bytes]));
    const packet = new BinlogPacket();
    packet.parse(parser);
    const e = packet.getEvent() as DecodedEvent;
    if (e.getTypeName() === 'TableMap' && e.hasSelfDescribingMetadata?.()) {
      zongji.tableMap[e.tableId!] = {
        columnSchemas: e.buildColumnSchemas!(),
        parentSchema: e.schemaName,
        tableName: e.tableName,
      };
      e.updateColumnInfo!();
    }
    return e;
  };
}

const BIG = 18446744073709551615n; // the largest BIGINT UNSIGNED

/** A dump of binlog.000003: inserts, updates (one moving a key), a delete, a TRUNCATE, a heartbeat. */
function dump(gtids: boolean) {
  const b = new Mysql8Binlog('binlog.000003', gtids);
  const events = b.start();
  const starts: number[] = [];
  const ends: number[] = [];
  const add = (group: () => Buffer[]) => {
    starts.push(b.at);
    events.push(...group());
    ends.push(b.at);
  };
  add(() =>
    b.transaction('shop', 'items', {
      insert: [
        { id: 1n, name: 'a' },
        { id: BIG, name: null },
      ],
    }),
  );
  add(() =>
    b.transaction('shop', 'items', {
      update: [
        [
          { id: 1n, name: 'a' },
          { id: 1n, name: 'b' },
        ],
        [
          { id: BIG, name: null },
          { id: 5n, name: 'z' },
        ],
      ],
    }),
  );
  add(() => b.transaction('shop', 'items', { delete: [{ id: 5n, name: 'z' }] }));
  add(() => b.ddl('shop', 'TRUNCATE TABLE items'));
  events.push(b.heartbeat());
  return { events, starts, ends, end: b.at };
}

function streamOf(gtids: boolean) {
  const s = new BinlogStream(URL, 'test'); // never connects: the events are fed by hand
  s.watch('shop', 'items', 'id', 'integer', position({ file: 3, offset: 4 }, 0));
  const d = dump(gtids);
  const decode = zongjiDecoder('shop', 'items');
  return { s, d, decoded: d.events.map(decode) };
}

const at = (offset: number, n: number) => position({ file: 3, offset }, n);

describe('MySQL 8.0 binlog bytes, decoded by zongji, read by the binlog stream', () => {
  for (const gtids of [true, false]) {
    const mode = gtids ? 'gtid_mode=ON (GTID_LOG_EVENT)' : 'gtid_mode=OFF (ANONYMOUS_GTID_LOG_EVENT)';

    it(`${mode}: every change of the table, keys exact, at its transaction's first byte`, () => {
      const { s, d, decoded } = streamOf(gtids);
      expect(decoded.map((e) => e.getTypeName())).toEqual([
        'Rotate',
        'Format',
        'PreviousGtids',
        ...[0, 1, 2].flatMap(() => [
          gtids ? 'Gtid' : 'AnonymousGtid',
          'Query',
          'TableMap',
          expect.stringMatching(/^(Write|Update|Delete)Rows$/),
          'Xid',
        ]),
        gtids ? 'Gtid' : 'AnonymousGtid',
        'Query',
        'Heartbeat',
      ]);
      for (const e of decoded) s.feedEvent(e);
      expect(s.failed).toBeNull();
      const feed = s.feeds.get('shop.items')!;
      const entries = feed.entries.map((e) =>
        'event' in e
          ? [e.event.op, e.event.key, e.event.position]
          : 'truncate' in e
            ? ['truncate', e.truncate]
            : ['skip', e.skip],
      );
      const [t1, t2, t3, t4] = d.starts as [number, number, number, number];
      expect(entries).toEqual([
        ['insert', '1', at(t1, 1)],
        ['insert', String(BIG), at(t1, 2)],
        ['update', '1', at(t2, 1)],
        // The key moved: the old record went and a new one came.
        ['delete', String(BIG), at(t2, 2)],
        ['insert', '5', at(t2, 3)],
        ['delete', '5', at(t3, 1)],
        ['truncate', at(t4, 1)],
      ]);
      // Commit times from the events themselves.
      const first = feed.entries[0]!;
      expect('event' in first && first.event.at).toBe('2024-11-28T08:00:00.000Z');
    });

    it(`${mode}: the read point stays at a transaction's start until its XID, then moves; a heartbeat moves it on`, () => {
      const { s, d, decoded } = streamOf(gtids);
      // Up to the first transaction's row event: the read point is where that transaction began.
      const rowsAt = decoded.findIndex((e) => /Rows$/.test(e.getTypeName()));
      for (const e of decoded.slice(0, rowsAt + 1)) s.feedEvent(e);
      expect(s.readTo).toEqual({ file: 3, offset: d.starts[0] });
      s.feedEvent(decoded[rowsAt + 1]!); // its XID
      expect(s.readTo).toEqual({ file: 3, offset: d.ends[0] });
      for (const e of decoded.slice(rowsAt + 2)) s.feedEvent(e);
      expect(s.readTo).toEqual({ file: 3, offset: d.end });
      expect(s.failed).toBeNull();
    });
  }
});
