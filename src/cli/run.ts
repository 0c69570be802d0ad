/**
 * `run`, `run --once` and `reconcile`: passes over the selected syncs.
 * A sync whose schema no longer fits (a missing table or column) is paused with
 * the reason in `status`; the others go on.
 */
import { EXIT, TandemError } from '../core/errors.js';
import { claimTables } from '../engine/claim.js';
import type { SyncContext } from '../engine/context.js';
import { guardMessage } from '../engine/guard.js';
import { type PassResult, runPass } from '../engine/pass.js';
import { type Runtime, syncContext } from '../engine/runtime.js';
import { combineExit } from './exit.js';
import { color, print, printJson, progress, table } from './output.js';

export interface PassCommandOptions {
  json?: boolean;
  dryRun: boolean;
  full: boolean;
  batchSize: number;
  /** Omitted: one pass. Set: keep going until stopped. */
  watch?: { intervalMs: number };
}

interface SyncOutcome {
  name: string;
  result?: PassResult;
  error?: TandemError;
}

export async function passCommand(rt: Runtime, syncs: string[], opts: PassCommandOptions): Promise<number> {
  const contexts = new Map<string, SyncContext>();
  const stop = { requested: false };
  const onSignal = () => {
    if (stop.requested) return;
    stop.requested = true;
    rt.log.warn('stopping: finishing the batch in hand');
  };
  if (opts.watch) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const once = async (full: boolean): Promise<SyncOutcome[]> => {
    const out: SyncOutcome[] = [];
    for (const name of syncs) {
      if (stop.requested) break;
      try {
        let ctx = contexts.get(name);
        if (!ctx) {
          ctx = (await syncContext(rt, name)).ctx;
          contexts.set(name, ctx);
          if (!opts.dryRun) {
            await claimTables(ctx);
            for (const side of ['left', 'right'] as const) {
              await ctx.connectors[side].installCapture(ctx.model[side].spec);
            }
          }
        }
        const bar = opts.json || opts.watch ? undefined : progress(name);
        const result = await runPass(ctx, {
          dryRun: opts.dryRun,
          full,
          batchSize: opts.batchSize,
          stop,
          ...(bar ? { onProgress: bar.update } : {}),
        });
        bar?.end();
        out.push({ name, result });
      } catch (caught) {
        let e = caught;
        if (!(e instanceof TandemError)) {
          // While running, an unexpected failure (a locked or vanished database) is retried
          // next interval from the last saved state; a single pass reports it and exits.
          if (!opts.watch) throw e;
          e = new TandemError(
            'CONNECT_FAILED',
            (e as Error).message ?? String(e),
            'tandem retries on its own; check the database if this persists',
          );
        }
        const err = e as TandemError;
        contexts.delete(name);
        if (err.exitCode === EXIT.connection) {
          // The state store may be what cannot be reached (state: postgres://…): then the reason is only logged.
          await rt.store
            .setStatus(name, { state: 'paused', reason: `${err.message} — ${err.fix}` })
            .catch((e) => {
              if (!opts.watch) throw e;
            });
        }
        out.push({ name, error: err });
      }
    }
    return out;
  };

  if (!opts.watch) {
    const outcomes = await once(opts.full);
    report(outcomes, opts);
    return exitFor(outcomes);
  }

  let first = true;
  // A paused sync is retried every interval; its reason is logged when it changes, not each time.
  const lastProblem = new Map<string, string>();
  while (!stop.requested) {
    // Connectors told of changes as they commit wake the loop before the interval is up.
    const streams = [...rt.connectors.values()].filter((c) => c.changeMark && c.changedSince);
    const marks = streams.map((c) => c.changeMark!());
    const outcomes = await once(first && opts.full);
    first = false;
    for (const o of outcomes) {
      const problem = o.error
        ? o.error.format()
        : o.result?.guard
          ? guardMessage(o.result.guard, o.name)
          : '';
      if (problem !== (lastProblem.get(o.name) ?? '')) {
        if (problem) rt.log.error({ sync: o.name }, problem);
        else rt.log.info({ sync: o.name }, 'resumed');
        lastProblem.set(o.name, problem);
      }
      if (o.error || o.result?.guard) continue;
      if (o.result) {
        const c = o.result.counts;
        const moved =
          c.created.left +
          c.created.right +
          c.updated.left +
          c.updated.right +
          c.deleted.left +
          c.deleted.right;
        if (moved > 0 || c.quarantined > 0) rt.log.info({ sync: o.name, ...summary(o.result) }, 'synced');
      }
    }
    await Promise.race([
      sleep(opts.watch.intervalMs, stop),
      ...streams.map((c, i) => c.changedSince!(marks[i]!)),
    ]);
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return EXIT.ok;
}

function sleep(ms: number, stop: { requested: boolean }): Promise<void> {
  return new Promise((resolve) => {
    const started = Date.now();
    const tick = () =>
      stop.requested || Date.now() - started >= ms ? resolve() : setTimeout(tick, Math.min(50, ms));
    tick();
  });
}

function summary(r: PassResult) {
  const c = r.counts;
  return {
    created: { left: c.created.left, right: c.created.right },
    updated: { left: c.updated.left, right: c.updated.right },
    deleted: { left: c.deleted.left, right: c.deleted.right },
    conflicts: c.conflicts,
    quarantined: r.quarantined,
    detached: c.detached,
    full_scan: r.full,
    guard: r.guard,
  };
}

function exitFor(outcomes: SyncOutcome[]): number {
  return combineExit(
    outcomes.map((o) => {
      if (o.error) return o.error.exitCode;
      if (o.result?.guard) return EXIT.guard;
      if ((o.result?.quarantined ?? 0) > 0) return EXIT.quarantine;
      return EXIT.ok;
    }),
  );
}

function report(outcomes: SyncOutcome[], opts: PassCommandOptions): void {
  if (opts.json) {
    printJson({
      dry_run: opts.dryRun,
      syncs: outcomes.map((o) =>
        o.error
          ? {
              name: o.name,
              state: 'paused',
              error: { code: o.error.code, message: o.error.message, fix: o.error.fix },
            }
          : { name: o.name, state: o.result!.guard ? 'paused' : 'ok', ...summary(o.result!) },
      ),
    });
    return;
  }
  const rows = outcomes.map((o) => {
    if (o.error) return [o.name, color.red('paused'), '', '', '', '', ''];
    const c = o.result!.counts;
    const pair = (a: number, b: number) => `${a} / ${b}`;
    return [
      o.name,
      o.result!.guard ? color.yellow('paused') : color.green('ok'),
      pair(c.created.left, c.created.right),
      pair(c.updated.left, c.updated.right),
      pair(c.deleted.left, c.deleted.right),
      String(c.conflicts),
      o.result!.quarantined > 0 ? color.yellow(String(o.result!.quarantined)) : '0',
    ];
  });
  if (opts.dryRun) print(color.bold('Dry run: nothing was written. The plan:'));
  print(
    table(['sync', 'state', 'created L/R', 'updated L/R', 'deleted L/R', 'conflicts', 'quarantined'], rows),
  );
  for (const o of outcomes) {
    if (o.error) print(`\n${color.red(`${o.name}:`)} ${o.error.format()}`);
    if (o.result?.guard) print(`\n${color.yellow(`${o.name}:`)} ${guardMessage(o.result.guard, o.name)}`);
    if (o.result && o.result.quarantined > 0)
      print(
        `\n${o.name}: ${o.result.quarantined} record(s) in quarantine — see \`tandem errors --sync ${o.name}\``,
      );
  }
}
