/**
 * Binlog events as a MySQL 8.0 server writes them and sends them down a
 * binlog dump (binlog_format=ROW, binlog_row_image=FULL,
 * binlog_row_metadata=FULL, binlog_checksum=CRC32), for tests that cannot
 * run MySQL: the test machines install only MariaDB.
 *
 * Laid out as the MySQL binlog format documentation gives them (libbinlogevents,
 * "Binary Log Event Structures"): the 19-byte common header, each event's
 * post-header and body, a CRC32 over both. Covered: the artificial ROTATE a
 * dump starts with, FORMAT_DESCRIPTION, PREVIOUS_GTIDS, GTID_LOG_EVENT (with
 * gtid_mode=ON) or ANONYMOUS_GTID_LOG_EVENT (OFF) opening each transaction,
 * QUERY (BEGIN, DDL), TABLE_MAP with its optional metadata, the v2 row events
 * (WRITE/UPDATE/DELETE_ROWS_EVENT_V2), XID and HEARTBEAT. The tables built
 * here have a BIGINT UNSIGNED key and a VARCHAR(20) in utf8mb4.
 */
import { crc32 } from 'node:zlib';
import { lenenc, lenencStr, u8, u16, u32 } from './wire-bytes.js';

const TYPE = {
  QUERY: 2,
  ROTATE: 4,
  FORMAT_DESCRIPTION: 15,
  XID: 16,
  TABLE_MAP: 19,
  HEARTBEAT: 27,
  WRITE_ROWS_V2: 30,
  UPDATE_ROWS_V2: 31,
  DELETE_ROWS_V2: 32,
  GTID: 33,
  ANONYMOUS_GTID: 34,
  PREVIOUS_GTIDS: 35,
} as const;

const SERVER_ID = 1;
const LOG_EVENT_ARTIFICIAL_F = 0x20;
const STMT_END_F = 1;
/** MySQL 8.0.36 as `immediate_server_version`. */
const SERVER_VERSION_ID = 80036;
const UTF8MB4_0900_AI_CI = 255;

export const SOURCE_UUID = '3e11fa47-71ca-11e1-9e33-c80aa9429562';

function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntLE(n, 0, 6);
  return b;
}
function u56(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b.subarray(0, 7);
}
function u64(n: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
const uuidBytes = (uuid: string) => Buffer.from(uuid.replace(/-/g, ''), 'hex');

export interface Row {
  id: bigint;
  name: string | null;
}

/**
 * One binlog file being written: `at` is where the next event starts. Each
 * method returns the bytes of the event(s) it adds, as the dump sends them
 * (without the network packet's leading OK byte).
 */
export class Mysql8Binlog {
  at = 4;
  private seconds = 1_732_780_800;
  private gno = 41;
  private lastCommitted = 0;
  private xid = 100;

  constructor(
    readonly fileName: string,
    private readonly gtids: boolean,
    private readonly tableId = 91,
  ) {}

  private event(
    type: number,
    body: Buffer,
    opts: { artificial?: boolean; nextPosition?: number } = {},
  ): Buffer {
    const size = 19 + body.length + 4;
    const next = opts.nextPosition ?? this.at + size;
    const header = Buffer.concat([
      u32(opts.artificial ? 0 : this.seconds),
      u8(type),
      u32(SERVER_ID),
      u32(size),
      u32(next),
      u16(opts.artificial ? LOG_EVENT_ARTIFICIAL_F : 0),
    ]);
    const withoutSum = Buffer.concat([header, body]);
    if (opts.nextPosition === undefined) this.at = next;
    return Buffer.concat([withoutSum, u32(crc32(withoutSum))]);
  }

  /** What a dump begins with: an artificial ROTATE to this file, then its FORMAT_DESCRIPTION and PREVIOUS_GTIDS. */
  start(): Buffer[] {
    const rotate = this.event(TYPE.ROTATE, Buffer.concat([u64(4), Buffer.from(this.fileName)]), {
      artificial: true,
      nextPosition: 0,
    });
    const version = Buffer.alloc(50);
    version.write('8.0.36');
    // Post-header length per event type 1 to 41: those of the types written here as MySQL 8.0
    // gives them, the others 0 (no reader here looks at this table).
    const postHeaders = Buffer.alloc(41);
    const lengths: [number, number][] = [
      [TYPE.QUERY, 13],
      [TYPE.ROTATE, 8],
      [TYPE.FORMAT_DESCRIPTION, 98],
      [TYPE.TABLE_MAP, 8],
      [TYPE.WRITE_ROWS_V2, 10],
      [TYPE.UPDATE_ROWS_V2, 10],
      [TYPE.DELETE_ROWS_V2, 10],
      [TYPE.GTID, 42],
      [TYPE.ANONYMOUS_GTID, 42],
    ];
    for (const [type, length] of lengths) postHeaders[type - 1] = length;
    const format = this.event(
      TYPE.FORMAT_DESCRIPTION,
      Buffer.concat([u16(4), version, u32(this.seconds), u8(19), postHeaders, u8(1)]),
    );
    const sid = uuidBytes(SOURCE_UUID);
    // The GTIDs executed before this file: SOURCE_UUID:1-40.
    const previous = this.event(
      TYPE.PREVIOUS_GTIDS,
      Buffer.concat([u64(1), sid, u64(1), u64(1), u64(this.gno)]),
    );
    return [rotate, format, previous];
  }

  /** GTID_LOG_EVENT (or ANONYMOUS_GTID_LOG_EVENT) that opens a transaction or a DDL group. */
  private gtid(): Buffer {
    const micros = BigInt(this.seconds) * 1_000_000n;
    const body = Buffer.concat([
      u8(0),
      this.gtids ? uuidBytes(SOURCE_UUID) : Buffer.alloc(16),
      u64(this.gtids ? this.gno++ : 0),
      u8(2), // logical timestamps follow
      u64(this.lastCommitted),
      u64(this.lastCommitted + 1),
      u56(micros), // immediate_commit_timestamp; the top bit clear: the original one is the same
      lenenc(0), // transaction_length (not checked by readers)
      u32(SERVER_VERSION_ID),
    ]);
    this.lastCommitted++;
    return this.event(this.gtids ? TYPE.GTID : TYPE.ANONYMOUS_GTID, body);
  }

  private query(schema: string, sql: string): Buffer {
    // Status variables: Q_FLAGS2_CODE, Q_SQL_MODE_CODE, Q_CATALOG_NZ_CODE "std", Q_CHARSET_CODE.
    const status = Buffer.concat([
      u8(0),
      u32(0),
      u8(1),
      u64(0x1ea00000n),
      u8(6),
      u8(3),
      Buffer.from('std'),
      u8(4),
      u16(UTF8MB4_0900_AI_CI),
      u16(UTF8MB4_0900_AI_CI),
      u16(UTF8MB4_0900_AI_CI),
    ]);
    const db = Buffer.from(schema);
    return this.event(
      TYPE.QUERY,
      Buffer.concat([
        u32(12),
        u32(0),
        u8(db.length),
        u16(0),
        u16(status.length),
        status,
        db,
        u8(0),
        Buffer.from(sql),
      ]),
    );
  }

  /** TABLE_MAP of `schema.table (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(20) NULL)`, FULL metadata. */
  private tableMap(schema: string, table: string): Buffer {
    const optional = Buffer.concat([
      u8(1), // SIGNEDNESS: one bit per numeric column, set = unsigned
      lenenc(1),
      u8(0x80),
      u8(2), // DEFAULT_CHARSET of the character columns
      lenenc(3),
      lenenc(UTF8MB4_0900_AI_CI),
      u8(4), // COLUMN_NAME
      lenenc(8),
      lenencStr('id'),
      lenencStr('name'),
      u8(8), // SIMPLE_PRIMARY_KEY
      lenenc(1),
      lenenc(0),
    ]);
    return this.event(
      TYPE.TABLE_MAP,
      Buffer.concat([
        u48(this.tableId),
        u16(1),
        u8(schema.length),
        Buffer.from(schema),
        u8(0),
        u8(table.length),
        Buffer.from(table),
        u8(0),
        lenenc(2),
        Buffer.from([0x08, 0x0f]), // LONGLONG, VARCHAR
        lenenc(2),
        u16(80), // VARCHAR(20) in utf8mb4: at most 80 bytes
        u8(0b10), // name may be NULL
        optional,
      ]),
    );
  }

  private rowImage(r: Row): Buffer {
    const name = r.name === null ? Buffer.alloc(0) : lenencStr(r.name);
    return Buffer.concat([u8(r.name === null ? 0b10 : 0), u64(r.id), name]);
  }

  private rows(type: number, images: Buffer[]): Buffer {
    const twoBitmaps = type === TYPE.UPDATE_ROWS_V2;
    return this.event(
      type,
      Buffer.concat([
        u48(this.tableId),
        u16(STMT_END_F),
        u16(2), // extra data: none (its length counts itself)
        lenenc(2),
        u8(0b11),
        ...(twoBitmaps ? [u8(0b11)] : []),
        ...images,
      ]),
    );
  }

  /** A transaction of row changes on one table: GTID, BEGIN, TABLE_MAP, the row event, XID. */
  transaction(
    schema: string,
    table: string,
    change: { insert: Row[] } | { update: [Row, Row][] } | { delete: Row[] },
  ): Buffer[] {
    const events = [this.gtid(), this.query(schema, 'BEGIN'), this.tableMap(schema, table)];
    if ('insert' in change)
      events.push(
        this.rows(
          TYPE.WRITE_ROWS_V2,
          change.insert.map((r) => this.rowImage(r)),
        ),
      );
    else if ('delete' in change)
      events.push(
        this.rows(
          TYPE.DELETE_ROWS_V2,
          change.delete.map((r) => this.rowImage(r)),
        ),
      );
    else {
      const images = change.update.flatMap(([before, after]) => [
        this.rowImage(before),
        this.rowImage(after),
      ]);
      events.push(this.rows(TYPE.UPDATE_ROWS_V2, images));
    }
    events.push(this.event(TYPE.XID, u64(this.xid++)));
    return events;
  }

  /** A DDL statement: MySQL writes it as a GTID and one QUERY, with no BEGIN and no XID. */
  ddl(schema: string, sql: string): Buffer[] {
    return [this.gtid(), this.query(schema, sql)];
  }

  /** What an idle server sends every heartbeat period: where it is, in which file. */
  heartbeat(): Buffer {
    return this.event(TYPE.HEARTBEAT, Buffer.from(this.fileName), { nextPosition: this.at });
  }
}
