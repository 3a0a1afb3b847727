/**
 * Broker benchmark: the embedded broker (a separate process, durable persistence on) against Debian's mosquitto.
 *   npm run bench:broker -- [--duration 5] [--warmup 5] [--only fanin-q1,idle] [--broker ours|mosquitto|both] [--json out.json]
 *                           [--repeat N] [--max-steal PCT] [--client wire|mqttjs] [--clean-subscribers] [--max-inflight N]
 *                           [--slice S] [--sequential]
 *                           [--cpu-prof DIR] [--heap-snapshot DIR] [--alloc-profile DIR]
 *                           [--persistence on|off]   (off: ours in memory, for experiments only)
 * --broker takes a list too: ours,mosquitto,floor. `floor` is node-floor.ts, a Node process that only forwards frames:
 * what any broker running on Node pays per message, for the fixed-rate scenarios (it has no flow control at full rate).
 * --repeat N runs every scenario N times, the brokers taking turns, and reports the median of each figure (losses
 * added up): on a shared VM one run's tail latency says more about the neighbours than about the broker.
 * --warmup S: load before the measured window. Our broker is JIT-compiled: in quiet runs with 1 s of warm-up, most of
 * its fixed-rate latency tail fell in the first two measured seconds, while V8 was still optimising the hot path.
 * --alloc-profile DIR samples what our broker allocates during each load scenario's measured window (objects already
 * collected included) and reports bytes per delivery; the sampling costs CPU, so read only that figure from such runs.
 * Fixed-rate scenarios (*-2k) with more than one broker run them all at once, taking turns: each gets the load alone
 * for --slice S seconds (default 1), in turn, until each has had --duration; see runInterleaved in scenarios.ts.
 * --sequential measures them one after the other instead, as the full-rate ones always are.
 * --max-steal PCT runs a load scenario again (up to 4 more times) when the hypervisor withheld more than PCT % of
 * a core during its measured window; a run that never got under it is kept and flagged.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hasMosquitto, startBroker, type BrokerKind, type BrokerProcess, type StartOptions } from './brokers.js';
import type { ClientKind } from './client.js';
import { SCENARIOS, type Scenario, type ScenarioResult } from './scenarios.js';
import { checkGoals, combineRuns, formatGoals, formatTable } from './report.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '5' },
    only: { type: 'string' },
    broker: { type: 'string', default: 'both' },
    json: { type: 'string' },
    client: { type: 'string', default: 'wire' },
    'clean-subscribers': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'heap-snapshot': { type: 'string' },
    'alloc-profile': { type: 'string' },
    persistence: { type: 'string', default: 'on' },
    'max-inflight': { type: 'string' },
    repeat: { type: 'string', default: '1' },
    'max-steal': { type: 'string' },
    sequential: { type: 'boolean', default: false },
    slice: { type: 'string', default: '1' },
  },
});

const durationSeconds = Number(values.duration);
if (!(durationSeconds > 0 && durationSeconds <= 60)) throw new Error('--duration: seconds, 1 to 60');
const warmupSeconds = Number(values.warmup);
if (!(warmupSeconds >= 0 && warmupSeconds <= 60)) throw new Error('--warmup: seconds, 0 to 60');
const repeat = Number(values.repeat);
if (!(Number.isInteger(repeat) && repeat >= 1 && repeat <= 50)) throw new Error('--repeat: runs per scenario, 1 to 50');
const maxSteal = values['max-steal'] === undefined ? undefined : Number(values['max-steal']);
if (maxSteal !== undefined && !(maxSteal >= 0)) throw new Error('--max-steal: a percentage of one core, e.g. 10');
const sliceSeconds = Number(values.slice);
if (!(sliceSeconds >= 0.1 && sliceSeconds <= 60)) throw new Error('--slice: seconds, 0.1 to 60');
const ATTEMPTS = 5;
const client = values.client as ClientKind;
if (client !== 'wire' && client !== 'mqttjs') throw new Error('--client: wire or mqttjs');
const only = values.only?.split(',').map((s) => s.trim());
const scenarios = only ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
if (only && scenarios.length !== only.length) {
  throw new Error(`--only: unknown scenario; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
}
const KINDS: readonly BrokerKind[] = ['ours', 'mosquitto', 'floor'];
const kinds = [...new Set((values.broker === 'both' ? 'ours,mosquitto' : values.broker!).split(',').map((k) => k.trim()))] as BrokerKind[];
if (kinds.length === 0 || kinds.some((k) => !KINDS.includes(k))) {
  throw new Error('--broker: ours, mosquitto, both, floor (the floor of a Node broker, node-floor.ts), or a list: ours,mosquitto,floor');
}
if (kinds.includes('mosquitto') && !hasMosquitto()) {
  console.warn('mosquitto is not installed (/usr/sbin/mosquitto): measuring without it');
  kinds.splice(kinds.indexOf('mosquitto'), 1);
}

const runs: Record<BrokerKind, Record<string, ScenarioResult[]>> = { ours: {}, mosquitto: {}, floor: {} };
const commands: Partial<Record<BrokerKind, string>> = {};

console.log(
  `broker bench: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}, ` +
    `${durationSeconds} s per load scenario after ${warmupSeconds} s of warm-up, client ${client}, QoS 1 subscribers ${values['clean-subscribers'] ? 'clean' : 'persistent'}` +
    (repeat > 1 ? `, ${repeat} runs each, brokers taking turns` : ''),
);
for (let round = 1; round <= repeat; round++) {
  for (const scenario of scenarios) {
    if (interleaves(scenario)) {
      const prefixes = kinds.map((kind) => `${repeat > 1 ? `[${round}/${repeat}] ` : ''}${kind.padEnd(9)} ${scenario.name.padEnd(13)}`);
      let results = await runInterleaved(scenario);
      for (let attempt = 2; results.some(noisy) && attempt <= ATTEMPTS; attempt++) {
        results.forEach((result, i) => console.log(`${prefixes[i]} ${summary(result)}: run again`));
        results = await runInterleaved(scenario);
      }
      results.forEach((result, i) => {
        (runs[kinds[i]!][scenario.name] ??= []).push(result);
        console.log(`${prefixes[i]} ${summary(result)}`);
      });
      continue;
    }
    for (const kind of kinds) {
      const prefix = `${repeat > 1 ? `[${round}/${repeat}] ` : ''}${kind.padEnd(9)} ${scenario.name.padEnd(13)}`;
      let result = await runOnce(kind, scenario);
      for (let attempt = 2; noisy(result) && attempt <= ATTEMPTS; attempt++) {
        console.log(`${prefix} ${summary(result)}: run again`);
        result = await runOnce(kind, scenario);
      }
      (runs[kind][scenario.name] ??= []).push(result);
      console.log(`${prefix} ${summary(result)}`);
    }
  }
}
const results = { ours: combineRuns(runs.ours), mosquitto: combineRuns(runs.mosquitto), floor: combineRuns(runs.floor) };

console.log('');
for (const [kind, command] of Object.entries(commands)) console.log(`${kind}: ${command}`);
console.log('');
if (repeat > 1) console.log(`Medians of ${repeat} runs (lost, dup and reordered: totals):`);
console.log(formatTable(scenarios.map((s) => s.name), results));
const goals = checkGoals(results);
if (goals.length > 0) {
  console.log('');
  console.log(formatGoals(goals));
}
if (values.json) {
  await writeFile(
    values.json,
    `${JSON.stringify({ machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, durationSeconds, warmupSeconds, client, repeat, commands, results, runs, goals }, null, 2)}\n`,
  );
}

/** Fixed-rate scenarios with more than one broker take turns in slices, unless told otherwise or profiling memory. */
function interleaves(scenario: Scenario): boolean {
  return scenario.interleave !== undefined && kinds.length > 1 && !values.sequential && !values['alloc-profile'];
}

async function startOptions(kind: BrokerKind, scenario: Scenario): Promise<StartOptions> {
  const options: StartOptions = { persistence: values.persistence !== 'off' };
  if (values['max-inflight'] !== undefined) options.maxInflight = Number(values['max-inflight']);
  if (kind === 'ours' && values['cpu-prof']) {
    const dir = path.resolve(values['cpu-prof'], scenario.name);
    await mkdir(dir, { recursive: true });
    options.nodeFlags = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  }
  return options;
}

async function runInterleaved(scenario: Scenario): Promise<ScenarioResult[]> {
  const brokers: BrokerProcess[] = [];
  try {
    for (const kind of kinds) {
      const broker = await startBroker(kind, await startOptions(kind, scenario));
      commands[kind] = broker.command;
      brokers.push(broker);
    }
    return await scenario.interleave!({ brokers, client, durationSeconds, warmupSeconds, sliceSeconds, cleanSubscribers: values['clean-subscribers'] });
  } finally {
    await Promise.all(brokers.map((broker) => broker.stop()));
    await settleDisk();
  }
}

/**
 * What a broker wrote (our journal under full load: megabytes) is written back by the kernel after it exits; without
 * this the next scenario measures that writeback as "other CPU" and in its tail latency.
 */
async function settleDisk(): Promise<void> {
  execFileSync('sync');
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

async function runOnce(kind: BrokerKind, scenario: Scenario): Promise<ScenarioResult> {
  const options = await startOptions(kind, scenario);
  if (kind === 'ours' && values['heap-snapshot'] && scenario.name === 'idle') {
    const dir = path.resolve(values['heap-snapshot']);
    await mkdir(dir, { recursive: true });
    options.nodeFlags = [...(options.nodeFlags ?? []), '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`];
    options.outDir = dir;
  }
  let allocFile: string | undefined;
  if (kind === 'ours' && values['alloc-profile']) {
    const dir = path.resolve(values['alloc-profile']);
    await mkdir(dir, { recursive: true });
    allocFile = path.join(dir, `${scenario.name}-${Date.now()}.heapprofile`);
    options.nodeFlags = [...(options.nodeFlags ?? []), '--import', fileURLToPath(new URL('./alloc-sampler.mjs', import.meta.url))];
    options.env = { ...options.env, ALLOC_PROFILE_FILE: allocFile };
  }
  const broker = await startBroker(kind, options);
  commands[kind] = broker.command;
  try {
    const result = await scenario.run({
      broker,
      client,
      durationSeconds,
      warmupSeconds,
      cleanSubscribers: values['clean-subscribers'],
      onIdle: options.outDir ? (b) => heapSnapshot(b.pid, options.outDir!) : undefined,
      onWindow: allocFile ? async (_phase, b) => void process.kill(b.pid, 'SIGUSR2') : undefined,
    });
    if (allocFile && result.msgsPerSec) {
      const { bytes } = JSON.parse(await waitForFile(`${allocFile}.json`)) as { bytes: number };
      result.allocBytesPerMsg = bytes / (result.msgsPerSec * durationSeconds);
    }
    return result;
  } finally {
    await broker.stop();
    await settleDisk();
  }
}

function noisy(r: ScenarioResult): boolean {
  return maxSteal !== undefined && r.stealCpuPct !== undefined && r.stealCpuPct > maxSteal;
}

function summary(r: ScenarioResult): string {
  const parts: string[] = [];
  if (r.msgsPerSec !== undefined) parts.push(`${Math.round(r.msgsPerSec)} msg/s`);
  if (r.p50Ms !== undefined) parts.push(`p50 ${r.p50Ms.toFixed(2)} ms p99 ${r.p99Ms!.toFixed(2)} ms`);
  if (r.lost !== undefined) parts.push(`lost ${r.lost}`);
  if (r.duplicates) parts.push(`dup ${r.duplicates}`);
  if (r.reordered) parts.push(`reordered ${r.reordered}`);
  if (r.cpuUsPerMsg !== undefined) parts.push(`${r.cpuUsPerMsg.toFixed(1)} µs CPU/msg`);
  if (r.brokerCpuPct !== undefined) {
    parts.push(`broker ${Math.round(r.brokerCpuPct)}% loadgen ${Math.round(r.loadgenCpuPct!)}% other ${Math.round(r.otherCpuPct!)}% steal ${Math.round(r.stealCpuPct!)}%`);
  }
  if (r.kibPerConnection !== undefined) parts.push(`${r.kibPerConnection.toFixed(1)} KiB/conn`);
  if (r.replayMs !== undefined) parts.push(`replay ${Math.round(r.replayMs)} ms`);
  if (r.rssKiB !== undefined) parts.push(`RSS ${(r.rssKiB / 1024).toFixed(0)} MiB`);
  if (r.allocBytesPerMsg !== undefined) parts.push(`${Math.round(r.allocBytesPerMsg)} B allocated/msg`);
  if (noisy(r)) parts.push(`steal over ${maxSteal} %`);
  return parts.join(', ');
}

async function waitForFile(file: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** SIGUSR2 makes node write a heap snapshot into --diagnostic-dir; wait until the file is complete. */
async function heapSnapshot(pid: number, dir: string): Promise<void> {
  const before = new Set(await readdir(dir));
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const fresh = (await readdir(dir)).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (fresh.length > 0) {
      // the file appears when node starts writing it: wait until its size stops changing
      const file = path.join(dir, fresh[0]!);
      let size = -1;
      while ((await stat(file)).size !== size) {
        size = (await stat(file)).size;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      console.log(`heap snapshot: ${file}`);
      return;
    }
  }
}
