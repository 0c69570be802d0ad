/**
 * `status`, `errors`, `trace`, `retry`: reading and nudging the state store
 * (and, for `status`, how far behind a PostgreSQL replication slot is).
 */

import { EXIT, TandemError } from '../core/errors.js';
import type { Side } from '../core/types.js';
import { connectorFor, type Runtime } from '../engine/runtime.js';
import type { QuarantineEntry } from '../state/store.js';
import { color, print, printJson, table } from './output.js';

export async function statusCommand(rt: Runtime, syncs: string[], json: boolean): Promise<number> {
  const rows = [];
  for (const name of syncs) {
    const s = await rt.store.status(name);
    const lag = await captureLag(rt, name);
    rows.push({
      name,
      state: s.state,
      reason: s.reason,
      linked: await rt.store.countLinks(name),
      quarantined: await rt.store.countQuarantined(name),
      lag_ms: s.lagMs,
      last_pass_at: s.lastPassAt,
      last_pass: s.lastPass,
      guard: s.guard,
      ...(lag ? { capture_lag: lag } : {}),
    });
  }
  if (json) {
    printJson({ syncs: rows });
    return EXIT.ok;
  }
  print(
    table(
      ['sync', 'state', 'linked', 'quarantined', 'last pass'],
      rows.map((r) => [
        r.name,
        r.state === 'ok' ? color.green(r.state) : color.yellow(r.state),
        String(r.linked),
        r.quarantined ? color.yellow(String(r.quarantined)) : '0',
        r.last_pass_at ?? 'never',
      ]),
    ),
  );
  for (const r of rows) if (r.reason) print(`\n${color.yellow(`${r.name}:`)} ${r.reason}`);
  for (const r of rows) {
    for (const [side, l] of Object.entries(r.capture_lag ?? {})) {
      const where = `${r.name} ${side}:`;
      if ('error' in l) print(`${color.yellow(where)} capture lag unknown: ${l.error}`);
      else
        print(
          `${where} replication slot ${l.slot} is ${formatBytes(l.behind_bytes)} behind the log${l.active ? ' (streaming)' : ' (no tandem reading it now)'}`,
        );
    }
  }
  return EXIT.ok;
}

type LagRow = { slot: string; behind_bytes: number; active: boolean } | { error: string };

/**
 * Per side whose capture holds a place in the database's log (a PostgreSQL
 * slot): how much log the server keeps for tandem. A database that cannot be
 * reached is said, not fatal: status is for when things are wrong.
 */
async function captureLag(rt: Runtime, name: string): Promise<Record<string, LagRow> | null> {
  const sync = rt.config.syncs.find((s) => s.name === name);
  if (!sync) return null;
  const out: Record<string, LagRow> = {};
  for (const side of ['left', 'right'] as const) {
    const conn = sync[side].connection;
    try {
      const c = await connectorFor(rt, conn, `syncs.${name}.${side}.connection`);
      const lag = c.captureLag ? await c.captureLag() : null;
      if (lag) out[side] = { slot: lag.holder, behind_bytes: lag.behindBytes, active: lag.active };
    } catch (e) {
      if (rt.config.connections[conn]?.url.startsWith('sqlite:')) continue;
      out[side] = { error: e instanceof TandemError ? e.message : String((e as Error).message ?? e) };
    }
  }
  return Object.keys(out).length > 0 ? out : null;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function errorJson(q: QuarantineEntry) {
  return {
    id: q.id,
    sync: q.sync,
    side: q.side,
    key: q.key,
    identity: q.identity,
    reason: q.reason,
    message: q.message,
    first_seen: q.firstSeen,
    last_seen: q.lastSeen,
    ...(q.detail ? { detail: q.detail } : {}),
  };
}

export async function errorsCommand(rt: Runtime, syncs: string[], json: boolean): Promise<number> {
  const all = (await rt.store.quarantined()).filter((q) => syncs.includes(q.sync));
  if (json) {
    printJson(all.map(errorJson));
    return EXIT.ok;
  }
  if (all.length === 0) {
    print('No records in quarantine.');
    return EXIT.ok;
  }
  print(
    table(
      ['id', 'sync', 'side', 'key', 'identity', 'reason', 'message', 'last seen'],
      all.map((q) => [
        String(q.id),
        q.sync,
        q.side,
        q.key ?? (q.detail?.source_key ? `(new, from ${q.detail.source_side} ${q.detail.source_key})` : '-'),
        q.identity ?? '-',
        q.reason,
        q.message,
        q.lastSeen ?? '',
      ]),
    ),
  );
  for (const q of all.filter((x) => x.reason === 'conflict')) {
    const fields = (q.detail?.fields as { field: string; left: unknown; right: unknown }[] | undefined) ?? [];
    for (const f of fields)
      print(`  #${q.id} ${f.field}: left=${JSON.stringify(f.left)} right=${JSON.stringify(f.right)}`);
  }
  print('\nFix the cause, then `tandem retry ID…` (or `--all`) puts records back in line.');
  return EXIT.ok;
}

export async function retryCommand(
  rt: Runtime,
  syncs: string[],
  opts: { ids: string[]; all: boolean; deletes: boolean; json: boolean },
): Promise<number> {
  const ids = opts.ids.map(Number);
  const held = (await rt.store.quarantined()).filter(
    (q) => syncs.includes(q.sync) && (opts.all || ids.includes(q.id!)),
  );
  const bySync = new Map<string, Record<Side, string[]>>();
  for (const q of held) {
    let m = bySync.get(q.sync);
    if (!m) {
      m = { left: [], right: [] };
      bySync.set(q.sync, m);
    }
    m[q.recordSide].push(q.recordKey);
  }
  for (const [sync, keys] of bySync) {
    for (const side of ['left', 'right'] as const) await rt.store.addRetry(sync, side, keys[side]);
  }
  const confirmed: string[] = [];
  if (opts.deletes) {
    for (const name of syncs) {
      const s = await rt.store.status(name);
      if (s.guard) {
        await rt.store.setStatus(name, { deletesConfirmed: true });
        confirmed.push(name);
      }
    }
  }
  if (opts.json) printJson({ retried: held.map((q) => q.id), deletes_confirmed: confirmed });
  else {
    print(`${held.length} quarantined record(s) will be looked at again on the next pass.`);
    for (const c of confirmed)
      print(`${c}: deletes confirmed; the next pass may delete past the guard once.`);
    if (opts.deletes && confirmed.length === 0) print('No sync is paused by the delete guard.');
    print('Run `tandem run --once` (or leave `tandem run` going) to apply.');
  }
  return EXIT.ok;
}

export async function traceCommand(
  rt: Runtime,
  sync: string,
  identity: string,
  json: boolean,
): Promise<number> {
  const entries = await rt.store.history(sync, identity);
  const link = (await rt.store.linksByIdentities(sync, [identity]))[0];
  if (json) {
    printJson({
      sync,
      identity,
      link: link ? { left_key: link.leftKey, right_key: link.rightKey } : null,
      history: entries,
    });
    return EXIT.ok;
  }
  print(
    link
      ? `${sync} ${identity}: linked, left key ${link.leftKey}, right key ${link.rightKey}`
      : `${sync} ${identity}: not linked now`,
  );
  if (entries.length === 0) {
    print('No history for this identity.');
    return EXIT.ok;
  }
  print(
    table(
      ['at', 'seen on', 'what happened', 'detail'],
      entries.map((h) => [h.at, h.side, h.action, h.detail ? JSON.stringify(h.detail) : '']),
    ),
  );
  return EXIT.ok;
}
