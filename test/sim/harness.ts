/**
 * The simulated world the engine runs in: two in-memory databases (left and
 * right), the real SqliteStateStore in a temp file, a model built by hand, a
 * clock the test controls, and engine attempts that can be killed at any step.
 * Used by the random simulation (sim.ts) and by the hand-written scenarios.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { vi } from 'vitest';
import type { ConflictPolicy, DeleteAction } from '../../src/config/model.js';
import type { WriteOp } from '../../src/connectors/connector.js';
import { buildFields, type SideModel, type SyncModel } from '../../src/core/model.js';
import type { Canonical, ColumnKind, Row, Side } from '../../src/core/types.js';
import type { SyncContext } from '../../src/engine/context.js';
import { type PassResult, runPass } from '../../src/engine/pass.js';
import { CommitPipeline } from '../../src/engine/pipeline.js';
import { SqliteStateStore } from '../../src/state/sqlite-store.js';
import type { BatchCommit, StateStore } from '../../src/state/store.js';
import { MemoryConnector, MemoryDatabase, type MemoryTableDef } from './memory-connector.js';

// ------------------------------------------------------------------ crashes

export class SimulatedCrash extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulatedCrash';
  }
}

/**
 * Counts the steps of one engine attempt and kills it at step `crashAt`, or at
 * the first step `crashWhen` accepts. A step is the moment before a call to a
 * connector or the store, or the moment after it ran but before its result is
 * seen, so a crash can land between every pair of calls.
 */
export class CrashPlan {
  steps = 0;
  crashed = false;
  readonly trace: string[] = [];
  constructor(
    readonly crashAt: number | null,
    readonly crashWhen?: (label: string, step: number, trace: readonly string[]) => boolean,
  ) {}
  step(label: string): void {
    if (this.crashed) throw new SimulatedCrash(`call after the crash: ${label}`);
    this.steps++;
    this.trace.push(label);
    if (
      (this.crashAt !== null && this.steps === this.crashAt) ||
      this.crashWhen?.(label, this.steps, this.trace)
    ) {
      this.crashed = true;
      throw new SimulatedCrash(`crash at step ${this.steps} (${label})`);
    }
  }
}

/** Every method call on `target` becomes two steps: before it runs, and after it ran but before its result is seen. */
export function crashable<T extends object>(target: T, plan: CrashPlan, name: string): T {
  return new Proxy(target, {
    get(obj, prop) {
      const v = Reflect.get(obj, prop, obj);
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        plan.step(`${name}.${String(prop)}:before`);
        const r = await (v as (...a: unknown[]) => unknown).apply(obj, args);
        plan.step(`${name}.${String(prop)}:after`);
        return r;
      };
    },
  });
}

/** Crash just before the first call whose label starts with `prefix` (e.g. 'store.commit') after `after` has been seen. */
export function crashBefore(
  prefix: string,
  after?: string,
): (label: string, step: number, trace: readonly string[]) => boolean {
  return (label, _step, trace) =>
    label === `${prefix}:before` &&
    (after === undefined || trace.slice(0, -1).some((l) => l.startsWith(after)));
}

// ------------------------------------------------------------------ the world

let template: string | undefined;
/** An empty state store file, migrated once per test process (closed, so its WAL is checkpointed into it). */
function templateStore(): string {
  if (!template) {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-sim-template-'));
    template = join(dir, 'state.db');
    const s = SqliteStateStore.open(template);
    void s.close();
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return template;
}

export type SimMode = 'sor-left' | 'sor-right' | 'external-id';

export interface FieldDef {
  left: string;
  right: string;
  leftKind: ColumnKind;
  rightKind: ColumnKind;
  values?: Record<string, Canonical>;
  leftPool: Canonical[];
  rightPool: Canonical[];
}

const NAMES = ['ann', 'bob', 'cy', 'dee', 'eve', 'fay', null];
export const FIELD_DEFS: FieldDef[] = [
  {
    left: 'name',
    right: 'full_name',
    leftKind: 'text',
    rightKind: 'text',
    leftPool: NAMES,
    rightPool: NAMES,
  },
  {
    left: 'email',
    right: 'email',
    leftKind: 'text',
    rightKind: 'text',
    leftPool: ['a@x', 'b@x', 'c@x', 'd@x'],
    rightPool: ['a@x', 'b@x', 'c@x', 'e@x'],
  },
  {
    // Not one-to-one: two left values map to 'A'.
    left: 'status',
    right: 'state',
    leftKind: 'text',
    rightKind: 'text',
    values: { active: 'A', enabled: 'A', inactive: 'I' },
    leftPool: ['active', 'enabled', 'inactive', 'paused', null],
    rightPool: ['A', 'I', 'P', null],
  },
  {
    left: 'qty',
    right: 'qty',
    leftKind: 'integer',
    rightKind: 'decimal',
    leftPool: ['0', '1', '7', '42', '-3'],
    rightPool: ['0', '2', '7', '99', '-5'],
  },
];

export const TABLE: Record<Side, string> = { left: 'L', right: 'R' };
export const SIDES: Side[] = ['left', 'right'];
export const other = (s: Side): Side => (s === 'left' ? 'right' : 'left');

export interface WorldOptions {
  mode: SimMode;
  policy: ConflictPolicy;
  batchSize?: number;
  /** SOR mode: the SOR table has an external-ID column too (holding N's key). */
  sorHasExt?: boolean;
  captureEngineWrites?: boolean;
  deletes?: { leftToRight: DeleteAction; rightToLeft: DeleteAction };
}

export interface AttemptOptions {
  crashAt?: number | null;
  crashWhen?: (label: string, step: number, trace: readonly string[]) => boolean;
  full?: boolean;
  batchSize?: number;
  failRow?: (table: string, op: WriteOp) => string | undefined;
}

export type AttemptResult =
  | { ok: true; result: PassResult; steps: number }
  | { ok: false; message: string; steps: number };

export class World {
  readonly opts: Required<Omit<WorldOptions, 'deletes'>> & Pick<WorldOptions, 'deletes'>;
  readonly dbs: Record<Side, MemoryDatabase>;
  readonly sor?: Side;
  readonly n?: Side;
  readonly extCol: Record<Side, string | undefined>;
  /** Lines describing every engine write and store commit, for failure reports. */
  readonly log: string[] = [];
  private readonly dir: string;
  private readonly storePath: string;
  private _store: StateStore;
  private ms = Date.UTC(2024, 0, 1);
  private tokens = 0;

  constructor(opts: WorldOptions) {
    this.opts = { batchSize: 50, sorHasExt: false, captureEngineWrites: false, ...opts };
    this.dir = mkdtempSync(join(tmpdir(), 'tandem-sim-'));
    this.storePath = join(this.dir, 'state.db');
    // A copy of an empty, migrated store: the same file a first open makes, without paying for it every time.
    copyFileSync(templateStore(), this.storePath);
    this._store = SqliteStateStore.open(this.storePath);
    const clock = () => this.clock();
    this.dbs = { left: new MemoryDatabase('left', clock), right: new MemoryDatabase('right', clock) };
    if (opts.mode !== 'external-id') {
      this.sor = opts.mode === 'sor-left' ? 'left' : 'right';
      this.n = other(this.sor);
    }
    this.extCol = { left: this.extColumnOf('left'), right: this.extColumnOf('right') };
    for (const side of SIDES) {
      this.dbs[side].captureEngineWrites = this.opts.captureEngineWrites;
      this.dbs[side].createTable(this.tableDef(side));
    }
  }

  /** The state store as it is now (a restart replaces the object). */
  get store(): StateStore {
    return this._store;
  }

  async close(): Promise<void> {
    await this._store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private extColumnOf(side: Side): string | undefined {
    if (this.opts.mode === 'external-id') return 'code';
    if (side === this.n) return 'sor_id';
    return this.opts.sorHasExt ? 'n_ref' : undefined;
  }

  private extKind(_side: Side): ColumnKind {
    return this.opts.mode === 'external-id' ? 'text' : 'integer';
  }

  tableDef(side: Side): MemoryTableDef {
    const ext = this.extCol[side];
    return {
      name: TABLE[side],
      key: 'id',
      columns: [
        { name: 'id', kind: 'integer' },
        ...(ext ? [{ name: ext, kind: this.extKind(side) }] : []),
        ...FIELD_DEFS.map((f) => ({ name: f[side], kind: side === 'left' ? f.leftKind : f.rightKind })),
      ],
    };
  }

  /** The model as buildSyncModel would make it, built by hand. */
  model(): SyncModel {
    const fields = buildFields(
      {
        fields: FIELD_DEFS.map((f) => ({
          left: f.left,
          right: f.right,
          direction: 'both',
          null: 'clear',
          ...(f.values ? { values: f.values } : {}),
        })),
      } as never,
      FIELD_DEFS.map((f) => ({ left: f.left, right: f.right, leftKind: f.leftKind, rightKind: f.rightKind })),
    );
    const side = (s: Side): SideModel => {
      const def = this.tableDef(s);
      const ext = this.extCol[s];
      const m: SideModel = {
        side: s,
        connection: s,
        table: def.name,
        key: 'id',
        keyKind: 'integer',
        spec: {
          table: def.name,
          key: 'id',
          columns: def.columns.map((c) => c.name),
          kinds: Object.fromEntries(def.columns.map((c) => [c.name, c.kind])),
        },
      };
      if (ext) {
        m.externalId = ext;
        m.externalIdKind = this.extKind(s);
      }
      return m;
    };
    return {
      name: 'sim',
      mode: this.opts.mode === 'external-id' ? 'external-id' : 'system-of-record',
      ...(this.sor ? { sor: this.sor } : {}),
      left: side('left'),
      right: side('right'),
      fields,
      conflicts: this.opts.policy,
      deletes: this.opts.deletes ?? { leftToRight: 'propagate', rightToLeft: 'propagate' },
      deleteGuard: null,
    };
  }

  /** Sim time: one second per tick. Date.now() follows it (tests install fake Date timers). */
  clock(): string {
    this.ms += 1000;
    vi.setSystemTime(this.ms);
    return new Date(this.ms).toISOString().replace('.000Z', 'Z');
  }

  note(line: string): void {
    this.log.push(line);
  }

  // ---------------------------------------------------------------- users (captured changes)

  insert(side: Side, row: Row): string {
    return this.dbs[side].insert(TABLE[side], row);
  }
  update(side: Side, key: string, values: Row): void {
    this.dbs[side].update(TABLE[side], key, values);
  }
  delete(side: Side, key: string): void {
    this.dbs[side].delete(TABLE[side], key);
  }
  get(side: Side, key: string): Row | undefined {
    return this.dbs[side].get(TABLE[side], key);
  }
  rows(side: Side): Map<string, Row> {
    return this.dbs[side].rows(TABLE[side]);
  }

  // ---------------------------------------------------------------- the engine

  /**
   * One engine attempt, as one process: a fresh context and fresh connectors over
   * the same databases and store file. A crash closes the store file and opens it
   * again, which is all a kill -9 and a new process do to it.
   */
  async attempt(opts: AttemptOptions = {}): Promise<AttemptResult> {
    this.clock();
    const plan = new CrashPlan(opts.crashAt ?? null, opts.crashWhen);
    const failRow = opts.failRow;
    const ctx: SyncContext = {
      model: this.model(),
      connectors: {
        left: crashable(
          this.traced(new MemoryConnector(this.dbs.left, failRow ? { failRow } : {}), 'left'),
          plan,
          'left',
        ),
        right: crashable(
          this.traced(new MemoryConnector(this.dbs.right, failRow ? { failRow } : {}), 'right'),
          plan,
          'right',
        ),
      },
      store: crashable(this.tracedStore(this._store), plan, 'store'),
      log: pino({ level: 'silent' }),
      clock: () => this.clock(),
      newToken: () => `tok-${++this.tokens}`,
      pipeline: new CommitPipeline(),
    };
    try {
      const result = await runPass(ctx, {
        dryRun: false,
        full: opts.full ?? false,
        batchSize: opts.batchSize ?? this.opts.batchSize,
      });
      return { ok: true, result, steps: plan.steps };
    } catch (e) {
      if (!(e instanceof SimulatedCrash)) throw e;
      await this._store.close();
      this._store = SqliteStateStore.open(this.storePath);
      return { ok: false, message: e.message, steps: plan.steps };
    }
  }

  /** A clean pass that must not crash. */
  async pass(opts: Omit<AttemptOptions, 'crashAt' | 'crashWhen'> = {}): Promise<PassResult> {
    const r = await this.attempt(opts);
    if (!r.ok) throw new Error(r.message);
    return r.result;
  }

  /** `tandem retry --all`. */
  async retryAll(): Promise<number> {
    const held = await this._store.quarantined('sim');
    for (const side of SIDES) {
      const keys = held.filter((q) => q.recordSide === side).map((q) => q.recordKey);
      if (keys.length > 0) await this._store.addRetry('sim', side, keys);
    }
    return held.length;
  }

  private traced(c: MemoryConnector, side: Side): MemoryConnector {
    const write = c.write.bind(c);
    c.write = async (spec, ops, receipt) => {
      const res = await write(spec, ops, receipt);
      const parts = ops.map((op, i) => {
        const r = res[i]!;
        const what =
          op.op === 'insert'
            ? `insert ${JSON.stringify(op.values)}`
            : op.op === 'update'
              ? `update ${op.key} ${JSON.stringify(op.values)}`
              : `delete ${op.key}`;
        return `${what} → ${r.ok ? `ok ${r.key}` : `FAILED ${r.message}`}`;
      });
      this.note(`    ${side}.write: ${parts.join('; ')}`);
      return res;
    };
    return c;
  }

  private tracedStore(store: StateStore): StateStore {
    return new Proxy(store, {
      get: (obj, prop) => {
        const v = Reflect.get(obj, prop, obj);
        if (typeof v !== 'function') return v;
        if (prop !== 'commit') return v.bind(obj);
        return async (b: BatchCommit) => {
          await v.call(obj, b);
          const bits = [
            b.upsertLinks.length
              ? `links ${b.upsertLinks.map((l) => `#${l.id} ${l.identity}=${l.leftKey}/${l.rightKey}`).join(' ')}`
              : '',
            b.deleteLinks.length ? `unlink ${b.deleteLinks.map((i) => `#${i}`).join(' ')}` : '',
            b.addQuarantine.length
              ? `quarantine ${b.addQuarantine.map((q) => `${q.recordSide}:${q.recordKey} ${q.reason}`).join(' ')}`
              : '',
            b.clearQuarantine.length
              ? `clear ${b.clearQuarantine.map((q) => `${q.side}:${q.key}`).join(' ')}`
              : '',
            b.addDetached.length ? `detach ${b.addDetached.map((d) => `${d.side}:${d.key}`).join(' ')}` : '',
            b.removeIntents.length ? `settled intent ${b.removeIntents.join(' ')}` : '',
            b.cursors ? `cursors ${JSON.stringify(b.cursors).replace(/0{10,}/g, '…')}` : '',
          ].filter(Boolean);
          this.note(`    commit: ${bits.join('; ') || '(nothing)'}`);
        };
      },
    });
  }
}
