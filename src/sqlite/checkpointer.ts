/**
 * Copies a SQLite file's WAL back into the database from a thread of its own
 * (checkpoint-worker.ts), for the files tandem writes in bulk: the state file
 * and the tables it syncs into. SQLite otherwise does that copy inside
 * whichever commit makes the WAL cross its size limit, and that commit (and
 * the thread waiting on it) stalls for the whole copy: 100–200 ms at a time
 * on the state file during a first sync. The worker checkpoints once 1 MB of
 * WAL is waiting (PASSIVE: never waiting for, nor blocking, readers or
 * writers); the writer's own automatic checkpoint stays on as the backstop
 * and finds little left to copy.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const SCRIPT = new URL('./checkpoint-worker.js', import.meta.url);

export class BackgroundCheckpointer {
  private constructor(private worker: Worker | null) {
    // Gone (an error, or the file could not be opened): there is nothing left to stop.
    worker?.on('exit', () => {
      this.worker = null;
    });
    worker?.on('error', () => {});
    // Never what keeps the process alive.
    worker?.unref();
  }

  /**
   * Starts one for the database file at `path`. Best effort: null where the
   * compiled worker is not present (sources run directly); the writer's own
   * checkpoints then do all the work, as they do without one.
   */
  static start(path: string): BackgroundCheckpointer | null {
    if (!existsSync(fileURLToPath(SCRIPT))) return null;
    // It allocates next to nothing: a small young generation keeps its heap (and the
    // process's peak RSS) small.
    return new BackgroundCheckpointer(
      new Worker(SCRIPT, { workerData: { path }, resourceLimits: { maxYoungGenerationSizeMb: 1 } }),
    );
  }

  /** Asks the worker to close its connection and waits until it has (never stopped mid-checkpoint). */
  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    // Held open until it has exited: an unref'd thread is nothing the process would wait for.
    w.ref();
    w.postMessage('close');
    await exited;
  }
}

/**
 * Rows written before a checkpointer is worth its thread: a thread costs tens
 * of milliseconds to start and stop, which a command writing a few hundred
 * rows would only pay for; past this, the WAL grows fast enough to matter.
 */
const START_AFTER_ROWS = 2_000;

/** A BackgroundCheckpointer started once a file has been written enough (see START_AFTER_ROWS). */
export class CheckpointerOnDemand {
  private written = 0;
  private worker: BackgroundCheckpointer | null = null;
  /** Started, stopped, or nothing to start (no file). */
  private settled: boolean;

  /** `path`: the database file; null for one with no file (`:memory:`). */
  constructor(private readonly path: string | null) {
    this.settled = path === null;
  }

  /** Counts rows written to the file; starts the checkpointer when they are enough. */
  wrote(rows: number): void {
    if (this.settled) return;
    this.written += rows;
    if (this.written < START_AFTER_ROWS) return;
    this.settled = true;
    this.worker = BackgroundCheckpointer.start(this.path!);
  }

  async stop(): Promise<void> {
    this.settled = true;
    const w = this.worker;
    this.worker = null;
    await w?.stop();
  }
}
