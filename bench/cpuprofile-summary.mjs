/**
 * Top self-time functions of a V8 .cpuprofile (as written by `node --cpu-prof`).
 *
 *   node bench/cpuprofile-summary.mjs FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, textTable } from './lib.mjs';

/** [{ fn, where, selfMs, pct }] sorted by self time, aggregated per function and location. */
export function summariseProfile(file, top = 15) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time since the previous sample; charge it to the sample it ends.
    const dt = timeDeltas[i] ?? 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + dt);
  }
  const agg = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    let url = cf.url || '';
    if (url.startsWith('file://')) {
      try {
        url = relative(ROOT, fileURLToPath(url));
      } catch {}
    }
    const where = url ? `${url}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'}\u0000${where}`;
    agg.set(key, (agg.get(key) ?? 0) + us);
    total += us;
  }
  return [...agg]
    .map(([key, us]) => {
      const [fn, where] = key.split('\u0000');
      return { fn, where, selfMs: us / 1000, pct: total ? (100 * us) / total : 0 };
    })
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top)
    .map((r) => ({ ...r, totalMs: total / 1000 }));
}

export function profileTable(rows) {
  return textTable(
    ['self ms', '%', 'function', 'where'],
    rows.map((r) => [r.selfMs.toFixed(0), r.pct.toFixed(1), r.fn, r.where]),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  console.log(profileTable(summariseProfile(file, Number(top) || 20)));
}
