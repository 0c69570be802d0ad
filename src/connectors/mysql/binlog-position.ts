/**
 * Capture positions for MySQL/MariaDB: strings that sort in binlog order.
 *
 * `<file index, 10 digits>:<offset, 12 digits>:<change number, 10 digits>`,
 * e.g. `0000000002:000000001034:0000000003` is the third change of the
 * captured table in the transaction that starts at byte 1034 of
 * `binlog.000002`. Change number 0 is "before that offset" (where the log
 * stood when read, see currentPosition and idle moves); `9999999999` is "the
 * whole transaction" (one with nothing for the table).
 *
 * Why file and offset and not GTIDs: the engine compares positions as plain
 * strings, and a GTID position does not sort. MariaDB's is one
 * `domain-server-seq` per domain (two domains, or a failover that changes the
 * server id, and there is no order between them); MySQL's is a set of
 * intervals per server UUID. The byte offset in one server's binlog is the
 * commit order itself, it names the start of each transaction (so a position
 * can point inside one and resume there), and every server has it, GTIDs on
 * or off. What it costs: a position is only good on the server that wrote it
 * (after a failover or a RESET MASTER, `tandem reconcile` starts afresh).
 */

export const WHOLE_TXN = 9_999_999_999;

export interface BinlogPoint {
  /** The number a binlog file's name ends in (`binlog.000002` → 2). */
  file: number;
  offset: number;
}

export function position(p: BinlogPoint, n: number): string {
  return `${pad(p.file, 10)}:${pad(p.offset, 12)}:${pad(n, 10)}`;
}

/** The binlog point a position's transaction starts at (where a dump resumes it). */
export function pointOf(pos: string): BinlogPoint {
  const m = /^(\d{10}):(\d{12}):(\d{10})$/.exec(pos);
  if (!m) throw new Error(`not a binlog position: ${pos}`);
  return { file: Number(m[1]), offset: Number(m[2]) };
}

export function isBinlogPosition(pos: string): boolean {
  return /^\d{10}:\d{12}:\d{10}$/.test(pos);
}

/** `binlog.000002` → 2. */
export function fileIndex(name: string): number {
  const m = /\.(\d+)$/.exec(name);
  if (!m) throw new Error(`not a binlog file name: ${name}`);
  return Number(m[1]);
}

export function comparePoints(a: BinlogPoint, b: BinlogPoint): number {
  return a.file - b.file || a.offset - b.offset;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
