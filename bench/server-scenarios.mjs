/**
 * What the server benchmarks (bench/postgres.mjs, bench/mysql.mjs) share: a
 * shell pipeline timed as a baseline, a tandem child's summary and checks,
 * and the latency scenario (`tandem run` left running, updates at a steady
 * rate on the source, each polled for on the target).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { percentile, runTandem, sleep } from './lib.mjs';

const pg = createRequire(import.meta.url)('pg');

/** Wall time of `cmd` run by the shell (rejects with its stderr when it fails). */
export function timed(cmd, env) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn('sh', ['-c', cmd], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code === 0) resolvePromise(performance.now() - started);
      else reject(new Error(`${cmd} exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

/** What the results keep of a measured tandem child. */
export function childSummary(res) {
  return {
    exit_code: res.code,
    wall_ms: res.wallMs,
    peak_rss_mb: res.peakRssMb,
    cpu_ms: res.cpuUserMs != null ? res.cpuUserMs + (res.cpuSysMs ?? 0) : null,
  };
}

/** Throws with the child's stderr when it timed out or failed. */
export function check(res, what) {
  if (res.timedOut) throw new Error(`${what}: timed out`);
  if (res.code !== 0)
    throw new Error(`${what}: exited ${res.code ?? res.signal}\n${res.stderr.slice(-3000)}`);
}

/**
 * Latency: `tandem run -c cfg` left running; `count` updates at `rate` per
 * second through `writer.write(id, name)`, each polled for every `pollMs`
 * through `reader.namesBySrcId(ids)` (rows of `{ id, name }`). Resolves to the
 * scenario's results (percentiles in ms, lost updates, the child's summary).
 * @param {{ cfg: string, cwd: string, rows: number, count: number, rate: number, pollMs: number,
 *   writer: { write(id: number, name: string): Promise<unknown>, end(): Promise<unknown> },
 *   reader: { namesBySrcId(ids: number[]): Promise<{ id: string | number, name: string }[]>, end(): Promise<unknown> },
 *   log: (msg: string) => void }} o
 */
export async function latencyScenario(o) {
  const out = { count: o.count, rate_per_s: o.rate };
  let child;
  // BENCH_INTERVAL: tandem's `run --interval` in ms (default: tandem's own).
  const interval = process.env.BENCH_INTERVAL ? ['--interval', process.env.BENCH_INTERVAL] : [];
  const running = runTandem(['run', '-c', o.cfg, ...interval], {
    cwd: o.cwd,
    control: (c) => {
      child = c;
    },
    timeoutMs: 30 * 60_000,
  });
  const latencies = [];
  const lostIds = [];
  /** Updates committed and not yet seen on the target: id → { name, committed, resolve }. */
  const pending = new Map();
  let polling = true;
  // One poller for all pending updates (a query each pollMs), so the writes keep their rate.
  const poller = (async () => {
    while (polling) {
      if (pending.size > 0) {
        const rows = await o.reader.namesBySrcId([...pending.keys()]);
        const now = performance.now();
        for (const row of rows) {
          const p = pending.get(Number(row.id));
          if (p && row.name === p.name) {
            pending.delete(Number(row.id));
            p.resolve(now - p.committed);
          }
        }
      }
      await sleep(o.pollMs);
    }
  })();
  const write = async (id, name) => {
    await o.writer.write(id, name);
    const committed = performance.now();
    return new Promise((resolvePromise) => {
      pending.set(id, { name, committed, resolve: resolvePromise });
      setTimeout(() => {
        if (pending.get(id)?.name === name) {
          pending.delete(id);
          lostIds.push(id);
          resolvePromise(null);
        }
      }, 30_000);
    });
  };
  try {
    o.log('waiting for the running tandem to carry a first change…');
    if ((await write(1, `warm ${Date.now()}`)) == null) throw new Error('no change carried within 30 s');
    await sleep(500);
    o.log(`${o.count} updates at ${o.rate}/s…`);
    const period = 1000 / o.rate;
    const start = performance.now();
    const waits = [];
    for (let k = 0; k < o.count; k++) {
      const delay = start + k * period - performance.now();
      if (delay > 0) await sleep(delay);
      const id = 2 + ((k * 7919 + 13) % Math.max(1, o.rows - 1));
      waits.push(
        write(id, `latency ${k} ${Date.now()}`).then((ms) => {
          if (ms != null) latencies.push(ms);
        }),
      );
    }
    out.achieved_rate_per_s = o.count / ((performance.now() - start) / 1000);
    await Promise.all(waits);
  } finally {
    polling = false;
    await poller;
    await o.writer.end();
    await o.reader.end();
    child?.kill('SIGTERM');
  }
  const res = await running;
  out.tandem = childSummary(res);
  out.lost = o.count - latencies.length;
  if (lostIds.length > 0) out.lost_ids = lostIds;
  const sorted = latencies.sort((a, b) => a - b);
  out.ms = {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1),
  };
  return out;
}

/**
 * The backlog's updates on PostgreSQL: `name` of each of `ids` (matched on
 * `column`) set to `Customer <id> r<round>`, `perTx` to a transaction, one
 * statement each. Resolves to the wall time in ms.
 */
export async function pgUpdates(url, column, ids, perTx, round) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const started = performance.now();
  for (let k = 0; k < ids.length; k += perTx) {
    await c.query('BEGIN');
    for (let j = k; j < Math.min(ids.length, k + perTx); j++) {
      await c.query(`UPDATE customers SET name = $1 WHERE ${column} = $2`, [
        `Customer ${ids[j]} r${round}`,
        ids[j],
      ]);
    }
    await c.query('COMMIT');
  }
  const ms = performance.now() - started;
  await c.end();
  return ms;
}
