/**
 * Little-endian integers and MySQL's length-encoded integers and strings, as
 * the MySQL wire protocol and binlog events lay them out (for the stand-ins
 * of test/support that speak them).
 */
export const u8 = (n: number): Buffer => Buffer.from([n]);

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** A length-encoded integer (values below 2^16 here). */
export function lenenc(n: number): Buffer {
  if (n < 251) return u8(n);
  return Buffer.concat([u8(0xfc), u16(n)]);
}

export function lenencStr(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([lenenc(b.length), b]);
}
