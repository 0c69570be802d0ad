/**
 * SPEC §4.2 / §5.2: a crash at any point of "create in S, then write the key
 * back into N" must not create a second S record when the engine starts again.
 *
 * `tandem run` keeps syncing while the test inserts N records (external_id
 * empty) in small transactions (and, now and then, an S record); the engine is
 * SIGKILLed at random moments and restarted — during its first full pass and
 * during change-capture passes. A final `run --once` must leave exactly one S
 * record per N record, every N record pointing at its own S record with
 * matching fields, all linked, nothing quarantined.
 *
 * Reproduce a failure with TANDEM_CRASH_SEED=<seed printed in the failure>.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { nView, ORIENTATIONS, prng, type SorWorkspace, sorWorkspace } from './sor-helpers.js';

const TOTAL = 300;
/** N records already there when the engine first starts: its first (full) pass is killed too. */
const PRELOAD = 60;
/** S records inserted along the way (creates in S, with their upsert on N's external_id). */
const S_TOTAL = 40;
const MIN_KILLS = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(ORIENTATIONS)('SOR mode, system_of_record: %s — kill -9 during creates from N', (sor) => {
  let sw: SorWorkspace | undefined;
  let current: { pid: number; stop(): Promise<unknown> } | undefined;
  afterEach(async () => {
    if (current) {
      try {
        process.kill(current.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await current.stop();
    }
    current = undefined;
    sw?.cleanup();
    sw = undefined;
  });

  it(`${TOTAL} N records inserted while the engine is killed and restarted: no duplicate in S, all linked`, async () => {
    const seed = Number(process.env.TANDEM_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const rnd = prng(seed);
    const tag = `[seed ${seed}, sor ${sor}]`;
    try {
      const w = sorWorkspace({ sor });
      sw = w;
      const insert = w.ws
        .db('crm.db')
        .prepare('INSERT INTO contacts (email, full_name, state) VALUES (?, ?, ?)');
      const insertMany = w.ws.db('crm.db').transaction((from: number, n: number) => {
        for (let i = from; i < from + n; i++) insert.run(`n${i}@x`, `Name ${i}`, i % 3 === 0 ? 'I' : 'A');
      });
      const insertS = w.ws
        .db('app.db')
        .prepare('INSERT INTO customers (email, name, status) VALUES (?, ?, ?)');
      // Small batches (many crash windows per pass) and, now and then, a big one (a long window).
      const batchSize = () => String(rnd() < 0.7 ? 1 + Math.floor(rnd() * 4) : 100);
      const start = () => w.ws.startRun('--interval', '10', '--batch-size', batchSize());
      // S records the engine made from N records (the test's own S inserts are `s…@x`).
      const sCount = w.ws.db('app.db').prepare("SELECT count(*) AS c FROM customers WHERE email LIKE 'n%'");
      const made = () => (sCount.get() as { c: number }).c;

      /** Lives that ended on their own (exit code instead of our SIGKILL): `run` must keep running. */
      const selfExits: { code: number; stderr: string }[] = [];
      const kill9 = async () => {
        const pid = current!.pid;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* it already exited: the result below says how */
        }
        const res = (await current!.stop()) as { code: number; stderr: string };
        if (res.code !== -1) selfExits.push({ code: res.code, stderr: res.stderr.slice(-3000) });
      };

      for (let i = 0; i < PRELOAD; i += 10) insertMany(i, 10);
      current = start();
      let kills = 0;
      let inserted = PRELOAD;
      let sInserted = 0;
      const deadline = Date.now() + 40_000;

      // The test inserts, in small transactions, across several lives of the engine.
      const inserter = (async () => {
        while (inserted < TOTAL || sInserted < S_TOTAL) {
          if (inserted < TOTAL) {
            const n = Math.min(TOTAL - inserted, 1 + Math.floor(rnd() * 4));
            insertMany(inserted, n);
            inserted += n;
          }
          if (sInserted < S_TOTAL && (inserted >= TOTAL || rnd() < 0.3)) {
            insertS.run(`s${sInserted}@x`, `S name ${sInserted}`, sInserted % 2 ? 'active' : 'inactive');
            sInserted++;
          }
          await sleep(5 + rnd() * 40);
        }
      })();

      // Kill moments: most lives are killed right when they show progress (a new S record made
      // from N: the S write has committed and the key write-back into N is next), or a few ms
      // later, mid-pass; some are killed blindly (during startup, or while idle).
      const killer = (async () => {
        while (inserted < TOTAL || sInserted < S_TOTAL || kills < MIN_KILLS) {
          if (Date.now() > deadline) throw new Error(`took too long: ${inserted} inserted, ${kills} kills`);
          const base = made();
          const lifeStarted = Date.now();
          if (rnd() < 0.2) {
            await sleep(rnd() * 600);
          } else {
            while (made() === base && Date.now() - lifeStarted < 3000) await sleep(1);
            if (rnd() < 0.5) await sleep(rnd() * 30);
          }
          await kill9();
          kills++;
          current = start();
        }
      })();
      await Promise.all([inserter, killer]);
      // Let the last life work a little, then kill it too (no graceful stop anywhere).
      await sleep(100 + rnd() * 400);
      await kill9();
      current = undefined;

      const madeWhileRunning = made();
      // `tandem run` keeps syncing until a signal: a life that exits by itself is a failure.
      expect.soft(selfExits, `${tag} tandem run exited on its own`).toEqual([]);
      const final = w.ws.tandem('run', '--once', '--json');
      expect(final.code, `${tag} final run --once: ${final.stdout}\n${final.stderr}`).toBe(0);

      const s = w.S();
      const n = w.N();
      expect(n, tag).toHaveLength(TOTAL + S_TOTAL);
      // No duplicate in the SOR.
      expect(s.length, `${tag} S rows vs N rows`).toBe(n.length);
      expect(new Set(s.map((r) => r.email)).size, `${tag} distinct emails in S`).toBe(s.length);
      // Every N record points at its own S record, with matching fields.
      const sById = new Map(s.map((r) => [r.id, r]));
      const ext = n.map((r) => r.app_id);
      expect(
        ext.filter((x) => x === null),
        `${tag} N records without external_id`,
      ).toEqual([]);
      expect(new Set(ext).size, `${tag} distinct external ids`).toBe(n.length);
      const mismatched = n.filter((r) => {
        const srow = sById.get(Number(r.app_id));
        if (!srow) return true;
        const want = nView(srow);
        return want.email !== r.email || want.full_name !== r.full_name || want.state !== r.state;
      });
      expect(mismatched, `${tag} N records not matching their S record`).toEqual([]);
      // Every record linked, nothing held.
      const status = w.status();
      expect(status.linked, tag).toBe(TOTAL + S_TOTAL);
      expect(status.quarantined, tag).toBe(0);
      expect(w.errors(), tag).toEqual([]);
      // The running engine did real work between kills (the test is not just the final pass).
      expect(madeWhileRunning, `${tag} S records made by the killed engines`).toBeGreaterThan(0);
      expect(kills, tag).toBeGreaterThanOrEqual(MIN_KILLS);
      // And a further pass finds nothing to do.
      const again = w.ws
        .tandem('run', '--once', '--json')
        .json<{ syncs: { created: object; updated: object }[] }>();
      expect(again.syncs[0]!.created, tag).toEqual({ left: 0, right: 0 });
      expect(again.syncs[0]!.updated, tag).toEqual({ left: 0, right: 0 });
    } catch (e) {
      if (e instanceof Error && !e.message.includes(`[seed ${seed}`)) e.message = `${tag} ${e.message}`;
      console.error(`sor-crash failed with TANDEM_CRASH_SEED=${seed} (sor: ${sor})`);
      throw e;
    }
  });
});
