/**
 * MySQL 8's default authentication, caching_sha2_password, which MariaDB (the
 * only server installable on the test machines) does not have. Tandem's
 * MySQL sessions log in to a stand-in that speaks MySQL 8.0's handshake at the
 * protocol level and checks every password as the server does
 * (test/support/fake-mysql8.ts): the fast path, full authentication with the
 * server's RSA key over TCP, the password in clear over a Unix socket (and
 * never over TCP), an AuthSwitchRequest, a refused password. Each session
 * then sets tandem's session variables, as it does on a real server, and
 * MySQL's refusal of `skip_replication` (errno 1193) is taken as "this server
 * cannot tag tandem's writes", not as a failure to connect.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { OWN_WRITES_SQL, OWN_WRITES_UNSUPPORTED_ERRNOS } from '../../src/connectors/mysql/own-writes.js';
import { MysqlSession, parseUrl, SESSION_SQL } from '../../src/connectors/mysql/session.js';
import { TandemError } from '../../src/core/errors.js';
import {
  type FakeMysql,
  type FakeMysqlOptions,
  type Reply,
  startFakeMysql8,
} from '../support/fake-mysql8.js';

const PASSWORD = 'pä55:w@rd/x';

/** What MySQL 8.0.36 answers to the statements a tandem session sends first. */
function mysql8(sql: string): Reply | undefined {
  if (sql === SESSION_SQL) return { ok: true };
  if (/^SET SESSION skip_replication/.test(sql)) {
    return {
      error: { errno: 1193, sqlState: 'HY000', message: "Unknown system variable 'skip_replication'" },
    };
  }
  if (sql === 'SELECT VERSION() AS v') return { columns: ['v'], rows: [['8.0.36']] };
  return undefined;
}

let server: FakeMysql | undefined;
let dir: string | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function start(opts: Partial<FakeMysqlOptions> = {}) {
  server = await startFakeMysql8({
    user: 'tandem',
    password: PASSWORD,
    auth: 'fast',
    answer: mysql8,
    ...opts,
  });
  return server;
}

/** A tandem writer session (the one that tags its writes) for this URL. */
function writerSession(url: string): MysqlSession {
  return new MysqlSession(parseUrl(url), 'mysql://tandem:***@…', {
    sql: OWN_WRITES_SQL,
    tolerate: OWN_WRITES_UNSUPPORTED_ERRNOS,
  });
}

const tcpUrl = (port: number, password = PASSWORD) =>
  `mysql://tandem:${encodeURIComponent(password)}@127.0.0.1:${port}/shop`;

it('logs in with caching_sha2_password on the fast path, then sets up the session as on MariaDB', async () => {
  const s = await start();
  const session = writerSession(tcpUrl(s.port));
  try {
    expect(await session.rows('SELECT VERSION() AS v')).toEqual([['8.0.36']]);
  } finally {
    await session.close();
  }
  expect(s.log.logins).toEqual([
    { user: 'tandem', database: 'shop', plugin: 'caching_sha2_password', via: 'fast' },
  ]);
  // The session settings first; skip_replication refused (1193) and passed over; then the query.
  expect(s.log.queries).toEqual([SESSION_SQL, ...OWN_WRITES_SQL, 'SELECT VERSION() AS v']);
});

it('full authentication over TCP: the password goes encrypted with the server’s RSA key, never in clear', async () => {
  const s = await start({ auth: 'full' });
  const session = writerSession(tcpUrl(s.port));
  try {
    expect(await session.rows('SELECT VERSION() AS v')).toEqual([['8.0.36']]);
  } finally {
    await session.close();
  }
  expect(s.log.logins.map((l) => l.via)).toEqual(['rsa']);
  const wire = Buffer.concat(s.log.received);
  expect(wire.includes(Buffer.from(PASSWORD, 'utf8'))).toBe(false);
});

it('full authentication over a Unix socket (`?socket=`): the password in clear, as MySQL allows there', async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-fake-mysql-'));
  const socketPath = join(dir, 'mysqld.sock');
  const s = await start({ auth: 'full', socketPath });
  const session = writerSession(
    `mysql://tandem:${encodeURIComponent(PASSWORD)}@localhost/shop?socket=${socketPath}`,
  );
  try {
    expect(await session.rows('SELECT VERSION() AS v')).toEqual([['8.0.36']]);
  } finally {
    await session.close();
  }
  expect(s.log.logins.map((l) => l.via)).toEqual(['clear']);
});

it('a server that proposes mysql_native_password and switches to caching_sha2_password (AuthSwitchRequest)', async () => {
  const s = await start({ handshakePlugin: 'mysql_native_password', auth: 'full' });
  const session = writerSession(tcpUrl(s.port));
  try {
    expect(await session.rows('SELECT VERSION() AS v')).toEqual([['8.0.36']]);
  } finally {
    await session.close();
  }
  expect(s.log.logins.map((l) => [l.plugin, l.via])).toEqual([['caching_sha2_password', 'rsa']]);
});

it('a wrong password: CONNECT_FAILED with the server’s message and what to check', async () => {
  for (const auth of ['fast', 'full'] as const) {
    const s = await start({ auth });
    const session = writerSession(tcpUrl(s.port, 'not-it'));
    const err = await session.rows('SELECT VERSION() AS v').catch((e: unknown) => e);
    await session.close();
    expect(err, auth).toBeInstanceOf(TandemError);
    expect((err as TandemError).code).toBe('CONNECT_FAILED');
    expect((err as TandemError).message).toContain("Access denied for user 'tandem'");
    expect((err as TandemError).fix).toMatch(/password/);
    // The fast path fails on the scramble itself; full authentication on the decrypted password.
    expect(s.log.refused).toEqual([auth === 'fast' ? 'wrong scramble' : 'wrong password']);
    await s.close();
    server = undefined;
  }
});
