/**
 * `npm run bench`: tandem against a raw baseline measured in the same run.
 *
 *  A. First sync of BENCH_ROWS rows (default 1,000,000) SQLite → SQLite in
 *     system-of-record mode (left owns identity, right stores it in `src_id`),
 *     `tandem run --once` as a child process: rows/s and peak RSS, beside a
 *     minimal script copying the same rows straight into a fresh SQLite file.
 *     Then a second pass, which must write nothing.
 *  B. Change capture: BENCH_CHANGES (default 100,000) single-row updates on the
 *     left in transactions of BENCH_CHANGE_TX (default 100) while tandem is
 *     stopped, then `run --once` drains them; baseline: the same updates
 *     applied straight to a copy of the right table. Also the writer's cost of
 *     the capture triggers, and an echo pass that must write nothing.
 *  C. Latency: `tandem run` left running; BENCH_LAT_COUNT (200) single-row
 *     updates at BENCH_LAT_RATE (20) per second on the left, each polled for on
 *     the right every BENCH_LAT_POLL_MS (2) ms: commit-to-visible percentiles.
 *
 * Prints a table and writes bench/results/latest.json. Exits 0 even when a
 * target is missed (the table says MISSED); exits 1 only when the benchmark
 * itself could not run.
 *
 * Other knobs: BENCH_BASELINE_TX (rows per baseline transaction, 50,000),
 * BENCH_INTERVAL (tandem `run --interval` in ms for C; default: tandem's own),
 * BENCH_BATCH_SIZE (tandem `--batch-size`; default: tandem's own),
 * BENCH_PROFILE=1 (run A's first sync and B's drain under --cpu-prof and print
 * the top self-time functions; timings are then inflated),
 * BENCH_KEEP=1 (keep the temp directory), BENCH_TMPDIR (where to make it),
 * BENCH_OUT (the JSON file; default bench/results/latest.json).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { profileTable, summariseProfile } from './cpuprofile-summary.mjs';
import {
  BENCH_DIR,
  CLI,
  changeRow,
  Database,
  envInt,
  FIELDS,
  fmtInt,
  fmtMs,
  fmtNum,
  LEFT_DDL,
  leftRow,
  parseRunJson,
  percentile,
  RIGHT_DDL,
  ROOT,
  runMeasured,
  runTandem,
  sleep,
  sorConfigYaml,
  textTable,
  writesOf,
} from './lib.mjs';

// ------------------------------------------------------------------ settings

const S = {
  rows: envInt('BENCH_ROWS', 1_000_000),
  changes: envInt('BENCH_CHANGES', 100_000),
  changeTx: envInt('BENCH_CHANGE_TX', 100),
  baselineTx: envInt('BENCH_BASELINE_TX', 50_000),
  latCount: envInt('BENCH_LAT_COUNT', 200),
  latRate: envInt('BENCH_LAT_RATE', 20),
  latPollMs: envInt('BENCH_LAT_POLL_MS', 2),
  interval: process.env.BENCH_INTERVAL ? envInt('BENCH_INTERVAL', 200) : null,
  batchSize: process.env.BENCH_BATCH_SIZE ? envInt('BENCH_BATCH_SIZE', 1000) : null,
  profile: process.env.BENCH_PROFILE === '1',
  keep: process.env.BENCH_KEEP === '1',
};

const TARGETS = {
  firstSyncRatio: 0.4, // tandem rows/s ÷ baseline rows/s, at least
  firstSyncRssMb: 300, // peak RSS of the first sync, under
  secondPassWrites: 0, // exactly
};

const RESULTS_DIR = join(BENCH_DIR, 'results');

// ------------------------------------------------------------------ helpers

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const rate = (rows, ms) => (ms > 0 ? rows / (ms / 1000) : null);
const ratio = (a, b) => (a != null && b ? a / b : null);
const mb = (bytes) => bytes / (1024 * 1024);

function tandemArgs(cfg, extra = []) {
  const args = ['run', ...extra, '-c', cfg];
  if (S.batchSize) args.push('--batch-size', String(S.batchSize));
  return args;
}

/** Rows on the right, and left rows with no right row or a differing mapped field. */
function compareSides(leftPath, rightPath) {
  const db = new Database(rightPath, { readonly: true, fileMustExist: true });
  try {
    db.exec(`ATTACH DATABASE '${leftPath.replace(/'/g, "''")}' AS l`);
    const rightRows = db.prepare('SELECT count(*) FROM main.customers').pluck().get();
    const differ = FIELDS.map((f) => `a.${f} IS NOT b.${f}`).join(' OR ');
    const mismatched = db
      .prepare(
        `SELECT count(*) FROM l.customers a LEFT JOIN main.customers b ON b.src_id = a.id WHERE b.id IS NULL OR ${differ}`,
      )
      .pluck()
      .get();
    const orphans = db
      .prepare(
        'SELECT count(*) FROM main.customers b WHERE b.src_id IS NULL OR b.src_id NOT IN (SELECT id FROM l.customers)',
      )
      .pluck()
      .get();
    return { rightRows, mismatched, orphans };
  } finally {
    db.close();
  }
}

/** Applies the change set to `path` in transactions of `txRows`; returns ms and rows changed. */
function applyChanges(path, round, txRows) {
  const db = new Database(path, { fileMustExist: true, timeout: 10_000 });
  try {
    db.pragma('journal_mode = WAL');
    const update = db.prepare('UPDATE customers SET name = ?, balance = ? WHERE id = ?');
    const started = performance.now();
    let changed = 0;
    db.exec('BEGIN');
    for (let k = 0; k < S.changes; k++) {
      const [id, name, balance] = changeRow(k, S.changes, S.rows, round);
      changed += update.run(name, balance, id).changes;
      if ((k + 1) % txRows === 0) {
        db.exec('COMMIT');
        db.exec('BEGIN');
      }
    }
    db.exec('COMMIT');
    return { ms: performance.now() - started, changed };
  } finally {
    db.close();
  }
}

function countChangeRows(path) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const t = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_tandem_changes'")
      .get();
    return t ? db.prepare('SELECT count(*) FROM _tandem_changes').pluck().get() : null;
  } finally {
    db.close();
  }
}

const fileMb = (path) => {
  let total = 0;
  for (const suffix of ['', '-wal']) if (existsSync(path + suffix)) total += statSync(path + suffix).size;
  return mb(total);
};

function childSummary(res) {
  return {
    exit_code: res.code,
    signal: res.signal,
    timed_out: res.timedOut,
    wall_ms: res.wallMs,
    peak_rss_mb: res.peakRssMb,
    peak_rss_sampled_mb: res.sampledPeakRssMb,
    peak_rss_reported_mb: res.reportedPeakRssMb,
    cpu_user_ms: res.cpuUserMs,
    cpu_sys_ms: res.cpuSysMs,
    cpu_ms: res.cpuUserMs != null ? res.cpuUserMs + (res.cpuSysMs ?? 0) : null,
    load1_before: res.load1Before,
    load1_after: res.load1After,
  };
}

/** `promise`'s value, or null after `ms` (the timer does not hold the process open). */
function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function checkChild(res, what) {
  if (res.timedOut) throw new Error(`${what}: timed out after ${fmtMs(res.wallMs)}`);
  if (res.code !== 0) {
    throw new Error(
      `${what}: exited ${res.code ?? res.signal}\nstdout: ${res.stdout.slice(0, 2000)}\nstderr: ${res.stderr.slice(-4000)}`,
    );
  }
}

function profileNodeArgs(dir, name) {
  if (!S.profile) return [];
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}.cpuprofile`];
}

function profileSummary(dir, name) {
  const file = join(dir, `${name}.cpuprofile`);
  if (!S.profile || !existsSync(file)) return null;
  const top = summariseProfile(file, 15);
  return { file, top };
}

function machineInfo() {
  const cpus = os.cpus();
  let commit = null;
  let dirty = null;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src'], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim().length > 0;
  } catch {}
  const mem = new Database(':memory:');
  const sqlite = mem.prepare('SELECT sqlite_version()').pluck().get();
  mem.close();
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu_model: cpus[0]?.model ?? null,
    cpu_count: cpus.length,
    total_memory_mb: Math.round(mb(os.totalmem())),
    sqlite_version: sqlite,
    better_sqlite3: JSON.parse(
      execFileSync(
        process.execPath,
        ['-p', "JSON.stringify(require('better-sqlite3/package.json').version)"],
        {
          cwd: ROOT,
          encoding: 'utf8',
        },
      ),
    ),
    git_commit: commit,
    src_dirty: dirty,
  };
}

// ------------------------------------------------------------------ scenarios

function setUp(dir) {
  const left = join(dir, 'left.db');
  const right = join(dir, 'right.db');
  const started = performance.now();
  const db = new Database(left);
  db.pragma('journal_mode = WAL');
  db.exec(LEFT_DDL);
  const insert = db.prepare(
    'INSERT INTO customers (id, email, name, status, balance, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  db.exec('BEGIN');
  for (let i = 1; i <= S.rows; i++) {
    insert.run(leftRow(i));
    if (i % 100_000 === 0) {
      db.exec('COMMIT');
      db.exec('BEGIN');
    }
  }
  db.exec('COMMIT');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  // An untouched copy, to price the capture triggers for the writer in B.
  copyFileSync(left, join(dir, 'left-plain.db'));
  const r = new Database(right);
  r.pragma('journal_mode = WAL');
  for (const sql of RIGHT_DDL) r.exec(sql);
  r.close();
  const cfg = join(dir, 'tandem.yaml');
  writeFileSync(
    cfg,
    sorConfigYaml({ state: '.tandem/state.db', src: 'sqlite:./left.db', dst: 'sqlite:./right.db' }),
  );
  return { left, right, cfg, genMs: performance.now() - started, leftMb: fileMb(left) };
}

async function scenarioA(ctx, out) {
  const { dir, left, right, cfg, profDir } = ctx;
  const A = { rows: S.rows };
  out.first_sync = A;

  log(`A: baseline copy of ${fmtInt(S.rows)} rows…`);
  const basePath = join(dir, 'baseline.db');
  const base = await runMeasured(
    join(BENCH_DIR, 'baseline-copy.mjs'),
    [left, basePath, String(S.baselineTx)],
    { cwd: dir },
  );
  checkChild(base, 'baseline copy');
  const baseOut = JSON.parse(base.stdout);
  const baseCheck = compareSides(left, basePath);
  A.baseline = {
    ...childSummary(base),
    inner_ms: baseOut.ms,
    rows_per_s: rate(S.rows, base.wallMs),
    tx_rows: S.baselineTx,
    check: baseCheck,
  };
  ctx.basePath = basePath;

  log(`A: tandem first sync of ${fmtInt(S.rows)} rows…`);
  const res = await runTandem(tandemArgs(cfg, ['--once', '--json']), {
    cwd: dir,
    nodeArgs: profileNodeArgs(profDir, 'first-sync'),
  });
  A.tandem = { ...childSummary(res), rows_per_s: rate(S.rows, res.wallMs), profiled: S.profile };
  checkChild(res, 'tandem first sync');
  A.tandem.writes = writesOf(parseRunJson(res));
  A.tandem.check = compareSides(left, right);
  A.tandem.right_db_mb = fileMb(right);
  A.tandem.profile = profileSummary(profDir, 'first-sync');
  A.ratio = ratio(A.tandem.rows_per_s, A.baseline.rows_per_s);
  A.tandem.rows_per_cpu_s = rate(S.rows, A.tandem.cpu_ms);
  A.baseline.rows_per_cpu_s = rate(S.rows, A.baseline.cpu_ms);
  A.cpu_ratio = ratio(A.tandem.rows_per_cpu_s, A.baseline.rows_per_cpu_s);

  log('A: second pass…');
  const again = await runTandem(tandemArgs(cfg, ['--once', '--json']), { cwd: dir });
  out.second_pass = { ...childSummary(again) };
  checkChild(again, 'tandem second pass');
  out.second_pass.writes = writesOf(parseRunJson(again));
}

async function scenarioB(ctx, out) {
  const { dir, left, right, cfg, profDir } = ctx;
  const B = { changes: S.changes, source_tx_rows: S.changeTx };
  out.capture = B;

  log(`B: ${fmtInt(S.changes)} updates on the left (transactions of ${S.changeTx})…`);
  const plain = applyChanges(join(dir, 'left-plain.db'), 1, S.changeTx);
  const captured = applyChanges(left, 1, S.changeTx);
  B.source_writes = {
    without_triggers_ms: plain.ms,
    with_triggers_ms: captured.ms,
    trigger_overhead: ratio(captured.ms, plain.ms),
    rows_changed: captured.changed,
    change_table_rows: countChangeRows(left),
  };

  log('B: baseline updates on a copy of the right table…');
  const base = await runMeasured(
    join(BENCH_DIR, 'baseline-updates.mjs'),
    [ctx.basePath, String(S.changes), String(S.rows), '1', String(S.baselineTx)],
    { cwd: dir },
  );
  checkChild(base, 'baseline updates');
  const baseOut = JSON.parse(base.stdout);
  B.baseline = {
    ...childSummary(base),
    inner_ms: baseOut.ms,
    rows_changed: baseOut.changed,
    rows_per_s: rate(S.changes, base.wallMs),
  };

  log('B: tandem drains the changes…');
  const res = await runTandem(tandemArgs(cfg, ['--once', '--json']), {
    cwd: dir,
    nodeArgs: profileNodeArgs(profDir, 'capture-drain'),
  });
  B.tandem = { ...childSummary(res), rows_per_s: rate(S.changes, res.wallMs), profiled: S.profile };
  checkChild(res, 'tandem capture drain');
  B.tandem.writes = writesOf(parseRunJson(res));
  B.tandem.check = compareSides(left, right);
  B.tandem.change_table_rows_after = countChangeRows(left);
  B.tandem.profile = profileSummary(profDir, 'capture-drain');
  B.ratio = ratio(B.tandem.rows_per_s, B.baseline.rows_per_s);
  B.tandem.rows_per_cpu_s = rate(S.changes, B.tandem.cpu_ms);
  B.baseline.rows_per_cpu_s = rate(S.changes, B.baseline.cpu_ms);
  B.cpu_ratio = ratio(B.tandem.rows_per_cpu_s, B.baseline.rows_per_cpu_s);

  log('B: echo pass (tandem must not re-read its own writes as changes)…');
  const echo = await runTandem(tandemArgs(cfg, ['--once', '--json']), { cwd: dir });
  B.echo_pass = { ...childSummary(echo) };
  checkChild(echo, 'tandem echo pass');
  B.echo_pass.writes = writesOf(parseRunJson(echo));
}

async function scenarioC(ctx, out) {
  const { dir, left, right, cfg } = ctx;
  const C = {
    count: S.latCount,
    rate_per_s: S.latRate,
    poll_ms: S.latPollMs,
    engine_interval_ms: S.interval ?? 'default',
  };
  out.latency = C;
  let child;
  const extra = S.interval ? ['--interval', String(S.interval)] : [];
  const running = runTandem(tandemArgs(cfg, extra), {
    cwd: dir,
    control: (c) => {
      child = c;
    },
    timeoutMs: 30 * 60_000,
  });
  let exited = false;
  running.then(() => {
    exited = true;
  });

  const writer = new Database(left, { fileMustExist: true, timeout: 10_000 });
  const reader = new Database(right, { readonly: true, fileMustExist: true });
  const update = writer.prepare('UPDATE customers SET name = ? WHERE id = ?');
  const read = reader.prepare('SELECT name FROM customers WHERE src_id = ?').pluck();

  const pending = new Map(); // tag → { id, name, committedAt }
  const latencies = [];
  const commitMs = [];
  let polling = true;
  const poll = () => {
    if (!polling) return;
    const now = performance.now();
    for (const [tag, p] of pending) {
      if (read.get(p.id) === p.name) {
        p.resolve?.(now - p.committedAt);
        pending.delete(tag);
      }
    }
    setTimeout(poll, S.latPollMs);
  };
  const write = (tag, id, name) =>
    new Promise((resolve) => {
      const t0 = performance.now();
      update.run(name, id);
      const committedAt = performance.now();
      commitMs.push(committedAt - t0);
      pending.set(tag, { id, name, committedAt, resolve });
    });

  try {
    poll();
    log('C: waiting for the running tandem to carry a first change…');
    const warm = await within(write('warm', 1, `warm-up ${Date.now()}`), 60_000);
    if (warm == null) throw new Error('the running tandem did not carry a change within 60 s');
    if (exited) throw new Error('tandem run exited early');
    C.first_change_ms = warm;
    commitMs.length = 0;
    await sleep(500);

    log(`C: ${S.latCount} updates at ${S.latRate}/s…`);
    const period = 1000 / S.latRate;
    const start = performance.now();
    const waits = [];
    for (let k = 0; k < S.latCount; k++) {
      const due = start + k * period;
      const delay = due - performance.now();
      if (delay > 0) await sleep(delay);
      const id = 2 + ((k * 7919 + 13) % Math.max(1, S.rows - 1));
      waits.push(
        within(write(`c${k}`, id, `latency ${k} ${Date.now()}`), 30_000).then((ms) => {
          if (ms != null) latencies.push(ms);
        }),
      );
    }
    C.achieved_rate_per_s = S.latCount / ((performance.now() - start) / 1000);
    await Promise.all(waits);
  } finally {
    polling = false;
    writer.close();
    reader.close();
    if (child && !exited) child.kill('SIGTERM');
  }
  const stopAsked = performance.now();
  const killer = setTimeout(() => child && !exited && child.kill('SIGKILL'), 30_000);
  const res = await running;
  clearTimeout(killer);
  C.shutdown_ms = performance.now() - stopAsked;
  C.tandem = childSummary(res);
  C.lost = S.latCount - latencies.length;
  const sorted = latencies.sort((a, b) => a - b);
  C.ms = {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? null,
    min: sorted[0] ?? null,
  };
  const commits = commitMs.sort((a, b) => a - b);
  C.writer_commit_ms = {
    p50: percentile(commits, 50),
    p99: percentile(commits, 99),
    max: commits.at(-1) ?? null,
  };
  if (res.code !== 0) C.tandem.stderr_tail = res.stderr.slice(-2000);
  C.check = compareSides(left, right);
}

// ------------------------------------------------------------------ report

function report(out) {
  const A = out.first_sync;
  const P = out.second_pass;
  const B = out.capture;
  const C = out.latency;
  const verdict = (ok) => (ok == null ? '' : ok ? 'ok' : 'MISSED');
  const rows = [];
  if (A?.tandem) {
    rows.push([
      `first sync, ${fmtInt(S.rows)} rows: rows/s`,
      fmtInt(A.tandem.rows_per_s),
      fmtInt(A.baseline?.rows_per_s),
      fmtNum(A.ratio, 2),
      `≥ ${TARGETS.firstSyncRatio.toFixed(2)}`,
      verdict(A.ratio != null ? A.ratio >= TARGETS.firstSyncRatio : null),
    ]);
    rows.push(['first sync: wall time', fmtMs(A.tandem.wall_ms), fmtMs(A.baseline?.wall_ms), '', '', '']);
    rows.push([
      'first sync: peak RSS (MB)',
      fmtNum(A.tandem.peak_rss_mb),
      fmtNum(A.baseline?.peak_rss_mb),
      fmtNum(ratio(A.tandem.peak_rss_mb, A.baseline?.peak_rss_mb), 2),
      `< ${TARGETS.firstSyncRssMb} MB`,
      verdict(A.tandem.peak_rss_mb < TARGETS.firstSyncRssMb),
    ]);
    rows.push(['first sync: CPU user+sys', fmtMs(A.tandem.cpu_ms), fmtMs(A.baseline?.cpu_ms), '', '', '']);
    rows.push([
      'first sync: rows per CPU-second',
      fmtInt(A.tandem.rows_per_cpu_s),
      fmtInt(A.baseline?.rows_per_cpu_s),
      fmtNum(A.cpu_ratio, 2),
      '',
      '',
    ]);
    if (A.tandem.check) {
      const c = A.tandem.check;
      rows.push([
        'first sync: right rows / mismatched',
        `${fmtInt(c.rightRows)} / ${fmtInt(c.mismatched)}`,
        `${fmtInt(A.baseline?.check.rightRows)} / ${fmtInt(A.baseline?.check.mismatched)}`,
        '',
        `${fmtInt(S.rows)} / 0`,
        verdict(c.mismatched === 0 && c.rightRows === S.rows && c.orphans === 0),
      ]);
    }
  }
  if (P?.writes) {
    rows.push([
      'second pass: writes',
      fmtInt(P.writes.total),
      '',
      '',
      '= 0',
      verdict(P.writes.total === TARGETS.secondPassWrites),
    ]);
    rows.push(['second pass: wall time', fmtMs(P.wall_ms), '', '', '', '']);
  }
  if (B?.tandem) {
    rows.push([
      `capture drain, ${fmtInt(S.changes)} changes: rows/s`,
      fmtInt(B.tandem.rows_per_s),
      fmtInt(B.baseline?.rows_per_s),
      fmtNum(B.ratio, 2),
      '',
      '',
    ]);
    rows.push(['capture drain: wall time', fmtMs(B.tandem.wall_ms), fmtMs(B.baseline?.wall_ms), '', '', '']);
    rows.push(['capture drain: CPU user+sys', fmtMs(B.tandem.cpu_ms), fmtMs(B.baseline?.cpu_ms), '', '', '']);
    rows.push([
      'capture drain: rows per CPU-second',
      fmtInt(B.tandem.rows_per_cpu_s),
      fmtInt(B.baseline?.rows_per_cpu_s),
      fmtNum(B.cpu_ratio, 2),
      '',
      '',
    ]);
    rows.push([
      'capture drain: peak RSS (MB)',
      fmtNum(B.tandem.peak_rss_mb),
      fmtNum(B.baseline?.peak_rss_mb),
      '',
      '',
      '',
    ]);
    if (B.tandem.writes && B.tandem.check) {
      const expected = Math.min(S.changes, S.rows);
      rows.push([
        'capture drain: updated right / mismatched',
        `${fmtInt(B.tandem.writes.updated.right)} / ${fmtInt(B.tandem.check.mismatched)}`,
        '',
        '',
        `${fmtInt(expected)} / 0`,
        verdict(B.tandem.writes.updated.right === expected && B.tandem.check.mismatched === 0),
      ]);
    }
    rows.push([
      `writer: ${fmtInt(S.changes)} updates, tx of ${S.changeTx}`,
      `${fmtMs(B.source_writes.with_triggers_ms)} (triggers)`,
      `${fmtMs(B.source_writes.without_triggers_ms)} (none)`,
      fmtNum(B.source_writes.trigger_overhead, 2),
      '',
      '',
    ]);
    rows.push([
      'echo pass after drain: writes',
      fmtInt(B.echo_pass?.writes?.total),
      '',
      '',
      '= 0',
      verdict(B.echo_pass?.writes ? B.echo_pass.writes.total === 0 : null),
    ]);
  }
  if (C?.ms) {
    rows.push([
      `latency, ${C.count} updates at ${C.rate_per_s}/s: p50/p95/p99`,
      `${fmtNum(C.ms.p50, 0)} / ${fmtNum(C.ms.p95, 0)} / ${fmtNum(C.ms.p99, 0)} ms`,
      '',
      '',
      '',
      '',
    ]);
    rows.push([
      'latency: max / lost',
      `${fmtNum(C.ms.max, 0)} ms / ${C.lost}`,
      '',
      '',
      'lost = 0',
      verdict(C.lost === 0),
    ]);
    rows.push(['latency: running tandem peak RSS (MB)', fmtNum(C.tandem.peak_rss_mb), '', '', '', '']);
  }
  console.log(
    `\nTandem benchmark — ${out.machine.node}, ${out.machine.cpu_count} × ${out.machine.cpu_model}, SQLite ${out.machine.sqlite_version}` +
      `${S.profile ? ' — PROFILED (timings inflated)' : ''}\n`,
  );
  console.log(textTable(['measure', 'tandem', 'baseline', 'ratio', 'target', ''], rows));
  if (C?.ms) {
    console.log(
      `\nlatency: engine interval ${C.engine_interval_ms}${C.engine_interval_ms === 'default' ? '' : ' ms'}, poll every ${C.poll_ms} ms, ` +
        `achieved ${fmtNum(C.achieved_rate_per_s, 1)} updates/s, writer commit p50/p99 ${fmtNum(C.writer_commit_ms.p50, 2)}/${fmtNum(C.writer_commit_ms.p99, 2)} ms, ` +
        `tandem stopped ${fmtMs(C.shutdown_ms)} after SIGTERM with exit ${C.tandem.exit_code ?? C.tandem.signal}`,
    );
  }
  const loads = [A?.baseline, A?.tandem, P, B?.baseline, B?.tandem]
    .filter(Boolean)
    .flatMap((r) => [r.load1_before, r.load1_after])
    .filter((x) => x != null);
  const busiest = loads.length ? Math.max(...loads) : 0;
  out.max_load1 = busiest;
  if (busiest > out.machine.cpu_count * 0.5) {
    console.log(
      `\nnote: the machine was busy (1-min load average up to ${busiest.toFixed(2)} on ${out.machine.cpu_count} CPUs); ` +
        'wall-clock rates include that contention, the rows-per-CPU-second rows do not.',
    );
  }
  for (const [name, prof] of [
    ['first sync', A?.tandem?.profile],
    ['capture drain', B?.tandem?.profile],
  ]) {
    if (!prof) continue;
    console.log(`\nTop self time, ${name} (${prof.file}):`);
    console.log(profileTable(prof.top));
  }
  for (const e of out.errors) console.log(`\nERROR in ${e.scenario}: ${e.message}`);
}

// ------------------------------------------------------------------ main

async function main() {
  if (!existsSync(CLI)) {
    console.error(`${CLI} is missing: build first (npm run build), or use npm run bench.`);
    process.exit(1);
  }
  const dir = mkdtempSync(join(process.env.BENCH_TMPDIR ?? os.tmpdir(), 'tandem-bench-'));
  const profDir = join(RESULTS_DIR, 'profiles');
  const out = {
    started_at: new Date().toISOString(),
    settings: { ...S, targets: TARGETS },
    machine: machineInfo(),
    errors: [],
  };
  const ctx = { dir, profDir };
  log(`working in ${dir}`);
  // Ctrl-C: the children get the signal from the terminal too; remove the temp files.
  process.once('SIGINT', () => {
    if (!S.keep) rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
  try {
    log(`generating ${fmtInt(S.rows)} left rows…`);
    Object.assign(ctx, setUp(dir));
    out.setup = { generate_ms: ctx.genMs, left_db_mb: ctx.leftMb };
    for (const [name, fn] of [
      ['A (first sync)', scenarioA],
      ['B (capture)', scenarioB],
      ['C (latency)', scenarioC],
    ]) {
      try {
        await fn(ctx, out);
      } catch (e) {
        out.errors.push({ scenario: name, message: e.message });
        log(`${name} failed: ${e.message}`);
        if (name.startsWith('A')) break; // B and C need A's synced pair
      }
    }
  } finally {
    out.finished_at = new Date().toISOString();
    if (S.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  const file = process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : join(RESULTS_DIR, 'latest.json');
  mkdirSync(dirname(file), { recursive: true });
  report(out);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
