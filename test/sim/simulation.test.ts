/**
 * Deterministic simulation of the engine (see sim.ts). Every failure names its
 * seed; re-run one with `SIM_SEED=<seed> npx vitest run test/sim`. More seeds:
 * `SIM_RUNS=500`. Seeds start at `SIM_BASE` (default 1).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeReport, randomOptions, type SimMode, type SimOptions, simulate } from './sim.js';

const MODES: SimMode[] = ['sor-left', 'sor-right', 'external-id'];
const single = process.env.SIM_SEED ? Number(process.env.SIM_SEED) : undefined;
const runs = Number(process.env.SIM_RUNS ?? 40);
const base = Number(process.env.SIM_BASE ?? 1);
const seeds = single !== undefined ? [single] : Array.from({ length: runs }, (_, i) => base + i);

/** Seed → options; the mode cycles with the seed so every mode gets its share. */
function optionsFor(seed: number, overrides: Partial<SimOptions> = {}): SimOptions {
  return randomOptions(seed, { mode: MODES[((seed % 3) + 3) % 3]!, ...overrides });
}

beforeAll(() => {
  // The engine reads Date.now() (pass ids); the simulation's clock drives it.
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterAll(() => {
  vi.useRealTimers();
});

async function expectClean(opts: SimOptions): Promise<void> {
  const report = await simulate(opts);
  expect(report.violations, describeReport(report)).toEqual([]);
}

describe('simulation: no crashes, no failures (baseline)', () => {
  for (const mode of MODES) {
    it.each(seeds.slice(0, single !== undefined ? 1 : 5))(`${mode}: seed %i`, async (seed) => {
      await expectClean(optionsFor(seed, { mode, crashRate: 0, failRate: 0, captureEngineWrites: false }));
    });
  }
});

describe('simulation: random users, random crashes, row failures', () => {
  it.each(seeds)('seed %i', async (seed) => {
    await expectClean(optionsFor(seed));
  });
});
