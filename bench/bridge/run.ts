/**
 * Bridge benchmark: our gateway's cloud bridge (durable disk queue) against mosquitto's own bridge, both forwarding
 * `bench/#` at QoS 1 into a "cloud" mosquitto on 127.0.0.1. See bench/bridge/README.md.
 *
 *   npm run bench:bridge -- [--only throughput,latency-500,outage,backlog,fleet] [--duration 10] [--side ours|mosquitto|both]
 *                           [--durability fsync|write] [--drain in_order|live_first] [--json FILE] [--warmup 2] [--outage 10] [--backlog 100000]
 *                           [--fleet 10] [--restart-timeout 2] [--mosquitto-max-queued N]
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { hasMosquitto } from '../broker/brokers.js';
import { cleanupAll, type Side } from './processes.js';
import { SCENARIOS, type BenchOptions, type RunResult, type Scenario } from './scenarios.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    side: { type: 'string', default: 'both' },
    durability: { type: 'string', default: 'fsync' },
    drain: { type: 'string', default: 'in_order' },
    json: { type: 'string' },
    outage: { type: 'string', default: '10' },
    backlog: { type: 'string', default: '100000' },
    fleet: { type: 'string', default: '10' },
    'restart-timeout': { type: 'string', default: '2' },
    'mosquitto-max-queued': { type: 'string' },
  },
});

const number = (name: string, value: string | undefined, min: number, max: number): number => {
  const n = Number(value);
  if (!(n >= min && n <= max)) throw new Error(`--${name}: a number from ${min} to ${max}`);
  return n;
};

const options: BenchOptions = {
  durationSeconds: number('duration', values.duration, 2, 120),
  warmupSeconds: number('warmup', values.warmup, 0, 30),
  outageSeconds: number('outage', values.outage, 1, 60),
  backlog: Math.round(number('backlog', values.backlog, 100, 1_000_000)),
  fleet: Math.round(number('fleet', values.fleet, 1, 50)),
  durability: values.durability === 'write' ? 'write' : 'fsync',
  drain: values.drain === 'live_first' ? 'live_first' : 'in_order',
  restartTimeout: number('restart-timeout', values['restart-timeout'], 0.1, 60),
  mosquittoMaxQueued: values['mosquitto-max-queued'] === undefined ? undefined : Math.round(number('mosquitto-max-queued', values['mosquitto-max-queued'], 0, 10_000_000)),
};
if (values.durability !== 'fsync' && values.durability !== 'write') throw new Error('--durability: fsync or write');
if (values.drain !== 'in_order' && values.drain !== 'live_first') throw new Error('--drain: in_order or live_first');
const sides: Side[] = values.side === 'both' ? ['ours', 'mosquitto'] : values.side === 'ours' || values.side === 'mosquitto' ? [values.side] : [];
if (sides.length === 0) throw new Error('--side: ours, mosquitto or both');
if (!hasMosquitto()) throw new Error('mosquitto is not installed (/usr/sbin/mosquitto): the cloud is a mosquitto');
const only = values.only?.split(',').map((s) => s.trim());
const scenarios = only ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
if (only && scenarios.length !== only.length) throw new Error(`--only: unknown scenario; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);

// Whatever happens, no process or temp dir stays behind; and the whole run is bounded.
let exiting = false;
const bail = async (code: number, why: string) => {
  if (exiting) return;
  exiting = true;
  console.error(why);
  await cleanupAll();
  process.exit(code);
};
process.once('SIGINT', () => void bail(130, 'interrupted: cleaning up'));
process.once('SIGTERM', () => void bail(143, 'terminated: cleaning up'));
process.on('uncaughtException', (error) => void bail(1, `failed: ${error.stack ?? String(error)}`));
process.on('unhandledRejection', (error) => void bail(1, `failed: ${(error as Error)?.stack ?? String(error)}`));
const budgetMinutes = 30;
setTimeout(() => void bail(1, `the run took more than ${budgetMinutes} min: stopped`), budgetMinutes * 60_000).unref();

console.log(
  `bridge bench: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ` +
    `ours with durability ${options.durability}, drain ${options.drain}; restart_timeout ${options.restartTimeout} s on both sides; ` +
    `mosquitto's bridge with max_queued_messages ${options.mosquittoMaxQueued ?? '1000 (its default)'}; a fresh cloud mosquitto per scenario and side`,
);

const results: Record<string, Partial<Record<Side, RunResult>>> = {};
const failures: string[] = [];
for (const scenario of scenarios) {
  results[scenario.name] = {};
  for (const side of sides.filter((s) => scenario.sides.includes(s))) {
    const started = performance.now();
    try {
      const result = await scenario.run(side, options);
      results[scenario.name]![side] = result;
      console.log(`${side.padEnd(9)} ${scenario.name.padEnd(12)} done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    } catch (error) {
      failures.push(`${scenario.name} (${side}): ${(error as Error).message}`);
      console.error(`${side.padEnd(9)} ${scenario.name.padEnd(12)} FAILED: ${(error as Error).stack ?? String(error)}`);
    } finally {
      await cleanupAll();
    }
  }
  console.log(`\n${formatTable(scenario, results[scenario.name]!)}\n`);
}

if (values.json) {
  await writeFile(values.json, `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, options, results, failures }, null, 2)}\n`);
  console.log(`written: ${values.json}`);
}
if (failures.length > 0) {
  console.error(`failed:\n  ${failures.join('\n  ')}`);
  process.exitCode = 1;
}

function formatTable(scenario: Scenario, byside: Partial<Record<Side, RunResult>>): string {
  const ours = byside.ours?.metrics;
  const mosq = byside.mosquitto?.metrics;
  const fmt = (v: number | undefined, digits: number) => (v === undefined || Number.isNaN(v) ? '' : v.toFixed(digits));
  const rows: string[][] = [[scenario.name, 'ours', 'mosquitto', 'ours/mosq']];
  for (const metric of scenario.metrics) {
    const a = ours?.[metric.key];
    const b = mosq?.[metric.key];
    if (a === undefined && b === undefined) continue;
    const ratio = metric.ratio && a !== undefined && b !== undefined && b !== 0 ? `${(a / b).toFixed(2)}×` : '';
    rows.push([metric.label, fmt(a, metric.digits), fmt(b, metric.digits), ratio]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const notes = [...(byside.ours?.notes ?? []), ...(byside.mosquitto?.notes ?? [])];
  return [line(rows[0]!), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.slice(1).map(line), ...notes.map((n) => `  ${n}`)].join('\n');
}
