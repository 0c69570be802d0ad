/**
 * The messages of PostgreSQL's `pgoutput` plugin, protocol version 1, as the
 * replication slot SQL interface returns them (one message per row):
 * https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html
 *
 * Only what capture needs is decoded: transaction bounds with their commit
 * LSN and time, the origin a transaction was replayed from, relation layouts,
 * and row changes with their columns as text. Anything else is `other`.
 */

export type Lsn = bigint;

export interface RelationColumn {
  name: string;
  /** Part of the replica identity (sent in a delete's and a key-changing update's old tuple). */
  key: boolean;
}

/** A column of a row image: its text, null, or TOASTed and unchanged (not sent). */
export type TupleValue = string | null | { unchanged: true };

export type PgoutputMessage =
  | { type: 'begin'; finalLsn: Lsn; commitTime: Date; xid: number }
  | { type: 'commit'; commitLsn: Lsn; endLsn: Lsn; commitTime: Date }
  | { type: 'origin'; name: string }
  | { type: 'relation'; relid: number; schema: string; name: string; columns: RelationColumn[] }
  | { type: 'insert'; relid: number; row: TupleValue[] }
  | { type: 'update'; relid: number; old: TupleValue[] | null; row: TupleValue[] }
  | { type: 'delete'; relid: number; old: TupleValue[] }
  | { type: 'truncate'; relids: number[] }
  | { type: 'other'; tag: string };

/** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01). */
const PG_EPOCH_US = 946_684_800_000_000n;

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  byte(): string {
    return String.fromCharCode(this.buf[this.at++]!);
  }
  int8(): number {
    return this.buf.readInt8(this.at++);
  }
  int16(): number {
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  uint32(): number {
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  int64(): bigint {
    const v = this.buf.readBigInt64BE(this.at);
    this.at += 8;
    return v;
  }
  uint64(): bigint {
    const v = this.buf.readBigUInt64BE(this.at);
    this.at += 8;
    return v;
  }
  string(): string {
    const end = this.buf.indexOf(0, this.at);
    const s = this.buf.toString('utf8', this.at, end);
    this.at = end + 1;
    return s;
  }
  time(): Date {
    // Microseconds kept to the millisecond a Date holds; change times need no finer grain.
    return new Date(Number((this.int64() + PG_EPOCH_US) / 1000n));
  }
  tuple(): TupleValue[] {
    const n = this.int16();
    const values: TupleValue[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const kind = this.byte();
      if (kind === 'n') values[i] = null;
      else if (kind === 'u') values[i] = { unchanged: true };
      else {
        const len = this.int32();
        values[i] = this.buf.toString('utf8', this.at, this.at + len);
        this.at += len;
      }
    }
    return values;
  }
}

export function parsePgoutput(data: Buffer): PgoutputMessage {
  const r = new Reader(data);
  const tag = r.byte();
  switch (tag) {
    case 'B':
      return { type: 'begin', finalLsn: r.uint64(), commitTime: r.time(), xid: r.uint32() };
    case 'C': {
      r.int8();
      return { type: 'commit', commitLsn: r.uint64(), endLsn: r.uint64(), commitTime: r.time() };
    }
    case 'O':
      r.uint64();
      return { type: 'origin', name: r.string() };
    case 'R': {
      const relid = r.uint32();
      const schema = r.string();
      const name = r.string();
      r.int8(); // replica identity setting
      const n = r.int16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) {
        const flags = r.int8();
        const column = r.string();
        r.uint32(); // type oid
        r.int32(); // type modifier
        columns.push({ name: column, key: (flags & 1) === 1 });
      }
      return { type: 'relation', relid, schema, name, columns };
    }
    case 'I': {
      const relid = r.uint32();
      r.byte(); // 'N'
      return { type: 'insert', relid, row: r.tuple() };
    }
    case 'U': {
      const relid = r.uint32();
      let kind = r.byte();
      let old: TupleValue[] | null = null;
      if (kind === 'K' || kind === 'O') {
        old = r.tuple();
        kind = r.byte(); // 'N'
      }
      return { type: 'update', relid, old, row: r.tuple() };
    }
    case 'D': {
      const relid = r.uint32();
      r.byte(); // 'K' or 'O'
      return { type: 'delete', relid, old: r.tuple() };
    }
    case 'T': {
      const n = r.int32();
      r.int8(); // options
      const relids: number[] = [];
      for (let i = 0; i < n; i++) relids.push(r.uint32());
      return { type: 'truncate', relids };
    }
    default:
      return { type: 'other', tag };
  }
}

/** `16/B374D848` → bigint. */
export function parseLsn(text: string): Lsn {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** bigint → `16/B374D848`, as PostgreSQL writes an LSN. */
export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
