/**
 * A database server's own error that reaches the command line is shown as
 * SERVER_ERROR (exit 3) with the server's message and code, not as a bug in
 * tandem: errors made by real PostgreSQL and MariaDB servers, through the
 * drivers tandem uses, as `reportError` prints them.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { serverError } from '../../src/cli/server-error.js';
import { reportError } from '../../src/cli/session.js';
import { createMariaDbDatabase, type MariaDbDatabase } from '../support/mariadb-database.js';
import { createPgDatabase, type PgDatabase } from '../support/pg-database.js';

let pg: PgDatabase;
let my: MariaDbDatabase;
beforeEach(async () => {
  pg = await createPgDatabase();
  my = await createMariaDbDatabase();
});
afterEach(async () => {
  await pg.drop();
  await my.drop();
  vi.restoreAllMocks();
});

/** What reportError writes to stderr and stdout, and returns. */
function reported(e: unknown, json = false) {
  const err: string[] = [];
  const out: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => err.push(String(s)) > 0);
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0);
  const exit = reportError(e, json);
  vi.restoreAllMocks();
  return { exit, stderr: err.join(''), stdout: out.join('') };
}

it('a PostgreSQL error: SERVER_ERROR with the SQLSTATE and message, exit 3, no stack trace', async () => {
  const e = await pg.app.query('SELECT 1 / 0').catch((x: unknown) => x);
  const r = reported(e);
  expect(r.exit).toBe(3);
  expect(r.stderr).toMatch(
    /^\[SERVER_ERROR\] The database server failed a statement: PostgreSQL ERROR \(SQLSTATE 22012\): division by zero/,
  );
  expect(r.stderr).toMatch(/fix: The message is the server's own/);
  expect(r.stderr).not.toMatch(/INTERNAL|at .*\.js:\d+/);
});

it('a MariaDB error: SERVER_ERROR with the errno, SQLSTATE and message; --json gives the same as an object', async () => {
  const e = await my.app.query('SELECT no_such_function()').catch((x: unknown) => x);
  const r = reported(e, true);
  expect(r.exit).toBe(3);
  const body = JSON.parse(r.stdout) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('SERVER_ERROR');
  expect(body.error.message).toMatch(
    /MySQL\/MariaDB error 1305 \(SQLSTATE 42000\): FUNCTION .*no_such_function does not exist/,
  );
});

it('anything else is still a bug in tandem, with its stack', () => {
  expect(serverError(new Error('plain'))).toBeNull();
  expect(serverError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBeNull();
  const r = reported(new TypeError('undefined is not a function'));
  expect(r.exit).toBe(1);
  expect(r.stderr).toMatch(/^\[INTERNAL\] TypeError/);
});
