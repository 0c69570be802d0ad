/**
 * A stand-in for a MySQL 8.0 server, at the wire-protocol level, for what
 * cannot run on the test machines (only MariaDB is installable there): MySQL
 * 8's handshake with its default `caching_sha2_password` authentication
 * (fast path, full authentication with the server's RSA key over TCP, in
 * clear over a Unix socket, an AuthSwitchRequest from mysql_native_password)
 * and text-protocol answers to the statements a test scripts.
 *
 * The bytes follow the MySQL client/server protocol documentation (Protocol::
 * HandshakeV10, HandshakeResponse41, AuthMoreData, AuthSwitchRequest, OK, ERR,
 * text resultsets with EOF) and are what MySQL 8.0 sends: the server version
 * `8.0.36`, collation 255 (utf8mb4_0900_ai_ci), a 20-byte nonce. Every
 * password check is done as the server does it, so a client that computed
 * the wrong token, or sent the password where it must not, fails here.
 */
import { createHash, generateKeyPairSync, privateDecrypt, constants as rsa } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { lenenc, lenencStr, u16, u32 } from './wire-bytes.js';

export type Reply =
  | { ok: true; affectedRows?: number }
  | { error: { errno: number; sqlState: string; message: string } }
  | { columns: string[]; rows: (string | null)[][] };

export interface FakeMysqlOptions {
  user: string;
  password: string;
  /**
   * `fast`: the server's cache holds the user (AuthMoreData fast_auth_success);
   * `full`: it does not (perform_full_authentication), as after a restart or FLUSH PRIVILEGES.
   */
  auth: 'fast' | 'full';
  /** The plugin the handshake proposes; `mysql_native_password` makes the server switch (AuthSwitchRequest). */
  handshakePlugin?: 'caching_sha2_password' | 'mysql_native_password';
  /** The answer to each COM_QUERY; unknown statements get ER_PARSE_ERROR. */
  answer(sql: string): Reply | undefined;
  /** Listen on this Unix socket instead of a TCP port. */
  socketPath?: string;
}

/** What the server saw, for tests to assert on. */
export interface FakeMysqlLog {
  logins: { user: string; database: string | null; plugin: string; via: 'fast' | 'rsa' | 'clear' }[];
  refused: string[];
  queries: string[];
  /** Every byte clients sent, to check a password never crossed in clear. */
  received: Buffer[];
}

export interface FakeMysql {
  port: number;
  log: FakeMysqlLog;
  close(): Promise<void>;
}

const SERVER_VERSION = '8.0.36';
const CAPS = {
  LONG_PASSWORD: 0x1,
  FOUND_ROWS: 0x2,
  LONG_FLAG: 0x4,
  CONNECT_WITH_DB: 0x8,
  PROTOCOL_41: 0x200,
  TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x10000,
  MULTI_RESULTS: 0x20000,
  PS_MULTI_RESULTS: 0x40000,
  PLUGIN_AUTH: 0x80000,
  CONNECT_ATTRS: 0x100000,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 0x200000,
};
/** What MySQL 8.0 offers, less SSL (no TLS here) and DEPRECATE_EOF (resultsets end with EOF packets). */
const SERVER_CAPS = Object.values(CAPS).reduce((a, b) => a | b, 0);
const STATUS_AUTOCOMMIT = 0x0002;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((x, i) => x ^ b[i % b.length]!));

/** caching_sha2_password's scramble: XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) + nonce)). */
function sha2Token(password: string, nonce: Buffer): Buffer {
  const stage1 = sha256(Buffer.from(password, 'utf8'));
  return xor(stage1, sha256(Buffer.concat([sha256(stage1), nonce])));
}

const nul = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);

function okPacket(affectedRows = 0): Buffer {
  return Buffer.concat([Buffer.from([0]), lenenc(affectedRows), lenenc(0), u16(STATUS_AUTOCOMMIT), u16(0)]);
}
function errPacket(errno: number, sqlState: string, message: string): Buffer {
  return Buffer.concat([Buffer.from([0xff]), u16(errno), Buffer.from(`#${sqlState}${message}`, 'utf8')]);
}
const eofPacket = () => Buffer.concat([Buffer.from([0xfe]), u16(0), u16(STATUS_AUTOCOMMIT)]);
/** ColumnDefinition41 of a VAR_STRING column in utf8mb4. */
function columnDef(name: string): Buffer {
  return Buffer.concat([
    lenencStr('def'),
    lenencStr(''),
    lenencStr(''),
    lenencStr(''),
    lenencStr(name),
    lenencStr(name),
    Buffer.from([0x0c]),
    u16(255),
    u32(1024),
    Buffer.from([0xfd]),
    u16(0),
    Buffer.from([0x1f]),
    u16(0),
  ]);
}

/** A client connection: packets in, packets out with the sequence the protocol expects. */
class Wire {
  private buf = Buffer.alloc(0);
  private waiting: ((p: { seq: number; body: Buffer }) => void)[] = [];
  private ready: { seq: number; body: Buffer }[] = [];
  seq = 0;

  constructor(
    readonly socket: Socket,
    received: Buffer[],
  ) {
    socket.on('data', (d: Buffer) => {
      received.push(d);
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4) {
        const len = this.buf.readUIntLE(0, 3);
        if (this.buf.length < 4 + len) break;
        const p = { seq: this.buf[3]!, body: this.buf.subarray(4, 4 + len) };
        this.buf = this.buf.subarray(4 + len);
        const w = this.waiting.shift();
        if (w) w(p);
        else this.ready.push(p);
      }
    });
  }

  next(): Promise<{ seq: number; body: Buffer }> {
    const p = this.ready.shift();
    if (p) {
      this.seq = p.seq + 1;
      return Promise.resolve(p);
    }
    return new Promise((resolve) =>
      this.waiting.push((q) => {
        this.seq = q.seq + 1;
        resolve(q);
      }),
    );
  }

  send(body: Buffer): void {
    const head = Buffer.alloc(4);
    head.writeUIntLE(body.length, 0, 3);
    head[3] = this.seq++ & 0xff;
    this.socket.write(Buffer.concat([head, body]));
  }
}

export async function startFakeMysql8(opts: FakeMysqlOptions): Promise<FakeMysql> {
  const log: FakeMysqlLog = { logins: [], refused: [], queries: [], received: [] };
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  let connectionId = 0;

  const serve = async (socket: Socket) => {
    const wire = new Wire(socket, log.received);
    const nonce = Buffer.from(
      Array.from({ length: 20 }, (_, i) => 0x21 + ((i * 37 + connectionId * 11) % 90)),
    );
    const plugin = opts.handshakePlugin ?? 'caching_sha2_password';
    wire.send(
      Buffer.concat([
        Buffer.from([10]),
        nul(SERVER_VERSION),
        u32(++connectionId),
        nonce.subarray(0, 8),
        Buffer.from([0]),
        u16(SERVER_CAPS & 0xffff),
        Buffer.from([255]),
        u16(STATUS_AUTOCOMMIT),
        u16(SERVER_CAPS >>> 16),
        Buffer.from([21]),
        Buffer.alloc(10),
        nonce.subarray(8),
        Buffer.from([0]),
        nul(plugin),
      ]),
    );
    const hello = (await wire.next()).body;
    const caps = hello.readUInt32LE(0);
    let at = 32;
    const userEnd = hello.indexOf(0, at);
    const user = hello.subarray(at, userEnd).toString('utf8');
    at = userEnd + 1;
    // A length byte (or a length-encoded integer, the same byte below 251) and the auth response.
    const tokenLength = hello[at]!;
    let token = hello.subarray(at + 1, at + 1 + tokenLength);
    at += 1 + tokenLength;
    let database: string | null = null;
    if (caps & CAPS.CONNECT_WITH_DB) {
      const end = hello.indexOf(0, at);
      database = hello.subarray(at, end).toString('utf8') || null;
      at = end + 1;
    }
    const clientPlugin =
      caps & CAPS.PLUGIN_AUTH ? hello.subarray(at, hello.indexOf(0, at)).toString('utf8') : plugin;

    const refuse = (why: string) => {
      log.refused.push(why);
      wire.send(
        errPacket(1045, '28000', `Access denied for user '${user}'@'localhost' (using password: YES)`),
      );
      socket.end();
    };
    if (user !== opts.user) return refuse(`unknown user ${user}`);

    let sha2Nonce = nonce;
    if (clientPlugin !== 'caching_sha2_password') {
      // The account uses caching_sha2_password: the server asks the client to switch, with a new
      // nonce (the first response, made for another plugin, is not checked; MySQL does the same).
      sha2Nonce = Buffer.from(nonce.map((b) => 0x21 + ((b + 7) % 90)));
      wire.send(
        Buffer.concat([Buffer.from([0xfe]), nul('caching_sha2_password'), sha2Nonce, Buffer.from([0])]),
      );
      token = (await wire.next()).body;
    }
    let via: 'fast' | 'rsa' | 'clear' = 'fast';
    if (opts.auth === 'fast') {
      // A cached account: the scramble alone proves the password.
      if (!sha2Token(opts.password, sha2Nonce).equals(token)) return refuse('wrong scramble');
      wire.send(Buffer.from([0x01, 0x03]));
    } else {
      // Not cached: the server cannot check the scramble and asks for the password itself.
      wire.send(Buffer.from([0x01, 0x04]));
      const reply = (await wire.next()).body;
      let password: string;
      if (reply.length === 1 && reply[0] === 0x02) {
        // The client asked for the server's public key: the password then comes RSA-encrypted.
        wire.send(Buffer.concat([Buffer.from([0x01]), Buffer.from(publicPem, 'utf8')]));
        const sealed = (await wire.next()).body;
        const plain = xor(
          privateDecrypt(
            { key: keys.privateKey, padding: rsa.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
            sealed,
          ),
          sha2Nonce,
        );
        password = plain.subarray(0, plain.indexOf(0)).toString('utf8');
        via = 'rsa';
      } else {
        // In clear: MySQL accepts that only over TLS or a Unix socket.
        if (!opts.socketPath) return refuse('password in clear over TCP');
        password = reply.subarray(0, reply.indexOf(0)).toString('utf8');
        via = 'clear';
      }
      if (password !== opts.password) return refuse('wrong password');
    }
    wire.send(okPacket());
    log.logins.push({ user, database, plugin: 'caching_sha2_password', via });

    for (;;) {
      const { body } = await wire.next();
      const command = body[0];
      if (command === 0x01) {
        socket.end();
        return;
      }
      if (command === 0x0e) {
        wire.send(okPacket());
        continue;
      }
      if (command !== 0x03) {
        wire.send(errPacket(1047, '08S01', 'Unknown command'));
        continue;
      }
      const sql = body.subarray(1).toString('utf8');
      log.queries.push(sql);
      const reply = opts.answer(sql);
      if (!reply) {
        wire.send(
          errPacket(1064, '42000', `You have an error in your SQL syntax near '${sql.slice(0, 40)}'`),
        );
      } else if ('error' in reply) {
        wire.send(errPacket(reply.error.errno, reply.error.sqlState, reply.error.message));
      } else if ('ok' in reply) {
        wire.send(okPacket(reply.affectedRows));
      } else {
        wire.send(lenenc(reply.columns.length));
        for (const c of reply.columns) wire.send(columnDef(c));
        wire.send(eofPacket());
        for (const row of reply.rows) {
          wire.send(Buffer.concat(row.map((v) => (v === null ? Buffer.from([0xfb]) : lenencStr(v)))));
        }
        wire.send(eofPacket());
      }
    }
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    serve(socket).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => {
    if (opts.socketPath) server.listen(opts.socketPath, resolve);
    else server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
