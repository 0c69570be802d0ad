#!/usr/bin/env node
/**
 * The `tandem` command line (SPEC §3).
 */
import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import { EXIT } from '../core/errors.js';
import { initCommand, teardownCommand, validateCommand } from './admin.js';
import { demoCommand } from './demo.js';
import { errorsCommand, retryCommand, statusCommand, traceCommand } from './inspect.js';
import { passCommand } from './run.js';
import { type GlobalOptions, reportError, withRuntime } from './session.js';

/**
 * Records per batch. Smaller batches keep less alive at a time, which the
 * garbage collector rewards: on the first-sync benchmark 500 was both faster
 * and leaner than 250 or 1,000 (docs/benchmarks.md).
 */
const DEFAULT_BATCH = 500;

function batchSizeOption(): Option {
  return new Option('--batch-size <n>', 'records per batch (memory grows with it)')
    .argParser((v) => Number.parseInt(v, 10))
    .default(DEFAULT_BATCH);
}

/**
 * `run` and `reconcile`: passes with the state store on its own thread (batches
 * overlap with their commits); `watchMs` keeps `run` going at that interval.
 */
function syncPasses(
  o: { dryRun?: boolean; batchSize: number },
  full: boolean,
  watchMs?: number,
): Promise<number> {
  return withRuntime(
    globals(),
    (rt, syncs) =>
      passCommand(rt, syncs, {
        json: globals().json === true,
        dryRun: o.dryRun === true,
        full,
        batchSize: o.batchSize,
        ...(watchMs === undefined ? {} : { watch: { intervalMs: watchMs } }),
      }),
    { storeThread: true },
  );
}

/** The package's own version (dist/cli/main.js → the package root's package.json). */
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

const program = new Command();
program
  .name('tandem')
  .version(VERSION, '-V, --version', 'the version of tandem')
  .description(
    'Keeps a table in one database and a table in another in step, in both directions.\n' +
      'Start with `tandem demo`, or `tandem init` to write a tandem.yaml.',
  )
  .option('-c, --config <path>', 'config file', 'tandem.yaml')
  .option('--sync <name>', 'only this sync')
  .option('--json', 'machine-readable output on stdout')
  .addOption(
    new Option('--log-level <level>', 'log level on stderr')
      .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
      .default('warn'),
  )
  .addOption(
    new Option('--log-format <format>', 'log format on stderr').choices(['pretty', 'json']).default('pretty'),
  )
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Exit codes: 0 ok · 2 config error · 3 connection/schema error · 4 records in quarantine · 5 stopped by the delete guard

Examples:
  tandem demo                      two SQLite databases, synced in both modes
  tandem validate                  check tandem.yaml and the databases it names
  tandem run --once                sync every change made so far, then exit
  tandem run                       keep syncing until Ctrl-C
  tandem errors                    what is in quarantine, and why`,
  );

let exitCode: number = EXIT.ok;
const globals = (): GlobalOptions => program.opts() as GlobalOptions;
const act =
  <A extends unknown[]>(fn: (...args: A) => Promise<number> | number) =>
  async (...args: A) => {
    try {
      exitCode = await fn(...args);
    } catch (e) {
      exitCode = reportError(e, globals().json);
    }
  };

program
  .command('demo')
  .description('make two SQLite databases with sample data, sync them, and show how to watch a change move')
  .option('--dir <dir>', 'where to put the demo files', 'tandem-demo')
  .action(act((o: { dir: string }) => demoCommand(o.dir, globals())));

program
  .command('init')
  .description('write a commented tandem.yaml to start from')
  .option('--force', 'overwrite an existing file')
  .action(act((o: { force?: boolean }) => initCommand(globals().config, o.force === true)));

program
  .command('validate')
  .description('check the config, then the databases: tables, columns, keys, unique indexes, change capture')
  .action(
    act(() => withRuntime(globals(), (rt, syncs) => validateCommand(rt, syncs, globals().json === true))),
  );

program
  .command('run')
  .description('sync continuously until SIGINT/SIGTERM (or one pass with --once)')
  .option('--once', 'sync every change made before it started, then exit')
  .option('--dry-run', 'print the plan, write nothing')
  .addOption(batchSizeOption())
  .option(
    '--interval <ms>',
    'how often to look for changes while running (an idle look costs about a millisecond)',
    (v) => Number.parseInt(v, 10),
    50,
  )
  .action(
    act((o: { once?: boolean; dryRun?: boolean; batchSize: number; interval: number }) =>
      syncPasses(o, false, o.once || o.dryRun ? undefined : o.interval),
    ),
  );

program
  .command('reconcile')
  .description('compare both sides in full and repair drift')
  .option('--dry-run', 'print the plan (creates, updates, deletes per side), write nothing')
  .addOption(batchSizeOption())
  .action(act((o: { dryRun?: boolean; batchSize: number }) => syncPasses(o, true)));

program
  .command('status')
  .description('per sync: state, linked and quarantined counts, last pass, guards tripped')
  .action(
    act(() => withRuntime(globals(), (rt, syncs) => statusCommand(rt, syncs, globals().json === true))),
  );

program
  .command('errors')
  .description('quarantined records with reason, side, key, first/last seen')
  .action(
    act(() => withRuntime(globals(), (rt, syncs) => errorsCommand(rt, syncs, globals().json === true))),
  );

program
  .command('retry')
  .description('put quarantined records back in line; --deletes confirms deletes held by the delete guard')
  .argument('[ids...]', 'quarantine ids (from `tandem errors`)')
  .option('--all', 'every quarantined record')
  .option('--deletes', 'confirm the deletes the delete guard held back')
  .action(
    act((ids: string[], o: { all?: boolean; deletes?: boolean }) =>
      withRuntime(globals(), (rt, syncs) =>
        retryCommand(rt, syncs, {
          ids,
          all: o.all === true,
          deletes: o.deletes === true,
          json: globals().json === true,
        }),
      ),
    ),
  );

program
  .command('trace')
  .description('the history of one record: each change seen, from which side, what was written, why')
  .argument('<sync>', 'sync name')
  .argument('<identity>', 'the SOR key (system-of-record mode) or the external ID (external-id mode)')
  .action(
    act((sync: string, identity: string) =>
      withRuntime({ ...globals(), sync }, (rt) => traceCommand(rt, sync, identity, globals().json === true)),
    ),
  );

program
  .command('teardown')
  .description('remove what tandem installed in the databases (triggers, change tables) and its state')
  .action(
    act(() => withRuntime(globals(), (rt, syncs) => teardownCommand(rt, syncs, globals().json === true))),
  );

await program.parseAsync(process.argv);
process.exitCode = exitCode;
