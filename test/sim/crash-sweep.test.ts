/**
 * A crash at every step of one engine attempt: for one scenario per mode, run
 * it once without crashes to count the steps of the chosen round's attempt,
 * then once per step N with the engine killed at step N (then restarted, users
 * go on, clean passes, the simulation's checks). Every pair of consecutive
 * calls to a connector or the store gets a crash between them.
 *
 * `SIM_SEED=<seed>` sweeps that seed only; `SIM_SWEEP=<n>` sweeps n seeds per mode.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeReport, randomOptions, type SimMode, simulate } from './sim.js';

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterAll(() => {
  vi.useRealTimers();
});

const MODES: SimMode[] = ['sor-left', 'sor-right', 'external-id'];
const single = process.env.SIM_SEED ? Number(process.env.SIM_SEED) : undefined;
const perMode = Number(process.env.SIM_SWEEP ?? 1);

const at = (seed: number, mode: SimMode, round: number) => ({
  seed,
  mode,
  round,
  label: `seed ${seed} (${mode}), round ${round}`,
});
const cases: { seed: number; mode: SimMode; round: number; label: string }[] = [];
if (single !== undefined) {
  for (const round of [0, 1]) cases.push(at(single, MODES[((single % 3) + 3) % 3]!, round));
} else {
  for (let i = 0; i < perMode; i++) {
    MODES.forEach((mode, m) => {
      const seed = 101 + i * 3 + m;
      // Round 0 is the first (full) pass on an empty state; round 1 a capture pass over links.
      cases.push(at(seed, mode, 1));
      if (mode === 'external-id' || perMode > 1) cases.push(at(seed, mode, 0));
    });
  }
}

describe('simulation: a crash at every step of one engine attempt', () => {
  it.each(cases)('$label', async ({ seed, mode, round }) => {
    const opts = randomOptions(seed, {
      mode,
      rounds: 3,
      crashRate: 0,
      failRate: 0,
      fullRate: 0,
      opsPerRound: 5,
    });
    const clean = await simulate(opts);
    expect(clean.violations, describeReport(clean)).toEqual([]);
    const steps = clean.stepsByRound.get(round) ?? 0;
    expect(steps).toBeGreaterThan(0);
    const failures: string[] = [];
    for (let at = 1; at <= steps; at++) {
      const report = await simulate({ ...opts, crashOnly: { round, at } });
      if (report.violations.length > 0) failures.push(describeReport(report, 80));
    }
    expect(
      failures.length,
      `${failures.length} of ${steps} crash points failed\n\n${failures.slice(0, 3).join('\n\n')}`,
    ).toBe(0);
  });
});
