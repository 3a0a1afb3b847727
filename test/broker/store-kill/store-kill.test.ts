import { describe, expect, it } from 'vitest';
import { MOSQUITTO } from '../../helpers/mosquitto-broker.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { mosquittoKillableBroker, ourKillableBroker } from './brokers.js';
import { formatStoreKill, runStoreKill, type StoreKillOptions } from './scenario.js';

// A fixed seed, so that a failure reproduces (STORE_KILL_SEED overrides it); `npm run bench:store-kill` runs more.
const SEED = Number(process.env.STORE_KILL_SEED ?? 1616);

const options: StoreKillOptions = {
  seed: SEED,
  cycles: 3,
  minRunMs: 400,
  maxRunMs: 1500,
  // The journal writes behind every 100 ms; the rest is a margin for a loaded 2-core machine (a late timer, a slow
  // LevelDB batch). What was acknowledged before that must be there after kill -9.
  graceMs: 100 + 400,
  publishIntervalMs: 5,
  sessionIntervalMs: 100,
};

describe('power loss of the broker store: SIGKILL at seeded moments, restart on the same directory', () => {
  it(`loses nothing acknowledged before the write-behind interval, seed ${SEED}`, async () => {
    const temp = await makeTempDir('store-kill-');
    try {
      const report = await runStoreKill(await ourKillableBroker(temp.dir), options);
      console.warn(formatStoreKill(report));
      expect(report.restarts, 'restarts on the killed store').toBe(options.cycles);
      for (const kind of ['retained', 'queued', 'sessions'] as const) {
        expect(report[kind].old, `${kind}: some acknowledged long enough before a kill to be checked`).toBeGreaterThan(0);
        expect(report[kind].lost, `${kind}: acknowledged more than ${options.graceMs} ms before a kill and lost`).toBe(0);
      }
    } finally {
      await temp.remove();
    }
  });

  // The same load and kills against mosquitto 2 with `persistence true`, printed as a reference: it saves its store
  // on shutdown and every autosave_interval, so kill -9 loses what came since; nothing is asserted but a restart.
  it.skipIf(!MOSQUITTO)('mosquitto on the same load (reference)', async () => {
    const temp = await makeTempDir('store-kill-mosquitto-');
    try {
      const report = await runStoreKill(await mosquittoKillableBroker(temp.dir), { ...options, cycles: 1 });
      console.warn(formatStoreKill(report));
      expect(report.restarts).toBe(1);
    } finally {
      await temp.remove();
    }
  });
});
