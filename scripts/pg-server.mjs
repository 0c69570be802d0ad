/**
 * A private PostgreSQL 15 instance, for the tests and the benchmarks: initdb
 * into a temp dir, its own port and socket, `wal_level=logical`, fsync off (a
 * throwaway cluster; commits still wait for the log, as on a real server, so
 * a change is in the log the moment its commit returns). Nothing of the machine's own PostgreSQL is
 * touched, so `npm test` and `npm run bench` need no manual step. Run as root,
 * the server's commands run as the `postgres` user (PostgreSQL refuses root).
 *
 * TANDEM_PG_BIN overrides where the server binaries are (default: what
 * `pg_config --bindir` says, else Debian's /usr/lib/postgresql/15/bin).
 *
 * `node scripts/pg-server.mjs` starts one and prints its URL until Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

function binDir() {
  if (process.env.TANDEM_PG_BIN) return process.env.TANDEM_PG_BIN;
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    return '/usr/lib/postgresql/15/bin';
  }
}

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

/**
 * Starts a server. `durable: true` keeps fsync on (for benchmarks whose
 * baseline must pay the same as tandem); tests run without.
 * @param {{ durable?: boolean }} [options]
 * @returns {Promise<{ url: string, port: number, stop(): void, restart(): void }>}
 */
export async function startPgServer(options = {}) {
  const bin = binDir();
  if (!existsSync(join(bin, 'initdb'))) {
    throw new Error(`PostgreSQL server binaries not found in ${bin}; set TANDEM_PG_BIN to their directory`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tandem-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
  }
  const run = (cmd, args) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe' })
      : execFileSync(join(bin, cmd), args, { stdio: 'pipe' });

  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c wal_level=logical',
    '-c max_replication_slots=64',
    '-c max_wal_senders=64',
    '-c max_connections=200',
    ...(options.durable ? [] : ['-c fsync=off', '-c full_page_writes=off']),
  ].join(' ');
  try {
    run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', settings, 'start']);
  } catch (err) {
    const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the private PostgreSQL did not start: ${err.message}\n${tail}`);
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    restart() {
      // As after a crash: no shutdown checkpoint, so the server recovers from its log.
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', settings, 'start']);
    },
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const server = await startPgServer({ durable: process.argv.includes('--durable') });
  process.stdout.write(`${server.url}\n`);
  const stop = () => {
    server.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  setInterval(() => {}, 1 << 30);
}
