import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOSQUITTO } from '../../helpers/mosquitto-broker.js';
import { formatSummary, runFuzz, type FuzzRunOptions, type FuzzSummary } from './run-fuzz.js';
import { startMosquittoTarget, startOurBroker, type RunningTarget } from './targets.js';

// Fixed seeds, so a failure reproduces: `npm run bench:fuzz -- --seed N --cases M` replays a run (case numbers are
// printed with their own seeds). FUZZ_SEED overrides them for a one-off run with other inputs.
const SEEDS = process.env.FUZZ_SEED ? [Number(process.env.FUZZ_SEED)] : [16, 1_600_016];
const CASES_PER_SEED = 200;

const options = (seed: number): FuzzRunOptions => ({
  seed,
  cases: CASES_PER_SEED,
  concurrency: 8,
  // Generous bounds: a loaded 2-core CI machine, where a close can take a while; a broker that never closes fails
  // whatever the bound.
  reactMs: 300,
  closeBoundMs: 5000,
  settleMs: 500,
});

const MiB = 1024;

function expectSurvived(summary: FuzzSummary): void {
  expect(summary.alive, 'the broker is still running').toBe(true);
  expect(summary.failures, 'connections hung or refused').toEqual([]);
  for (const canary of summary.canaries) {
    expect(canary.errors, `${canary.url}: disconnects or failed publishes`).toBe(0);
    expect(canary.lost, `${canary.url}: acknowledged messages never delivered`).toBe(0);
    expect(canary.acknowledged, `${canary.url}: acknowledged`).toBeGreaterThan(0);
    // Served throughout: never a long silence (the bound allows for a loaded machine, not for a stalled broker).
    expect(canary.maxGapMs, `${canary.url}: longest time without a delivery`).toBeLessThan(10_000);
  }
}

describe('protocol fuzzing of the TCP and WebSocket listeners (CLI broker as a child process)', () => {
  let ours: RunningTarget;
  beforeAll(async () => {
    ours = await startOurBroker();
  });
  afterAll(async () => {
    await ours?.stop();
  });

  for (const seed of SEEDS) {
    it(`survives ${CASES_PER_SEED} malformed, truncated and random conversations, seed ${seed}`, async () => {
      const summary = await runFuzz(ours, options(seed));
      console.warn(formatSummary(summary));
      if (!summary.alive) console.warn(await ours.log());
      expectSurvived(summary);
      // Bounded memory: a few hundred hostile connections must not cost the broker more than this, at the peak or
      // after they are gone. (The attacks here are small; what one huge packet may cost is the memory ceiling's own
      // test.)
      expect(summary.rssKiB.peak - summary.rssKiB.start, 'RSS growth at the peak').toBeLessThan(200 * MiB);
      expect(summary.rssKiB.final - summary.rssKiB.start, 'RSS growth after the attack').toBeLessThan(100 * MiB);
    });
  }

  // The same inputs against mosquitto 2, printed next to ours: a reference for what each kind of attack gets.
  it.skipIf(!MOSQUITTO)(`mosquitto survives the same inputs (reference), seed ${SEEDS[0]}`, async () => {
    const mosquitto = await startMosquittoTarget();
    try {
      const summary = await runFuzz(mosquitto, options(SEEDS[0]!));
      console.warn(formatSummary(summary));
      expectSurvived(summary);
    } finally {
      await mosquitto.stop();
    }
  });
});
