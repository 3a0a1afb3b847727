/**
 * Power loss of the broker's own store, for longer: `npm run bench:store-kill -- --cycles 20 --seed 7` SIGKILLs our
 * CLI broker at seeded moments under retained, persistent-session and queued load and restarts it on the same
 * store, then does the same to mosquitto 2 with `persistence true`, and prints both summaries. Exit code 1 when
 * ours lost anything acknowledged more than --grace-ms before a kill, or did not restart.
 */
import { parseArgs } from 'node:util';
import { MOSQUITTO } from '../../test/helpers/mosquitto-broker.js';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { mosquittoKillableBroker, ourKillableBroker, type KillableBroker } from '../../test/broker/store-kill/brokers.js';
import { formatStoreKill, runStoreKill, type StoreKillOptions, type StoreKillReport } from '../../test/broker/store-kill/scenario.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '20' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    'grace-ms': { type: 'string', default: '500' },
    'max-run-ms': { type: 'string', default: '5000' },
  },
});
const options: StoreKillOptions = {
  seed: Number(values.seed),
  cycles: Number(values.cycles),
  minRunMs: 200,
  maxRunMs: Number(values['max-run-ms']),
  graceMs: Number(values['grace-ms']),
  publishIntervalMs: 5,
  sessionIntervalMs: 100,
};

async function run(make: (dir: string) => Promise<KillableBroker>, prefix: string): Promise<StoreKillReport | undefined> {
  const temp = await makeTempDir(prefix);
  try {
    const report = await runStoreKill(await make(temp.dir), options);
    console.log(formatStoreKill(report));
    return report;
  } catch (error) {
    console.log(`${prefix}: ${(error as Error).message}`);
    return undefined;
  } finally {
    await temp.remove();
  }
}

console.log(`store power loss: seed ${options.seed}, ${options.cycles} SIGKILLs each, grace ${options.graceMs} ms`);
const ours = await run(ourKillableBroker, 'bench-store-kill-ours-');
if (MOSQUITTO) await run(mosquittoKillableBroker, 'bench-store-kill-mosquitto-');
const ok = ours !== undefined && ours.restarts === options.cycles && ours.retained.lost + ours.queued.lost + ours.sessions.lost === 0;
process.exitCode = ok ? 0 : 1;
