/**
 * Shared helpers for the benchmark: the synthetic rows and changes (so tandem
 * and the raw baselines write exactly the same data), a child-process runner
 * that measures wall time and peak RSS, and formatting.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
/** better-sqlite3 from the project's node_modules. */
export const Database = require('better-sqlite3');

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = dirname(BENCH_DIR);
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const PROBE = pathToFileURL(join(BENCH_DIR, 'rss-probe.mjs')).href;

// ------------------------------------------------------------------ settings

/** A positive integer from the environment (`1_000_000` allowed), or `dflt` when unset. */
export function envInt(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
  return Math.floor(n);
}

// ------------------------------------------------------------------ data

export const LEFT_DDL =
  'CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, status TEXT, balance NUMERIC, created_at TEXT)';
/** The right table: the same columns, its own key, and the external-ID column holding the left key. */
export const RIGHT_DDL = [
  'CREATE TABLE customers (id INTEGER PRIMARY KEY, src_id INTEGER, email TEXT NOT NULL, name TEXT, status TEXT, balance NUMERIC, created_at TEXT)',
  'CREATE UNIQUE INDEX customers_src_id ON customers (src_id)',
];
export const FIELDS = ['email', 'name', 'status', 'balance', 'created_at'];

/**
 * The benchmarks' tandem.yaml: `customers` in system-of-record mode, left (the
 * source, `src`) owning identity, the right table keeping it in `src_id`.
 * `src` and `dst` are connection URLs as YAML values (quote them when needed).
 */
export function sorConfigYaml({ state, src, dst }) {
  return `version: 1
state: sqlite:${state}
connections:
  src: { url: ${src} }
  dst: { url: ${dst} }
syncs:
  customers:
    mode: system-of-record
    system_of_record: left
    left:  { connection: src, table: customers }
    right: { connection: dst, table: customers, external_id: src_id }
    fields: [${FIELDS.join(', ')}]
`;
}

const EPOCH = Date.UTC(2024, 0, 1);

/** Left row `i` (1-based): [id, email, name, status, balance, created_at]. */
export function leftRow(i) {
  return [
    i,
    `user${i}@example.com`,
    `Customer ${i}`,
    i % 10 === 0 ? 'inactive' : 'active',
    ((i * 7919) % 1000000) / 100,
    new Date(EPOCH + i * 1000).toISOString(),
  ];
}

/**
 * Change `k` (0-based) of `count` over a table of `rows` rows, round `round`:
 * distinct ids spread over the whole table when count ≤ rows.
 * Returns [id, name, balance].
 */
export function changeRow(k, count, rows, round) {
  const id = count <= rows ? 1 + Math.floor((k * rows) / count) : 1 + (k % rows);
  return [id, `Customer ${id} r${round}`, ((k * 31 + round * 7 + 1) % 100000) / 100 + 0.01];
}

// ------------------------------------------------------------------ children

/**
 * Runs `node [nodeArgs] script args` and measures it: wall time, peak RSS (the
 * larger of ru_maxrss reported by the child at exit and VmHWM/VmRSS sampled from
 * /proc every `sampleMs`), CPU time, the 1-minute load average before and
 * after (other work on the machine inflates wall time). Resolves when the child exits.
 * `control` receives the ChildProcess as soon as it starts (for signals).
 */
export function runMeasured(
  script,
  args,
  { cwd, env = {}, nodeArgs = [], sampleMs = 50, timeoutMs = 60 * 60_000, control } = {},
) {
  const usageFile = join(
    cwd ?? BENCH_DIR,
    `.usage-${process.pid}-${Math.random().toString(36).slice(2)}.json`,
  );
  return new Promise((resolve) => {
    const loadBefore = loadavg()[0];
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', PROBE, ...nodeArgs, script, ...args], {
      cwd,
      env: { ...process.env, ...env, BENCH_USAGE_FILE: usageFile, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    control?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    let hwmKb = 0;
    let rssKb = 0;
    let samples = 0;
    const sample = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const hwm = /VmHWM:\s+(\d+)/.exec(status);
        const rss = /VmRSS:\s+(\d+)/.exec(status);
        if (hwm) hwmKb = Math.max(hwmKb, Number(hwm[1]));
        if (rss) rssKb = Math.max(rssKb, Number(rss[1]));
        samples++;
      } catch {
        // exited between two samples
      }
    };
    const timer = setInterval(sample, sampleMs);
    sample();
    let timedOut = false;
    const killer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      const wallMs = performance.now() - started;
      clearInterval(timer);
      clearTimeout(killer);
      let usage = null;
      if (existsSync(usageFile)) {
        try {
          usage = JSON.parse(readFileSync(usageFile, 'utf8'));
        } catch {}
        rmSync(usageFile, { force: true });
      }
      const peakKb = Math.max(hwmKb, rssKb, usage?.maxRSS ?? 0);
      // Let the pipes drain before resolving.
      setImmediate(() =>
        resolve({
          code,
          signal,
          timedOut,
          wallMs,
          peakRssMb: peakKb / 1024,
          sampledPeakRssMb: Math.max(hwmKb, rssKb) / 1024,
          reportedPeakRssMb: usage ? usage.maxRSS / 1024 : null,
          rssSamples: samples,
          cpuUserMs: usage ? usage.userCPUTime / 1000 : null,
          cpuSysMs: usage ? usage.systemCPUTime / 1000 : null,
          load1Before: loadBefore,
          load1After: loadavg()[0],
          stdout,
          stderr,
        }),
      );
    });
  });
}

/** Runs the tandem CLI as a measured child. */
export function runTandem(args, opts = {}) {
  // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles each tandem run.
  const extra = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return runMeasured(CLI, args, { ...opts, nodeArgs: [...(opts.nodeArgs ?? []), ...extra] });
}

/** Parses the `--json` output of `run --once`; throws with the child's output when it is not JSON. */
export function parseRunJson(res) {
  try {
    return JSON.parse(res.stdout);
  } catch {
    throw new Error(
      `tandem exited ${res.code ?? res.signal} without JSON output.\nstdout: ${res.stdout.slice(0, 2000)}\nstderr: ${res.stderr.slice(-4000)}`,
    );
  }
}

/** Sum of the writes a `run --once --json` result reports, per kind and side. */
export function writesOf(json) {
  const w = {
    created: { left: 0, right: 0 },
    updated: { left: 0, right: 0 },
    deleted: { left: 0, right: 0 },
    quarantined: 0,
  };
  for (const s of json.syncs ?? []) {
    for (const k of ['created', 'updated', 'deleted']) {
      w[k].left += s[k]?.left ?? 0;
      w[k].right += s[k]?.right ?? 0;
    }
    w.quarantined += s.quarantined ?? 0;
  }
  w.total =
    w.created.left + w.created.right + w.updated.left + w.updated.right + w.deleted.left + w.deleted.right;
  return w;
}

// ------------------------------------------------------------------ stats & formatting

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export const fmtInt = (n) => (n == null ? '—' : Math.round(n).toLocaleString('en-US'));
export const fmtNum = (n, digits = 1) => (n == null ? '—' : n.toFixed(digits));
export const fmtMs = (ms) =>
  ms == null ? '—' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;

/** A plain text table. */
export function textTable(headers, rows) {
  const width = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) =>
    cells
      .map((c, i) => String(c ?? '').padEnd(width[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
