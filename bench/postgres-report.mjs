/**
 * The table bench/postgres.mjs prints: each measure beside its baseline, the
 * ratio, the target and whether it was met (MISSED when not).
 */
import os from 'node:os';
import { fmtInt, fmtMs, fmtNum, textTable } from './lib.mjs';

/** `out`: what bench/postgres.mjs writes to bench/results/postgres.json. */
export function report(out) {
  const S = out.settings;
  const TARGETS = S.targets;
  const verdict = (ok) => (ok == null ? '' : ok ? 'ok' : 'MISSED');
  const rows = [];
  for (const kind of ['pg', 'sqlite']) {
    const D = out[`first_sync_${kind}`];
    if (!D?.tandem) continue;
    const to = kind === 'pg' ? 'PostgreSQL → PostgreSQL' : 'PostgreSQL → SQLite';
    rows.push([
      `first sync ${to}, ${fmtInt(S.rows)} rows: rows/s`,
      fmtInt(D.tandem.rows_per_s),
      fmtInt(D.baseline.rows_per_s),
      fmtNum(D.ratio, 2),
      `≥ ${TARGETS.firstSyncRatio}`,
      verdict(D.ratio >= TARGETS.firstSyncRatio),
    ]);
    rows.push(['  wall time', fmtMs(D.tandem.wall_ms), fmtMs(D.baseline.wall_ms), '', '', '']);
    rows.push([
      '  peak RSS (MB)',
      fmtNum(D.tandem.peak_rss_mb),
      '',
      '',
      `< ${TARGETS.rssMb}`,
      verdict(D.tandem.peak_rss_mb < TARGETS.rssMb),
    ]);
    rows.push([
      '  target rows / same as source',
      `${fmtInt(D.check.rows)} / ${D.check.same}`,
      '',
      '',
      '',
      verdict(D.check.same),
    ]);
    rows.push([
      '  second pass writes',
      fmtInt(D.second_pass.writes.total),
      '',
      '',
      '= 0',
      verdict(D.second_pass.writes.total === 0),
    ]);
  }
  const E = out.backlog;
  if (E?.tandem) {
    rows.push([
      `backlog ${fmtInt(S.updates)} updates in ${fmtInt(S.updateTx)} tx: rows/s`,
      fmtInt(E.tandem.rows_per_s),
      fmtInt(E.baseline.rows_per_s),
      fmtNum(E.ratio, 2),
      `≥ ${TARGETS.backlogRatio}`,
      verdict(E.ratio >= TARGETS.backlogRatio),
    ]);
    rows.push(['  wall time', fmtMs(E.tandem.wall_ms), fmtMs(E.baseline.wall_ms), '', '', '']);
    rows.push([
      '  target same as source / echo writes',
      `${E.check.same} / ${E.echo_writes}`,
      '',
      '',
      'true / 0',
      verdict(E.check.same && E.echo_writes === 0),
    ]);
  }
  const F = out.latency;
  if (F?.ms) {
    rows.push([
      `latency, ${F.count} updates at ${F.rate_per_s}/s: p50/p95/p99`,
      `${fmtNum(F.ms.p50, 0)} / ${fmtNum(F.ms.p95, 0)} / ${fmtNum(F.ms.p99, 0)} ms`,
      '',
      '',
      `p99 < ${TARGETS.p99Ms}`,
      verdict(F.ms.p99 < TARGETS.p99Ms),
    ]);
    rows.push([
      '  max / lost',
      `${fmtNum(F.ms.max, 0)} ms / ${F.lost}`,
      '',
      '',
      'lost = 0',
      verdict(F.lost === 0),
    ]);
  }
  console.log(
    `\nTandem benchmark, PostgreSQL ${out.server_version} (fsync on) — ${out.node}, ${os.cpus().length} CPUs\n`,
  );
  console.log(textTable(['measure', 'tandem', 'baseline', 'ratio', 'target', ''], rows));
  for (const e of out.errors) console.log(`\nERROR in ${e.scenario}: ${e.message}`);
}
