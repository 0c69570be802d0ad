/**
 * The worker-thread side of WorkerStateStore: owns the SQLite state store's
 * connection and serves calls one at a time, in the order they were sent. That
 * order is what lets the engine queue a batch's commit without waiting for it:
 * every later call, read or write, sees it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStateStore } from './sqlite-store.js';
import { errorToWire, type Reply, type Request } from './worker-wire.js';

const port = parentPort!;
let store: SqliteStateStore | null = null;
// A store that cannot open (a newer schema, a locked file…) answers every call with why.
let openError: unknown = null;
try {
  store = SqliteStateStore.open((workerData as { path: string }).path);
  port.postMessage({ id: 0, ok: true } satisfies Reply);
} catch (err) {
  openError = err;
  port.postMessage({ id: 0, ok: false, error: errorToWire(err) } satisfies Reply);
}

let queue: Promise<void> = Promise.resolve();
port.on('message', (req: Request) => {
  queue = queue.then(() => serve(req));
});

async function serve(req: Request): Promise<void> {
  let reply: Reply;
  try {
    if (!store) {
      if (req.method !== 'close') throw openError;
      reply = { id: req.id, ok: true };
      port.postMessage(reply);
      port.close();
      return;
    }
    const method = store[req.method] as (...args: unknown[]) => Promise<unknown>;
    const value = await method.apply(store, req.args);
    reply = { id: req.id, ok: true, value };
  } catch (err) {
    reply = { id: req.id, ok: false, error: errorToWire(err) };
  }
  port.postMessage(reply);
  if (req.method === 'close' && reply.ok) port.close();
}
