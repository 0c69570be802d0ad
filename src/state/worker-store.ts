/**
 * The SQLite state store on its own thread. SQLite works synchronously on the
 * thread that calls it, so in-process it would stall the engine for every
 * link it saves; here the engine sends a batch's commit and goes on preparing
 * the next batch while the worker writes it (the two cores of a small machine
 * both busy). Calls are served in the order sent, so a read always sees every
 * write asked for before it. Same interface, same file, same semantics as
 * SqliteStateStore, which does the work inside the worker.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Side } from '../core/types.js';
import { CheckpointerOnDemand } from '../sqlite/checkpointer.js';
import { encodeIntentBody } from './intent-body.js';
import { landedToText, linksToRows } from './sqlite-encoding.js';
import { SqliteStateStore } from './sqlite-store.js';
import type {
  BatchCommit,
  Detached,
  HistoryEntry,
  Intent,
  Link,
  QuarantineEntry,
  StateStore,
  SyncStatus,
} from './store.js';
import { errorFromWire, type Reply, type Request } from './worker-wire.js';

const WORKER = new URL('./store-worker.js', import.meta.url);

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void };

export class WorkerStateStore implements StateStore {
  readonly description: string;
  private readonly worker: Worker;
  /** Copies the WAL back, off both the engine's and the store's threads. */
  private readonly checkpoints: CheckpointerOnDemand;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;

  private constructor(worker: Worker, path: string) {
    this.worker = worker;
    this.description = `sqlite:${path}`;
    this.checkpoints = new CheckpointerOnDemand(path === ':memory:' ? null : path);
    worker.on('message', (reply: Reply) => this.settle(reply));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`the state store thread stopped (exit code ${code})`)));
    // Only calls in flight keep the process alive.
    worker.unref();
  }

  /**
   * Opens the store on a worker thread; fails as SqliteStateStore.open would
   * (a newer schema, a file that cannot be opened). Where the compiled worker
   * script is not present (sources run directly), the store opens in this
   * thread instead.
   */
  static async open(path: string): Promise<StateStore> {
    if (!existsSync(fileURLToPath(WORKER))) return SqliteStateStore.open(path);
    // V8's default young generation: at 8 or 16 MB the first sync's peak RSS was 10–25 MB
    // lower, but draining a backlog over a million links slowed by up to a third.
    const store = new WorkerStateStore(new Worker(WORKER, { workerData: { path } }), path);
    try {
      await store.request(0);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  private settle(reply: Reply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) p.resolve(reply.value);
    else p.reject(errorFromWire(reply.error));
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Waits for reply `id` (0: the one the worker sends once its store is open, or failed to). */
  private request<T>(id: number): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.pending.size === 0) this.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private call<T>(method: Request['method'], ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    const reply = this.request<T>(id);
    if (!this.dead) this.worker.postMessage({ id, method, args } satisfies Request);
    return reply;
  }

  async close(): Promise<void> {
    await this.checkpoints.stop();
    if (this.dead) return;
    await this.call('close');
    await this.worker.terminate();
  }

  linksByKeys(sync: string, side: Side, keys: string[]): Promise<Link[]> {
    return this.call('linksByKeys', sync, side, keys);
  }
  linksByIdentities(sync: string, identities: string[]): Promise<Link[]> {
    return this.call('linksByIdentities', sync, identities);
  }
  linkMarks(sync: string, side: Side, keys: string[]): Promise<Map<string, { id: number; seen: number }>> {
    return this.call('linkMarks', sync, side, keys);
  }
  scanLinks(sync: string, afterId: number, limit: number): Promise<Link[]> {
    return this.call('scanLinks', sync, afterId, limit);
  }
  instanceId(): Promise<string> {
    return this.call('instanceId');
  }
  countLinks(sync: string): Promise<number> {
    return this.call('countLinks', sync);
  }
  maxLinkId(sync: string): Promise<number> {
    return this.call('maxLinkId', sync);
  }
  isFresh(sync: string): Promise<boolean> {
    return this.call('isFresh', sync);
  }
  nextPassId(sync: string): Promise<number> {
    return this.call('nextPassId', sync);
  }
  markSeen(sync: string, side: Side, keys: string[], pass: number, maxId: number): Promise<void> {
    return this.call('markSeen', sync, side, keys, pass, maxId);
  }
  unseenLinks(sync: string, pass: number, maxId: number, afterId: number, limit: number): Promise<Link[]> {
    return this.call('unseenLinks', sync, pass, maxId, afterId, limit);
  }
  countUnseen(sync: string, pass: number, maxId: number): Promise<Record<Side, number>> {
    return this.call('countUnseen', sync, pass, maxId);
  }
  detachedByKeys(sync: string, side: Side, keys: string[]): Promise<Detached[]> {
    return this.call('detachedByKeys', sync, side, keys);
  }
  addIntent(intent: Intent): Promise<void> {
    return this.call('addIntentText', intent.sync, intent.token, intent.createdAt, encodeIntentBody(intent));
  }
  intents(sync: string): Promise<Intent[]> {
    return this.call('intents', sync);
  }
  linksByIds(sync: string, ids: number[]): Promise<Link[]> {
    return this.call('linksByIds', sync, ids);
  }
  quarantined(sync?: string): Promise<QuarantineEntry[]> {
    return this.call('quarantined', sync);
  }
  quarantinedByKeys(sync: string, side: Side, keys: string[]): Promise<QuarantineEntry[]> {
    return this.call('quarantinedByKeys', sync, side, keys);
  }
  countQuarantined(sync: string): Promise<number> {
    return this.call('countQuarantined', sync);
  }
  releaseQuarantine(sync: string | undefined, ids?: number[]): Promise<QuarantineEntry[]> {
    return this.call('releaseQuarantine', sync, ids);
  }
  history(sync: string, identity: string): Promise<HistoryEntry[]> {
    return this.call('history', sync, identity);
  }
  cursor(sync: string, side: Side): Promise<string | null> {
    return this.call('cursor', sync, side);
  }
  addRetry(sync: string, side: Side, keys: string[]): Promise<void> {
    return this.call('addRetry', sync, side, keys);
  }
  takeRetry(sync: string, side: Side, limit: number): Promise<string[]> {
    return this.call('takeRetry', sync, side, limit);
  }
  dropRetry(sync: string, side: Side, keys: string[]): Promise<void> {
    return this.call('dropRetry', sync, side, keys);
  }
  status(sync: string): Promise<SyncStatus> {
    return this.call('status', sync);
  }
  setStatus(sync: string, patch: Partial<Omit<SyncStatus, 'sync'>>): Promise<void> {
    return this.call('setStatus', sync, patch);
  }
  commit(batch: BatchCommit): Promise<void> {
    const { upsertLinks, linkCreates, ...rest } = batch;
    this.checkpoints.wrote(upsertLinks.length + (linkCreates?.landed.length ?? 0));
    if (!linkCreates) return this.call('commitRows', rest, linksToRows(upsertLinks));
    return this.call(
      'commitRows',
      { ...rest, linkCreates: { token: linkCreates.token, landed: [] } },
      linksToRows(upsertLinks),
      landedToText(linkCreates.landed),
    );
  }
  forget(sync: string): Promise<void> {
    return this.call('forget', sync);
  }
}
