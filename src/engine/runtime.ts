/**
 * Opens what a config names: one connector per connection, the state store,
 * and a SyncContext per selected sync. `close()` releases all of it.
 */
import pino from 'pino';
import type { ChangeDetection, TandemConfig } from '../config/model.js';
import type { Connector } from '../connectors/connector.js';
import { openConnector } from '../connectors/open.js';
import { TandemError } from '../core/errors.js';
import type { Side } from '../core/types.js';
import { isPostgresUrl } from '../state/postgres-url.js';
import { SqliteStateStore } from '../state/sqlite-store.js';
import type { StateStore } from '../state/store.js';
import { WorkerStateStore } from '../state/worker-store.js';
import type { SyncContext } from './context.js';
import { type BuiltModel, buildSyncModel } from './model-builder.js';
import { CommitPipeline } from './pipeline.js';

export interface Runtime {
  config: TandemConfig;
  store: StateStore;
  connectors: Map<string, Connector>;
  log: pino.Logger;
  close(): Promise<void>;
}

export function createLogger(level = 'warn', format: 'pretty' | 'json' = 'pretty'): pino.Logger {
  // Logs go to stderr: stdout is for results (tables, --json).
  if (format === 'json') return pino({ level }, pino.destination(2));
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, { write: writePretty });
}

/** One readable line per log entry: `12:00:01 warn  message  key=value …`. */
function writePretty(line: string): void {
  const { level, time, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
  const name = pino.levels.labels[level as number] ?? String(level);
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const clock = typeof time === 'string' ? time.slice(11, 19) : '';
  process.stderr.write(`${clock} ${name.padEnd(5)} ${String(msg ?? '')}${extra ? `  ${extra}` : ''}\n`);
}

/**
 * `thread`: a SQLite store runs on its own thread (see worker-store.ts). A
 * PostgreSQL store never needs one: its work is on the server, and the engine
 * already overlaps with it.
 */
export async function openStateStore(url: string, thread = false): Promise<StateStore> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    return thread ? WorkerStateStore.open(path) : SqliteStateStore.open(path);
  }
  if (isPostgresUrl(url)) {
    // Loaded (with pg) only for a state kept in PostgreSQL, as connectors are (connectors/open.ts).
    const { PostgresStateStore } = await import('../state/postgres-store.js');
    return PostgresStateStore.open(url);
  }
  throw new TandemError(
    'URL_UNSUPPORTED',
    `state store ${url.split(':')[0]}: is not supported by this version yet`,
    'use `state: sqlite:PATH` (the default) or `state: postgres://USER@HOST/DATABASE`',
    'state',
  );
}

export async function openRuntime(
  config: TandemConfig,
  log: pino.Logger,
  { storeThread = false } = {},
): Promise<Runtime> {
  const connectors = new Map<string, Connector>();
  const store = await openStateStore(config.state, storeThread);
  const rt: Runtime = {
    config,
    store,
    connectors,
    log,
    async close() {
      for (const c of connectors.values()) await c.close();
      await store.close();
    },
  };
  return rt;
}

/**
 * How each system's connector can find changes (`auto` picks: for PostgreSQL,
 * cdc when the server allows it, else poll, else a full scan; see
 * connectors/postgres/capture-mode.ts).
 */
const CAPTURE_METHODS: Record<Connector['system'], ChangeDetection[]> = {
  sqlite: ['triggers'],
  postgres: ['cdc', 'poll'],
  mysql: ['cdc', 'poll'],
};

/** Connectors being opened, per runtime and connection name: two callers get the same one. */
const opening = new WeakMap<Runtime, Map<string, Promise<Connector>>>();

export function connectorFor(rt: Runtime, name: string, path: string): Promise<Connector> {
  const open = rt.connectors.get(name);
  if (open) return Promise.resolve(open);
  let pending = opening.get(rt);
  if (!pending) {
    pending = new Map();
    opening.set(rt, pending);
  }
  let c = pending.get(name);
  if (!c) {
    const mine = pending;
    c = openNamed(rt, name, path).finally(() => mine.delete(name));
    pending.set(name, c);
  }
  return c;
}

async function openNamed(rt: Runtime, name: string, path: string): Promise<Connector> {
  const conn = rt.config.connections[name];
  if (!conn)
    throw new TandemError(
      'CONFIG_INVALID',
      `connection ${name} is not defined`,
      'define it under connections:',
      path,
    );
  let c: Connector;
  try {
    c = await openConnector(conn.url, {
      changeDetection: conn.changeDetection,
      pollIntervalMs: conn.pollIntervalMs,
    });
  } catch (e) {
    if (e instanceof TandemError) throw new TandemError(e.code, e.message, e.fix, `connections.${name}.url`);
    throw e;
  }
  // A way of finding changes the connection cannot use is refused, not quietly replaced.
  const can = CAPTURE_METHODS[c.system];
  if (conn.changeDetection !== 'auto' && !can.includes(conn.changeDetection)) {
    void c.close();
    throw new TandemError(
      'CONFIG_INVALID',
      `change_detection: ${conn.changeDetection} is not available for ${c.system} connections in this version`,
      `use auto (or ${can.join(' / ')}): ${c.system} changes are found by ${can.join(', ')}`,
      `connections.${name}.change_detection`,
    );
  }
  rt.connectors.set(name, c);
  return c;
}

export async function syncContext(
  rt: Runtime,
  syncName: string,
): Promise<{ ctx: SyncContext; built: BuiltModel }> {
  const sync = rt.config.syncs.find((s) => s.name === syncName);
  if (!sync)
    throw new TandemError(
      'SYNC_UNKNOWN',
      `no sync named ${syncName}`,
      `choose one of: ${rt.config.syncs.map((s) => s.name).join(', ')}`,
    );
  const connectors: Record<Side, Connector> = {
    left: await connectorFor(rt, sync.left.connection, `syncs.${sync.name}.left.connection`),
    right: await connectorFor(rt, sync.right.connection, `syncs.${sync.name}.right.connection`),
  };
  for (const side of ['left', 'right'] as const) {
    // Polling reads a side's updated_at column: without one there is nothing to poll on.
    const conn = rt.config.connections[sync[side].connection];
    if (conn?.changeDetection === 'poll' && !sync[side].updatedAt) {
      throw new TandemError(
        'CONFIG_INVALID',
        `connection ${conn.name} has change_detection: poll, but this side names no updated_at column to poll on`,
        `add \`updated_at: COLUMN\` here (a column set to the time of every insert and update), or set change_detection: auto on connection ${conn.name} (it compares keys and row fingerprints in full instead)`,
        `syncs.${sync.name}.${side}.updated_at`,
      );
    }
  }
  const built = await buildSyncModel(sync, connectors);
  return {
    ctx: {
      model: built.model,
      connectors,
      store: rt.store,
      log: rt.log.child({ sync: sync.name }),
      clock: () => new Date().toISOString(),
      pipeline: new CommitPipeline(),
    },
    built,
  };
}

export function selectSyncs(config: TandemConfig, only?: string): string[] {
  if (!only) return config.syncs.map((s) => s.name);
  if (!config.syncs.some((s) => s.name === only)) {
    throw new TandemError(
      'SYNC_UNKNOWN',
      `no sync named ${only}`,
      `choose one of: ${config.syncs.map((s) => s.name).join(', ')}`,
    );
  }
  return [only];
}
