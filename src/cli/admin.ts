/**
 * `validate`, `teardown`, `init`: checking the setup, removing what tandem
 * installed, and writing a config to start from.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { INIT_TEMPLATE } from '../config/template.js';
import { EXIT, TandemError } from '../core/errors.js';
import { checkTables } from '../engine/claim.js';
import type { Warning } from '../engine/model-builder.js';
import { type Runtime, syncContext } from '../engine/runtime.js';
import { combineExit } from './exit.js';
import { color, print, printJson } from './output.js';

export async function validateCommand(rt: Runtime, syncs: string[], json: boolean): Promise<number> {
  const results: {
    name: string;
    ok: boolean;
    warnings: Warning[];
    capture: string[];
    error?: TandemError;
  }[] = [];
  for (const name of syncs) {
    try {
      const { ctx, built } = await syncContext(rt, name);
      const capture: string[] = [];
      for (const side of ['left', 'right'] as const) {
        const st = await ctx.connectors[side].captureStatus(ctx.model[side].spec);
        capture.push(
          `${side} ${ctx.model[side].table}: change capture by ${st.method}${st.installed ? ' (installed)' : ' (installed on the first run)'} — ${st.detail}`,
        );
      }
      // A table another tandem state syncs is refused by `run`: say so now.
      await checkTables(ctx);
      results.push({ name, ok: true, warnings: built.warnings, capture });
    } catch (e) {
      if (!(e instanceof TandemError)) throw e;
      results.push({ name, ok: false, warnings: [], capture: [], error: e });
    }
  }
  const exit = combineExit(results.map((r) => (r.error ? r.error.exitCode : EXIT.ok)));
  if (json) {
    printJson({
      ok: exit === EXIT.ok,
      syncs: results.map((r) => ({
        name: r.name,
        ok: r.ok,
        warnings: r.warnings,
        capture: r.capture,
        ...(r.error
          ? {
              error: {
                code: r.error.code,
                message: r.error.message,
                fix: r.error.fix,
                path: r.error.path ?? null,
              },
            }
          : {}),
      })),
    });
    return exit;
  }
  for (const r of results) {
    print(`${r.ok ? color.green('✓') : color.red('✗')} ${color.bold(r.name)}`);
    if (r.error) print(`  ${r.error.format().replace(/\n/g, '\n  ')}`);
    for (const w of r.warnings)
      print(`  ${color.yellow('warning')} ${w.message} (at ${w.path})\n    fix: ${w.fix}`);
    for (const c of r.capture) print(`  ${c}`);
  }
  if (exit === EXIT.ok) print(`\n${rt.config.path} is valid.`);
  return exit;
}

export async function teardownCommand(rt: Runtime, syncs: string[], json: boolean): Promise<number> {
  const removed: string[] = [];
  for (const name of syncs) {
    const { ctx } = await syncContext(rt, name);
    for (const side of ['left', 'right'] as const) {
      await ctx.connectors[side].removeCapture(ctx.model[side].spec);
      removed.push(`${name}: change capture on ${side} ${ctx.model[side].table}`);
    }
    await rt.store.forget(name);
    removed.push(`${name}: links, cursors, quarantine and history in the state store`);
  }
  for (const c of rt.connectors.values()) await c.teardown();
  if (json) printJson({ removed });
  else {
    for (const r of removed) print(`removed ${r}`);
    print('Your tables and their data are untouched.');
  }
  return EXIT.ok;
}

export function initCommand(path: string, force: boolean): number {
  const target = resolve(path);
  if (existsSync(target) && !force) {
    throw new TandemError(
      'CONFIG_INVALID',
      `${target} already exists`,
      'pass --force to overwrite it, or -c to write another file',
    );
  }
  writeFileSync(target, INIT_TEMPLATE);
  print(`wrote ${target}\nEdit the connections and tables, then: tandem validate -c ${path}`);
  return EXIT.ok;
}
