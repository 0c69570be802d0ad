/**
 * What every command that reads a config does first: load it, open the
 * runtime, pick the syncs. Errors become `[CODE] message / fix` on stderr.
 */
import { resolve } from 'node:path';
import type pino from 'pino';
import { loadConfig } from '../config/load.js';
import { EXIT, TandemError } from '../core/errors.js';
import { createLogger, openRuntime, type Runtime, selectSyncs } from '../engine/runtime.js';
import { serverError } from './server-error.js';

export interface GlobalOptions {
  config: string;
  sync?: string;
  json?: boolean;
  logLevel: string;
  logFormat: 'pretty' | 'json';
}

export function loggerFor(opts: GlobalOptions): pino.Logger {
  return createLogger(opts.logLevel, opts.logFormat);
}

/**
 * `storeThread`: the state store on its own thread — for the commands that sync
 * (batches overlap with their commits); the others start faster without it.
 */
export async function withRuntime(
  opts: GlobalOptions,
  body: (rt: Runtime, syncs: string[]) => Promise<number>,
  { storeThread = false } = {},
): Promise<number> {
  const config = loadConfig(resolve(opts.config));
  const syncs = selectSyncs(config, opts.sync);
  const rt = await openRuntime(config, loggerFor(opts), { storeThread });
  try {
    return await body(rt, syncs);
  } finally {
    await rt.close();
  }
}

export function reportError(raw: unknown, json = false): number {
  const e = serverError(raw) ?? raw;
  if (e instanceof TandemError) {
    if (json)
      process.stdout.write(
        `${JSON.stringify({ error: { code: e.code, message: e.message, fix: e.fix, path: e.path ?? null } })}\n`,
      );
    process.stderr.write(`${e.format()}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  process.stderr.write(
    `[INTERNAL] ${err?.stack ?? String(e)}\n  fix: this is a bug in tandem; please report it with the output above\n`,
  );
  return EXIT.failure;
}
