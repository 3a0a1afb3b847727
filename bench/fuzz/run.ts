/**
 * The protocol fuzzer for longer: `npm run bench:fuzz -- --seconds 60 --seed 7` attacks our CLI broker with seeded
 * hostile conversations for that long, then plays exactly the same cases against Debian's mosquitto 2, and prints
 * both summaries. `--cases N` plays a fixed number of cases instead (to replay a run). Exit code 1 when our broker
 * failed (a crash, a connection left hanging, a canary not served).
 */
import { parseArgs } from 'node:util';
import { MOSQUITTO } from '../../test/helpers/mosquitto-broker.js';
import { formatSummary, runFuzz, type FuzzRunOptions, type FuzzSummary } from '../../test/broker/fuzz/run-fuzz.js';
import { startMosquittoTarget, startOurBroker, type RunningTarget } from '../../test/broker/fuzz/targets.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    cases: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    'no-mosquitto': { type: 'boolean', default: false },
  },
});

const seed = Number(values.seed);
const base: Omit<FuzzRunOptions, 'seed'> = { concurrency: Number(values.concurrency), reactMs: 500, closeBoundMs: 5000, settleMs: 5000 };

async function attack(start: () => Promise<RunningTarget>, options: FuzzRunOptions): Promise<FuzzSummary> {
  const target = await start();
  try {
    const summary = await runFuzz(target, options);
    console.log(formatSummary(summary));
    if (!summary.alive) console.log(`  its last output:\n${await target.log()}`);
    return summary;
  } finally {
    await target.stop();
  }
}

console.log(`protocol fuzzing, seed ${seed} (replay: npm run bench:fuzz -- --seed ${seed} --cases N)`);
const ours = await attack(startOurBroker, { ...base, seed, ...(values.cases ? { cases: Number(values.cases) } : { durationMs: Number(values.seconds) * 1000 }) });
if (MOSQUITTO && !values['no-mosquitto']) {
  // The very same cases: the first `attempts` of the seed.
  await attack(startMosquittoTarget, { ...base, seed, cases: ours.attempts });
}
const served = ours.canaries.every((c) => c.lost === 0 && c.errors === 0);
process.exitCode = ours.failures.length === 0 && ours.alive && served ? 0 : 1;
