/**
 * A private MariaDB instance, for the tests and the benchmarks:
 * mariadb-install-db into a temp dir, its own port and socket, a row-based
 * binlog with full row images (what binlog capture needs), nothing of the
 * machine's own server touched, so `npm test` and `npm run bench` need no
 * manual step. Run as root, the server runs as the `mysql` user (mariadbd
 * refuses to run as root otherwise).
 *
 * `durable: true` keeps InnoDB's and the binlog's flushes at commit (for
 * benchmarks whose baseline must pay the same as tandem); tests run without.
 *
 * `node scripts/mariadb-server.mjs` starts one and prints its URL until Ctrl-C.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const SERVER_BIN = process.env.TANDEM_MARIADB_BIN ?? '/usr/sbin/mariadbd';
const INSTALL_BIN = process.env.TANDEM_MARIADB_INSTALL ?? 'mariadb-install-db';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once the server accepts TCP connections on `port` (or rejects after `ms`). */
async function waitForPort(port, ms, isDead) {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const c = createConnection({ host: '127.0.0.1', port });
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (isDead()) throw new Error('mariadbd exited during start-up');
    if (Date.now() > until) throw new Error(`mariadbd did not listen on port ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts a server. The URL's user is root with no password, over TCP.
 * @param {{ durable?: boolean, serverId?: number }} [options]
 * @returns {Promise<{ url: string, port: number, socket: string, dir: string, stop(): void, restart(): Promise<void> }>}
 */
export async function startMariaDbServer(options = {}) {
  if (!existsSync(SERVER_BIN)) {
    throw new Error(`mariadbd not found at ${SERVER_BIN}; set TANDEM_MARIADB_BIN to its path`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tandem-mariadb-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const log = join(dir, 'server.log');
  const cnf = join(dir, 'my.cnf');
  // A temporary directory of its own: a server starting deletes every `#sql…` file in its tmpdir,
  // so with the default (/tmp) one instance starting (or restarted by a test) deleted the
  // temporary tables another was using ("Error on delete of '/tmp/#sql-temptable-…'").
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'mysql'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'mysql'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
    chownSync(tmp, uid, gid);
  }
  const port = await freePort();
  const durable = options.durable === true;
  writeFileSync(
    cnf,
    [
      '[mysqld]',
      ...(asRoot ? ['user = mysql'] : []),
      `datadir = ${data}`,
      `socket = ${socket}`,
      `port = ${port}`,
      'bind-address = 127.0.0.1',
      `pid-file = ${join(dir, 'mysqld.pid')}`,
      `tmpdir = ${tmp}`,
      `log-error = ${log}`,
      `server-id = ${options.serverId ?? 1}`,
      `log-bin = ${join(data, 'binlog')}`,
      'binlog_format = ROW',
      'binlog_row_image = FULL',
      'max_connections = 300',
      'skip-name-resolve',
      'innodb_buffer_pool_size = 256M',
      'innodb_log_file_size = 256M',
      `innodb_flush_log_at_trx_commit = ${durable ? 1 : 2}`,
      `sync_binlog = ${durable ? 1 : 0}`,
      ...(durable ? [] : ['innodb_doublewrite = 0']),
      'character-set-server = utf8mb4',
      'collation-server = utf8mb4_bin',
      '',
    ].join('\n'),
  );
  // Bootstrapping once failed in CI on a loaded machine, and never again by hand: it is tried a
  // second time on a fresh data directory, and a failure says what the server logged.
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync(
        INSTALL_BIN,
        [
          `--defaults-file=${cnf}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          ...(asRoot ? ['--user=mysql'] : []),
        ],
        { stdio: 'pipe' },
      );
      break;
    } catch (err) {
      const said = [err.stdout, err.stderr, existsSync(log) ? readFileSync(log) : '']
        .map((b) => String(b ?? '').trim())
        .filter(Boolean)
        .join('\n')
        .slice(-4000);
      if (attempt < 2) {
        process.stderr.write(`mariadb-install-db failed (${err.message}); trying once more:\n${said}\n`);
        rmSync(data, { recursive: true, force: true });
        rmSync(log, { force: true });
        continue;
      }
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`mariadb-install-db failed twice: ${err.message}\n${said}`);
    }
  }

  let child;
  let dead = false;
  const launch = async () => {
    dead = false;
    child = spawn(SERVER_BIN, [`--defaults-file=${cnf}`], { stdio: 'ignore', detached: false });
    child.once('exit', () => {
      dead = true;
    });
    try {
      await waitForPort(port, 60_000, () => dead);
    } catch (err) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
      throw new Error(`the private MariaDB did not start: ${err.message}\n${tail}`);
    }
  };
  const kill = (signal) => {
    if (!child || dead) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  };
  try {
    await launch();
  } catch (err) {
    await kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `mysql://root@127.0.0.1:${port}/mysql`,
    port,
    socket,
    dir,
    async restart() {
      // As after a crash: SIGKILL, so the server recovers from its logs.
      await kill('SIGKILL');
      await launch();
    },
    stop() {
      try {
        if (child && !dead) child.kill('SIGKILL');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const server = await startMariaDbServer({ durable: process.argv.includes('--durable') });
  process.stdout.write(`${server.url}\n`);
  const stop = () => {
    server.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  setInterval(() => {}, 1 << 30);
}
