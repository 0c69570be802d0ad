/**
 * Deterministic simulation of the engine: the real `runPass`, the real
 * SqliteStateStore on a temp file, over two in-memory databases. A seeded PRNG
 * drives users on both sides and crashes: a wrapper around both connectors and
 * the store throws at the Nth step of an engine attempt (a step is the moment
 * just before or just after a call, so a crash lands between every pair of
 * calls, after a call's effect but before its result is seen included). After a
 * crash the engine is restarted: the store file is closed and reopened and a
 * fresh context and fresh connectors are built over the same databases.
 *
 * An oracle follows every user change and, once users stop and the engine runs
 * clean, checks: convergence, no duplicates, no lost change, nothing left in
 * quarantine or unsettled intents, and that a full reconcile then finds nothing to do.
 */
import type { ConflictPolicy } from '../../src/config/model.js';
import { inStep, mapValue } from '../../src/core/mapping.js';
import type { Canonical, Row, Side } from '../../src/core/types.js';
import type { PassResult } from '../../src/engine/pass.js';
import { FIELD_DEFS, other, SIDES, type SimMode, TABLE, World } from './harness.js';
import { matchText } from './memory-connector.js';

// ------------------------------------------------------------------ PRNG

/** mulberry32: small, fast, good enough to drive a simulation, fully determined by its seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from empty');
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  /** A derived, independent stream. */
  fork(salt: number): Rng {
    return new Rng((Math.imul(this.s ^ salt, 0x9e3779b1) + salt) >>> 0);
  }
}

// ------------------------------------------------------------------ the scenario

export type { SimMode } from './harness.js';

export interface SimOptions {
  seed: number;
  mode: SimMode;
  policy: ConflictPolicy;
  batchSize: number;
  /** SOR mode: the SOR table has an external-ID column too (holding N's key). */
  sorHasExt: boolean;
  /** The one side that edits each field after creation (so the last write is predictable). */
  owners: Side[];
  /** External ID mode: the one side that renames external IDs. */
  extOwner: Side;
  /** Probability that the database refuses one written row. */
  failRate: number;
  /** Engine writes show up in capture too (a system without echo suppression). */
  captureEngineWrites: boolean;
  rounds: number;
  /** Probability that an engine attempt crashes at a random step in [1, maxCrashStep]. */
  crashRate: number;
  maxCrashStep: number;
  /** Instead of random crashes: crash exactly the attempt of round `round` at step `at`. */
  crashOnly?: { round: number; at: number };
  /** Probability that an attempt is a full reconcile instead of a capture pass. */
  fullRate: number;
  /** User ops per round, at most. */
  opsPerRound: number;
}

export function randomOptions(seed: number, overrides: Partial<SimOptions> = {}): SimOptions {
  const r = new Rng(seed).fork(1);
  const picked = r.pick<SimMode>(['sor-left', 'sor-right', 'external-id']);
  const mode = overrides.mode ?? picked;
  const policy: ConflictPolicy =
    mode === 'external-id'
      ? r.pick<ConflictPolicy>(['newest-wins', 'newest-wins', 'left-wins', 'right-wins'])
      : r.pick<ConflictPolicy>([
          'system-of-record',
          'system-of-record',
          'left-wins',
          'right-wins',
          'newest-wins',
        ]);
  return {
    seed,
    mode,
    policy,
    batchSize: r.pick([1, 2, 3, 5, 50]),
    sorHasExt: r.chance(0.5),
    owners: FIELD_DEFS.map(() => r.pick<Side>(['left', 'right'])),
    extOwner: r.pick<Side>(['left', 'right']),
    failRate: r.chance(0.3) ? 0.1 : 0,
    captureEngineWrites: r.chance(0.2),
    rounds: r.int(8, 20),
    crashRate: 0.5,
    maxCrashStep: 160,
    fullRate: 0.1,
    opsPerRound: 4,
    ...overrides,
  };
}

/** One record as users know it, across both sides. */
interface Logical {
  uid: number;
  createdOn: Side;
  keys: Partial<Record<Side, string>>;
  /** External ID mode: its identity (null until one is set). */
  ext: string | null;
  /** External IDs it had before a rename: a raced delete that lost brings the record back under
   *  the other side's (not yet renamed) value. */
  priorExts: string[];
  /** Per field: the side whose value is the last user write, and that value. */
  expected: { side: Side; value: Canonical }[];
  deleted: boolean;
  /** A delete that raced a user update the policy lets win: either outcome is right. */
  raced: boolean;
  deletedFrom?: Side;
  /** Op counter of the last user update on each side. */
  lastUpdate: Record<Side, number>;
  /** Not edited until the engine has linked it (an adoption or first meeting settles fields by policy). */
  frozen: boolean;
}

export interface Violation {
  kind: string;
  detail: string;
}

export interface SimReport {
  seed: number;
  options: SimOptions;
  violations: Violation[];
  crashes: number;
  attempts: number;
  /** Steps of each completed (uncrashed) attempt, by round. */
  stepsByRound: Map<number, number>;
  log: string[];
}

export class Simulation {
  readonly opts: SimOptions;
  private readonly userRng: Rng;
  private readonly crashRng: Rng;
  private readonly failRng: Rng;
  private readonly world: World;
  private opCounter = 0;
  /** Op counter when the last uncrashed engine attempt started. */
  private lastCleanStart = -1;
  private readonly logical: Logical[] = [];
  private nextExt = 1;
  private failuresOn = true;
  private readonly sor?: Side;
  private readonly n?: Side;
  private readonly extCol: Record<Side, string | undefined>;
  readonly violations: Violation[] = [];
  crashes = 0;
  attempts = 0;
  readonly stepsByRound = new Map<number, number>();

  constructor(opts: SimOptions) {
    this.opts = opts;
    const root = new Rng(opts.seed);
    this.userRng = root.fork(2);
    this.crashRng = root.fork(3);
    this.failRng = root.fork(4);
    this.world = new World({
      mode: opts.mode,
      policy: opts.policy,
      batchSize: opts.batchSize,
      sorHasExt: opts.sorHasExt,
      captureEngineWrites: opts.captureEngineWrites,
    });
    this.sor = this.world.sor;
    this.n = this.world.n;
    this.extCol = this.world.extCol;
  }

  private get dbs() {
    return this.world.dbs;
  }

  private get store() {
    return this.world.store;
  }

  get log(): string[] {
    return this.world.log;
  }

  private model() {
    return this.world.model();
  }

  private note(line: string): void {
    this.world.note(line);
  }

  private violation(kind: string, detail: string): void {
    this.violations.push({ kind, detail });
  }

  // ---------------------------------------------------------------- engine

  /** One engine attempt (a process that may be killed): a fresh context over the same databases and store file. */
  async engine(
    round: number,
    opts: { crashAt: number | null; full: boolean },
  ): Promise<PassResult | 'crashed'> {
    this.attempts++;
    const failRow = (table: string) => {
      if (!this.failuresOn || this.opts.failRate === 0) return undefined;
      return this.failRng.chance(this.opts.failRate)
        ? `CHECK constraint failed: ${table} (injected)`
        : undefined;
    };
    const startOp = this.opCounter;
    const r = await this.world.attempt({ crashAt: opts.crashAt, full: opts.full, failRow });
    const what = `r${round} engine${opts.full ? ' full' : ''}`;
    if (!r.ok) {
      this.crashes++;
      this.note(`${what}: ${r.message}`);
      return 'crashed';
    }
    this.lastCleanStart = Math.max(this.lastCleanStart, startOp);
    this.stepsByRound.set(round, r.steps);
    this.note(`${what}: ok in ${r.steps} steps ${JSON.stringify(r.result.counts)}`);
    await this.unfreeze();
    return r.result;
  }

  private async unfreeze(): Promise<void> {
    for (const u of this.logical) {
      if (!u.frozen || u.deleted) continue;
      const id = this.identityOf(u);
      if (id === null) continue;
      const links = await this.store.linksByIdentities('sim', [id]);
      if (links.some((l) => l.leftKey !== null && l.rightKey !== null)) u.frozen = false;
    }
  }

  // ---------------------------------------------------------------- identities

  private identityOfRecord(side: Side, key: string, row: Row): string | null {
    if (this.sor === side) return key;
    return matchText(row[this.extCol[side]!]);
  }

  /** The identity a logical record should have now (null when not yet known). */
  private identityOf(u: Logical): string | null {
    if (this.opts.mode === 'external-id') return u.ext;
    const sor = this.sor!;
    const nk = u.keys[this.n!];
    const row = nk === undefined ? undefined : this.dbs[this.n!].get(TABLE[this.n!], nk);
    // A raced delete of the SOR record that the N update won: the SOR record is made again, under a new key.
    if (u.deleted && u.raced && u.deletedFrom === sor && row) return matchText(row[this.extCol[this.n!]!]);
    if (u.keys[sor] !== undefined) return u.keys[sor]!;
    return row ? matchText(row[this.extCol[this.n!]!]) : null;
  }

  /** Maps records the engine made to the logical records they belong to. */
  private discover(): void {
    for (const side of SIDES) {
      for (const [key, row] of this.dbs[side].rows(TABLE[side])) {
        if (this.logical.some((u) => u.keys[side] === key)) continue;
        const id = this.identityOfRecord(side, key, row);
        if (id === null) continue;
        const u = this.logical.find(
          (x) => !x.deleted && x.keys[side] === undefined && this.identityOf(x) === id,
        );
        if (u) u.keys[side] = key;
      }
    }
  }

  private present(u: Logical, side: Side): string | undefined {
    const k = u.keys[side];
    return k !== undefined && this.dbs[side].get(TABLE[side], k) ? k : undefined;
  }

  // ---------------------------------------------------------------- users

  private randomRow(side: Side): Row {
    const row: Row = {};
    for (const f of FIELD_DEFS) row[f[side]] = this.userRng.pick(side === 'left' ? f.leftPool : f.rightPool);
    return row;
  }

  private expectedFrom(side: Side, row: Row): Logical['expected'] {
    return FIELD_DEFS.map((f) => ({ side, value: row[f[side]] ?? null }));
  }

  private newLogical(side: Side, key: string, row: Row, ext: string | null): Logical {
    const u: Logical = {
      uid: this.logical.length,
      createdOn: side,
      keys: { [side]: key },
      ext,
      priorExts: [],
      expected: this.expectedFrom(side, row),
      deleted: false,
      raced: false,
      lastUpdate: { left: -1, right: -1 },
      frozen: false,
    };
    this.logical.push(u);
    return u;
  }

  private insert(side: Side, row: Row): string {
    return this.dbs[side].insert(TABLE[side], row);
  }

  async userOp(): Promise<void> {
    this.discover();
    this.opCounter++;
    const r = this.userRng;
    const live = this.logical.filter((u) => !u.deleted);
    const roll = r.next();
    if (roll < 0.35 || live.length === 0) return this.userCreate();
    if (roll < 0.75) return this.userUpdate(live);
    if (roll < 0.85 && this.opts.mode === 'external-id') return this.userRenameOrAssign(live);
    return this.userDelete(live);
  }

  private async userCreate(): Promise<void> {
    const r = this.userRng;
    const side = r.pick(SIDES);
    const row = this.randomRow(side);
    if (this.opts.mode === 'external-id') {
      // A first meeting: the same external ID made on the other side too, with the values mapped (no conflict).
      if (r.chance(0.15)) {
        const lonely = [];
        for (const u of this.logical) {
          if (u.deleted || u.frozen || u.ext === null || u.keys[side] !== undefined) continue;
          if ([...this.dbs[side].rows(TABLE[side]).values()].some((x) => x.code === u.ext)) continue;
          if ((await this.store.linksByIdentities('sim', [u.ext])).length > 0) continue;
          lonely.push(u);
        }
        if (lonely.length > 0) {
          const u = r.pick(lonely);
          const src = this.dbs[other(side)].get(TABLE[other(side)], u.keys[other(side)]!)!;
          const twin: Row = { code: u.ext };
          const fields = this.model().fields;
          FIELD_DEFS.forEach((f, i) => {
            twin[f[side]] = mapValue(fields[i]!, other(side), src[f[other(side)]] ?? null) ?? null;
          });
          const key = this.insert(side, twin);
          u.keys[side] = key;
          u.frozen = true;
          this.note(`op${this.opCounter}: ${side} first-meeting create ${key} code=${u.ext} (u${u.uid})`);
          return;
        }
      }
      const ext = r.chance(0.8) ? `E${this.nextExt++}` : null;
      row.code = ext;
      const key = this.insert(side, row);
      const u = this.newLogical(side, key, row, ext);
      this.note(`op${this.opCounter}: ${side} create ${key} code=${ext} ${JSON.stringify(row)} (u${u.uid})`);
      return;
    }
    const sor = this.sor!;
    const n = this.n!;
    if (side === n && r.chance(0.2)) {
      // Adoption: an N record pointing at an S record that no N record carries yet.
      const candidates = [];
      for (const u of this.logical) {
        if (u.deleted || u.frozen || u.createdOn !== sor || u.keys[n] !== undefined) continue;
        const k = u.keys[sor]!;
        if ([...this.dbs[n].rows(TABLE[n]).values()].some((x) => matchText(x.sor_id) === k)) continue;
        if ((await this.store.linksByIdentities('sim', [k])).length > 0) continue;
        candidates.push(u);
      }
      if (candidates.length > 0) {
        const u = r.pick(candidates);
        row.sor_id = u.keys[sor]!;
        const key = this.insert(n, row);
        u.keys[n] = key;
        u.frozen = true;
        // Adoption settles every differing field by the SOR.
        const s = this.dbs[sor].get(TABLE[sor], u.keys[sor]!)!;
        u.expected = this.expectedFrom(sor, s);
        this.note(`op${this.opCounter}: ${n} adoption create ${key} sor_id=${row.sor_id} (u${u.uid})`);
        return;
      }
    }
    const key = this.insert(side, row);
    const u = this.newLogical(side, key, row, null);
    this.note(`op${this.opCounter}: ${side} create ${key} ${JSON.stringify(row)} (u${u.uid})`);
  }

  private userUpdate(live: Logical[]): void {
    const r = this.userRng;
    const fi = r.int(0, FIELD_DEFS.length - 1);
    const f = FIELD_DEFS[fi]!;
    const side = this.opts.owners[fi]!;
    const candidates = live.filter((u) => !u.frozen && this.present(u, side) !== undefined);
    if (candidates.length === 0) return;
    const u = r.pick(candidates);
    const key = u.keys[side]!;
    const value = r.pick(side === 'left' ? f.leftPool : f.rightPool);
    this.dbs[side].update(TABLE[side], key, { [f[side]]: value });
    u.expected[fi] = { side, value };
    u.lastUpdate[side] = this.opCounter;
    this.note(`op${this.opCounter}: ${side} update ${key}.${f[side]} = ${JSON.stringify(value)} (u${u.uid})`);
  }

  private userRenameOrAssign(live: Logical[]): void {
    const r = this.userRng;
    const side = this.opts.extOwner;
    // Give an external ID to a record made without one, or rename a record that has one.
    const extless = live.filter(
      (u) => u.ext === null && u.createdOn === side && this.present(u, side) !== undefined,
    );
    const named = live.filter((u) => u.ext !== null && !u.frozen && this.present(u, side) !== undefined);
    const pool = extless.length > 0 && (named.length === 0 || r.chance(0.5)) ? extless : named;
    if (pool.length === 0) return;
    const u = r.pick(pool);
    const key = u.keys[side]!;
    const ext = `E${this.nextExt++}`;
    this.dbs[side].update(TABLE[side], key, { code: ext });
    this.note(
      `op${this.opCounter}: ${side} ${u.ext === null ? 'assign' : 'rename'} ${key}.code ${u.ext} → ${ext} (u${u.uid})`,
    );
    if (u.ext !== null) u.priorExts.push(u.ext);
    u.ext = ext;
    u.lastUpdate[side] = this.opCounter;
  }

  private async userDelete(live: Logical[]): Promise<void> {
    const r = this.userRng;
    const candidates = live.filter((u) => !u.frozen && SIDES.some((s) => this.present(u, s) !== undefined));
    if (candidates.length === 0) return;
    const u = r.pick(candidates);
    const sides = SIDES.filter((s) => this.present(u, s) !== undefined);
    const side = r.pick(sides);
    this.dbs[side].delete(TABLE[side], u.keys[side]!);
    u.deleted = true;
    u.deletedFrom = side;
    // A delete racing an update on the other side: only when the policy lets the update win is either outcome right.
    const surv = other(side);
    const updateWins =
      this.opts.policy === 'system-of-record'
        ? surv === (this.sor ?? 'left')
        : this.opts.policy === 'left-wins'
          ? surv === 'left'
          : this.opts.policy === 'right-wins'
            ? surv === 'right'
            : false;
    const quarantined = (await this.store.quarantined('sim')).some((q) =>
      SIDES.some((s) => u.keys[s] !== undefined && q.recordSide === s && q.recordKey === u.keys[s]),
    );
    u.raced = (updateWins && u.lastUpdate[surv] > this.lastCleanStart) || quarantined;
    this.note(`op${this.opCounter}: ${side} delete ${u.keys[side]} (u${u.uid})${u.raced ? ' raced' : ''}`);
  }

  // ---------------------------------------------------------------- the run

  async run(): Promise<SimReport> {
    const o = this.opts;
    const cr = this.crashRng;
    try {
      for (let round = 0; round < o.rounds; round++) {
        const ops = this.userRng.int(round === 0 ? 2 : 0, o.opsPerRound);
        for (let i = 0; i < ops; i++) await this.userOp();
        let crashAt: number | null = null;
        if (o.crashOnly) crashAt = o.crashOnly.round === round ? o.crashOnly.at : null;
        else if (cr.chance(o.crashRate)) crashAt = cr.int(1, o.maxCrashStep);
        const full = round > 0 && cr.chance(o.fullRate);
        await this.engine(round, { crashAt, full });
      }
      await this.settle();
    } finally {
      await this.world.close();
    }
    return {
      seed: o.seed,
      options: o,
      violations: this.violations,
      crashes: this.crashes,
      attempts: this.attempts,
      stepsByRound: this.stepsByRound,
      log: this.log,
    };
  }

  /** Users stop; failures stop; quarantined records are retried; one clean pass; then the checks. */
  private async settle(): Promise<void> {
    this.failuresOn = false;
    this.discover();
    // `tandem retry --all`.
    const held = await this.store.quarantined('sim');
    await this.world.retryAll();
    if (held.length > 0)
      this.note(`retry --all: ${held.map((q) => `${q.recordSide}:${q.recordKey} ${q.reason}`).join(', ')}`);
    const first = await this.engine(-1, { crashAt: null, full: false });
    if (first === 'crashed') throw new Error('unreachable');
    this.discover();
    const afterOne = await this.check('after one clean pass');
    if (afterOne.length > 0) {
      // Would more passes help? Tell "slow" from "never".
      for (let i = 0; i < 3; i++) await this.engine(-1, { crashAt: null, full: false });
      this.discover();
      const later = await this.check('after four clean passes');
      this.violations.push(...afterOne);
      if (later.length === 0)
        this.violation('slow-convergence', 'all of the above was repaired by three more clean passes');
      else this.violations.push(...later);
      return;
    }
    // Converged: a full reconcile must find nothing to do, and a capture pass after it neither.
    const rec = await this.engine(-2, { crashAt: null, full: true });
    if (rec !== 'crashed') this.expectIdle('reconcile after convergence', rec);
    const again = await this.engine(-3, { crashAt: null, full: false });
    if (again !== 'crashed') this.expectIdle('capture pass after reconcile', again);
    this.violations.push(...(await this.check('after reconcile')));
  }

  private expectIdle(when: string, r: PassResult): void {
    const c = r.counts;
    const moved =
      c.created.left + c.created.right + c.updated.left + c.updated.right + c.deleted.left + c.deleted.right;
    if (moved > 0 || c.quarantined > 0 || c.conflicts > 0)
      this.violation('not-idle', `${when}: ${JSON.stringify(c)}`);
  }

  // ---------------------------------------------------------------- checks

  private async check(when: string): Promise<Violation[]> {
    const out: Violation[] = [];
    const v = (kind: string, detail: string) => out.push({ kind, detail: `${when}: ${detail}` });
    const fields = this.model().fields;
    const rows = { left: this.dbs.left.rows('L'), right: this.dbs.right.rows('R') };

    // Records by identity, per side.
    const byId: Record<Side, Map<string, string[]>> = { left: new Map(), right: new Map() };
    for (const side of SIDES) {
      for (const [key, row] of rows[side]) {
        const id = this.identityOfRecord(side, key, row);
        if (id === null) continue;
        const list = byId[side].get(id) ?? [];
        list.push(key);
        byId[side].set(id, list);
      }
      for (const [id, keys] of byId[side]) {
        if (keys.length > 1) v('duplicate', `${side} records ${keys.join(', ')} all carry identity ${id}`);
      }
    }

    if (this.sor && rows.left.size !== rows.right.size) {
      v('count', `SOR has ${rows[this.sor].size} records, N has ${rows[this.n!].size}`);
    }

    const accounted: Record<Side, Set<string>> = { left: new Set(), right: new Set() };
    const links = await this.allLinks();
    for (const u of this.logical) {
      let id = this.identityOf(u);
      if (this.opts.mode === 'external-id' && u.deleted && u.raced) {
        const alt = [u.ext, ...u.priorExts].find(
          (x) => x !== null && (byId.left.has(x) || byId.right.has(x)),
        );
        if (alt) id = alt;
      }
      const tag = `u${u.uid} (created on ${u.createdOn} as ${u.keys[u.createdOn]}, identity ${id})`;
      if (id === null && this.opts.mode !== 'external-id') {
        // SOR mode, made on N, and its N record has no SOR key (or is gone).
        if (!u.deleted) v('external-id', `${tag}: N record has no sor_id`);
        const k = this.present(u, u.createdOn);
        if (k !== undefined) accounted[u.createdOn].add(k);
        continue;
      }
      if (id === null) {
        // External ID mode, never given one: stays on its own side, untouched.
        const k = this.present(u, u.createdOn);
        if (k !== undefined) accounted[u.createdOn].add(k);
        if (!u.deleted && k === undefined) v('lost-record', `${tag}: an unnamed record vanished`);
        if (u.deleted && k !== undefined) v('resurrected', `${tag}: deleted but back`);
        continue;
      }
      const keys = { left: byId.left.get(id) ?? [], right: byId.right.get(id) ?? [] };
      for (const side of SIDES) for (const k of keys[side]) accounted[side].add(k);
      const on = { left: keys.left[0], right: keys.right[0] };
      if (u.deleted && !u.raced) {
        for (const side of SIDES) {
          if (on[side] !== undefined)
            v('delete-lost', `${tag}: deleted on ${u.deletedFrom}, but ${side} still has ${on[side]}`);
        }
        continue;
      }
      if (u.deleted && on.left === undefined && on.right === undefined) continue; // raced: the delete won
      if (on.left === undefined || on.right === undefined) {
        v(u.deleted ? 'half-deleted' : 'missing', `${tag}: left ${on.left ?? '—'}, right ${on.right ?? '—'}`);
        continue;
      }
      const l = rows.left.get(on.left)!;
      const r = rows.right.get(on.right)!;
      if (this.opts.mode !== 'external-id') {
        const nrow = this.n === 'left' ? l : r;
        if (matchText(nrow.sor_id) !== id) v('external-id', `${tag}: N's sor_id is ${nrow.sor_id}`);
      }
      const link = links.find((x) => x.identity === id);
      if (!link) v('unlinked', `${tag}: no link`);
      else if (link.leftKey !== on.left || link.rightKey !== on.right) {
        v('link-keys', `${tag}: link ${link.leftKey}/${link.rightKey} but records ${on.left}/${on.right}`);
      }
      fields.forEach((f, i) => {
        const lv = l[f.left] ?? null;
        const rv = r[f.right] ?? null;
        if (!inStep(f, lv, rv))
          v('not-in-step', `${tag}: ${f.id} left ${JSON.stringify(lv)} right ${JSON.stringify(rv)}`);
        if (u.deleted) return; // a raced delete that lost: values are whatever the winner had
        const e = u.expected[i]!;
        const got = e.side === 'left' ? lv : rv;
        if (got !== e.value) {
          v(
            'lost-change',
            `${tag}: ${f.id} on ${e.side} is ${JSON.stringify(got)}, last user write was ${JSON.stringify(e.value)}`,
          );
        }
      });
    }
    for (const side of SIDES) {
      for (const key of rows[side].keys()) {
        if (!accounted[side].has(key)) {
          const row = rows[side].get(key)!;
          v('extra-record', `${side} record ${key} ${JSON.stringify(row)} belongs to no user record`);
        }
      }
    }
    for (const l of links) {
      if (
        l.leftKey === null ||
        !rows.left.has(l.leftKey) ||
        l.rightKey === null ||
        !rows.right.has(l.rightKey)
      ) {
        v('dangling-link', `link ${l.id} ${l.identity}: ${l.leftKey}/${l.rightKey}`);
      }
    }
    const q = await this.store.quarantined('sim');
    for (const e of q) v('quarantined', `${e.recordSide}:${e.recordKey} ${e.reason}: ${e.message}`);
    const intents = await this.store.intents('sim');
    if (intents.length > 0)
      v('pending', `${intents.length} unsettled intents left: ${JSON.stringify(intents)}`);
    return out;
  }

  private async allLinks() {
    const out = [];
    let after = 0;
    for (;;) {
      const page = await this.store.scanLinks('sim', after, 500);
      if (page.length === 0) break;
      out.push(...page);
      after = page[page.length - 1]!.id!;
    }
    return out;
  }
}

export async function simulate(opts: SimOptions): Promise<SimReport> {
  return new Simulation(opts).run();
}

export function describeReport(r: SimReport, maxLog = 200): string {
  const o = r.options;
  const head = `seed ${r.seed} (re-run: SIM_SEED=${r.seed}) mode=${o.mode} policy=${o.policy} batch=${o.batchSize} owners=${o.owners.join(',')} extOwner=${o.extOwner} sorHasExt=${o.sorHasExt} failRate=${o.failRate} captureEngineWrites=${o.captureEngineWrites}${o.crashOnly ? ` crashOnly=${JSON.stringify(o.crashOnly)}` : ''} crashes=${r.crashes}/${r.attempts}`;
  const vs = r.violations.map((v) => `  [${v.kind}] ${v.detail}`).join('\n');
  const log =
    r.log.length > maxLog ? [...r.log.slice(0, maxLog / 2), '…', ...r.log.slice(-maxLog / 2)] : r.log;
  return `${head}\n${vs}\n--- log ---\n${log.join('\n')}`;
}
