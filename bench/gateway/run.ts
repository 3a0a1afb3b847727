/**
 * Gateway benchmark (issue 4): the whole gateway as a separate process on simulated hardware, embedded broker included.
 *   npx tsx bench/gateway/run.ts [--minutes 10] [--cpu-seconds 60] [--warmup-seconds 15] [--runs 5]
 *                                [--runtime auto|dist|build|tsx] [--only startup,cpu,rss] [--json out.json]
 *
 *   (a) rss      RSS of the demo config (config/demo.yaml) after --minutes.           target < 80 MiB after 10 min
 *   (b) cpu      CPU at rest, 10 sensors at 5 s, over --cpu-seconds after warm-up.   target < 2 %
 *   (c) startup  process start → first reading published, median of --runs.        target < 1.5 s
 *
 * --runtime: `dist` runs dist/src/cli/main.js (npm run build); `build` compiles into a temporary directory first
 * (tsc -p tsconfig.build.json --outDir ...), leaving dist/ alone; `tsx` runs the sources through tsx, whose
 * transpiling adds start-up time and memory the installed product does not have; `auto`: dist if built, else tsx.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { demoConfigText } from '../../test/helpers/demo-config.js';
import { freePort } from '../../test/helpers/free-port.js';
import { shebangNodeFlags } from '../node-flags.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'cpu-seconds': { type: 'string', default: '60' },
    'warmup-seconds': { type: 'string', default: '15' },
    runs: { type: 'string', default: '5' },
    runtime: { type: 'string', default: 'auto' },
    only: { type: 'string' },
    json: { type: 'string' },
  },
});

const minutes = Number(values.minutes);
const cpuSeconds = Number(values['cpu-seconds']);
const warmupSeconds = Number(values['warmup-seconds']);
const runs = Number(values.runs);
if (!(minutes > 0)) throw new Error('--minutes: a positive number');
if (!(cpuSeconds > 0) || !(warmupSeconds >= 0)) throw new Error('--cpu-seconds > 0, --warmup-seconds >= 0');
if (!(Number.isInteger(runs) && runs > 0)) throw new Error('--runs: a positive integer');
const MEASUREMENTS = ['startup', 'cpu', 'rss'] as const;
type Measurement = (typeof MEASUREMENTS)[number];
const only = (values.only?.split(',').map((s) => s.trim()) ?? [...MEASUREMENTS]) as Measurement[];
for (const name of only) if (!MEASUREMENTS.includes(name)) throw new Error(`--only: one of ${MEASUREMENTS.join(', ')}`);

interface Runtime {
  kind: 'dist' | 'build' | 'tsx';
  /** node arguments before `run --config FILE`. */
  args: string[];
  cwd: string;
  cleanup(): Promise<void>;
}

async function prepareRuntime(requested: string): Promise<Runtime> {
  const distMain = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  const kind = requested === 'auto' ? (existsSync(distMain) ? 'dist' : 'tsx') : requested;
  switch (kind) {
    case 'dist':
      if (!existsSync(distMain)) throw new Error('dist/ is not built: npm run build, or --runtime build');
      return { kind, args: [...shebangNodeFlags(distMain), distMain], cwd: repoRoot, cleanup: async () => {} };
    case 'build': {
      const outDir = await mkdtemp(path.join(os.tmpdir(), 'pi-edge-bench-build-'));
      process.stdout.write(`compiling into ${outDir} ... `);
      const started = Date.now();
      execFileSync(path.join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--outDir', outDir, '--sourceMap', 'false', '--declaration', 'false'], {
        cwd: repoRoot,
        stdio: 'inherit',
      });
      console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
      // ESM scope and the package's identity for the compiled files, and the repository's dependencies.
      const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };
      await writeFile(path.join(outDir, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module' }));
      await symlink(path.join(repoRoot, 'node_modules'), path.join(outDir, 'node_modules'), 'dir');
      const main = path.join(outDir, 'src', 'cli', 'main.js');
      return { kind, args: [...shebangNodeFlags(main), main], cwd: outDir, cleanup: () => rm(outDir, { recursive: true, force: true }) };
    }
    case 'tsx': {
      const source = path.join(repoRoot, 'src', 'cli', 'main.ts');
      return { kind, args: [...shebangNodeFlags(source), '--import', 'tsx', source], cwd: repoRoot, cleanup: async () => {} };
    }
    default:
      throw new Error('--runtime: auto, dist, build or tsx');
  }
}


/** config/demo.yaml (what `npm start` runs) on `port`, with its state under `stateDir`. */
function demoConfig(port: number, stateDir: string): Promise<string> {
  return demoConfigText(port, stateDir);
}

/** 10 sensors at 5 s on the simulated Pi: the four I2C chips, the DS18B20 and five DHT22s. */
function tenSensorConfig(port: number, stateDir: string): string {
  const dhtPins = [4, 5, 6, 12, 13];
  return `gateway:
  id: bench-pi
  base_topic: pi-edge
  state_dir: ${JSON.stringify(stateDir)}
hardware:
  mode: simulated
broker:
  listeners:
    - { protocol: mqtt, host: 127.0.0.1, port: ${port} }
sensors:
  - { kind: bme280, name: climate, interval: 5s, filters: { temperature: [{ round: 2 }] } }
  - { kind: sht3x, name: air, interval: 5s }
  - { kind: bh1750, name: light, interval: 5s }
  - { kind: ads1115, name: adc, inputs: [0, 1], interval: 5s }
  - { kind: ds18b20, name: water, interval: 5s }
${dhtPins.map((pin, i) => `  - { kind: dht22, name: dht${i + 1}, pin: ${pin}, interval: 5s, filters: { humidity: [{ round: 0 }] } }`).join('\n')}
inputs:
  - { name: button, pin: 17, active_low: true }
outputs:
  - { name: led, pin: 27 }
`;
}

interface Gateway {
  child: ChildProcess;
  spawnedAt: number;
  port: number;
  stderr(): string;
  stop(): Promise<number | null>;
}

async function startProcess(runtime: Runtime, configText: string, dir: string, port: number): Promise<Gateway> {
  const file = path.join(dir, 'bench.yaml');
  await writeFile(file, configText);
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [...runtime.args, 'run', '--config', file], {
    cwd: runtime.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    spawnedAt,
    port,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Connects as soon as the broker listens (retrying), subscribed to every state topic. */
async function subscriber(gw: Gateway, deadlineMs = 15_000): Promise<MqttClient> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (gw.child.exitCode !== null) throw new Error(`the gateway exited (${gw.child.exitCode}):\n${gw.stderr()}`);
    try {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.port}`, { reconnectPeriod: 0, connectTimeout: 1000 });
      await client.subscribeAsync('pi-edge/+/state', { qos: 1 });
      return client;
    } catch (error) {
      if (Date.now() > until) throw error;
      await sleep(10);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SENSOR_STATES = /^pi-edge\/(climate|porch|air|light|adc|water|dht\d+)\/state$/;

/** RSS and CPU ticks of a process, from /proc. */
async function procStats(pid: number): Promise<{ rssKiB: number; hwmKiB: number; cpuTicks: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

interface Row {
  metric: string;
  value: string;
  target: string;
  pass: boolean;
  detail: string;
}

async function withGateway<T>(runtime: Runtime, config: (port: number, stateDir: string) => Promise<string> | string, body: (gw: Gateway) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pi-edge-bench-'));
  await mkdir(path.join(dir, 'state'));
  const port = await freePort();
  const gw = await startProcess(runtime, await config(port, path.join(dir, 'state')), dir, port);
  try {
    return await body(gw);
  } finally {
    const code = await gw.stop();
    if (code !== 0) console.warn(`gateway exited with ${code}:\n${gw.stderr()}`);
    await rm(dir, { recursive: true, force: true });
  }
}

/** (c) spawn → first sensor reading, by the reading's own timestamp and by its arrival here. */
async function measureStartup(runtime: Runtime): Promise<Row> {
  const published: number[] = [];
  const received: number[] = [];
  for (let i = 0; i < runs; i++) {
    await withGateway(runtime, demoConfig, async (gw) => {
      const client = await subscriber(gw);
      const first = await new Promise<{ at: number; time: number }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no reading within 15 s')), 15_000);
        client.on('message', (topic, payload) => {
          if (!SENSOR_STATES.test(topic)) return;
          clearTimeout(timer);
          resolve({ at: Date.now(), time: Date.parse((JSON.parse(payload.toString()) as { time: string }).time) });
        });
      });
      await client.endAsync(true);
      published.push(first.time - gw.spawnedAt);
      received.push(first.at - gw.spawnedAt);
    });
    await sleep(300);
  }
  const value = median(published) / 1000;
  return {
    metric: `first reading after start (median of ${runs})`,
    value: `${value.toFixed(2)} s`,
    target: '< 1.5 s',
    pass: value < 1.5,
    detail: `published at ${published.map((ms) => ms).join(', ')} ms; received at ${received.join(', ')} ms after spawn`,
  };
}

/** (b) CPU% of the gateway process at rest, 10 sensors at 5 s, one idle subscriber. */
async function measureCpu(runtime: Runtime): Promise<Row> {
  return withGateway(runtime, tenSensorConfig, async (gw) => {
    const client = await subscriber(gw);
    const topics = new Set<string>();
    let readings = 0;
    client.on('message', (topic) => {
      if (!SENSOR_STATES.test(topic)) return;
      topics.add(topic);
      readings++;
    });
    await sleep(warmupSeconds * 1000);
    const hz = clockTicksPerSecond();
    const before = await procStats(gw.child.pid!);
    const t0 = process.hrtime.bigint();
    const readingsBefore = readings;
    await sleep(cpuSeconds * 1000);
    const after = await procStats(gw.child.pid!);
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    await client.endAsync(true);
    const percent = ((after.cpuTicks - before.cpuTicks) / hz / elapsed) * 100;
    return {
      metric: `CPU at rest, 10 sensors @ 5 s (${cpuSeconds} s after ${warmupSeconds} s warm-up)`,
      value: `${percent.toFixed(2)} %`,
      target: '< 2 %',
      pass: percent < 2 && topics.size === 10,
      detail: `${after.cpuTicks - before.cpuTicks} ticks @ ${hz} Hz over ${elapsed.toFixed(1)} s; ${readings - readingsBefore} readings from ${topics.size}/10 sensors; RSS ${(after.rssKiB / 1024).toFixed(1)} MiB`,
    };
  });
}

/** (a) RSS of the demo after N minutes, sampled every 10 s (one subscriber attached, as a dashboard would be). */
async function measureRss(runtime: Runtime): Promise<Row> {
  return withGateway(runtime, demoConfig, async (gw) => {
    const client = await subscriber(gw);
    let readings = 0;
    client.on('message', (topic) => void (SENSOR_STATES.test(topic) && readings++));
    const samples: { at: number; rssKiB: number }[] = [];
    const end = Date.now() + minutes * 60_000;
    while (Date.now() < end) {
      await sleep(Math.min(10_000, end - Date.now()));
      if (gw.child.exitCode !== null) throw new Error(`the gateway exited (${gw.child.exitCode}):\n${gw.stderr()}`);
      const stats = await procStats(gw.child.pid!);
      samples.push({ at: Date.now() - gw.spawnedAt, rssKiB: stats.rssKiB });
      const elapsedMin = (Date.now() - gw.spawnedAt) / 60_000;
      if (samples.length % 6 === 0) console.log(`  rss ${elapsedMin.toFixed(1)} min: ${(stats.rssKiB / 1024).toFixed(1)} MiB`);
    }
    const last = await procStats(gw.child.pid!);
    await client.endAsync(true);
    const mib = last.rssKiB / 1024;
    const firstMinute = samples.filter((s) => s.at <= 70_000).at(-1) ?? samples[0]!;
    return {
      metric: `RSS of the demo after ${minutes} min`,
      value: `${mib.toFixed(1)} MiB`,
      target: '< 80 MiB (after 10 min)',
      pass: mib < 80 && readings > 0,
      detail: `peak (VmHWM) ${(last.hwmKiB / 1024).toFixed(1)} MiB; at ~1 min ${(firstMinute.rssKiB / 1024).toFixed(1)} MiB; ${readings} readings received`,
    };
  });
}

function table(rows: Row[]): string {
  const header = ['metric', 'value', 'target', 'result'];
  const body = rows.map((r) => [r.metric, r.value, r.target, r.pass ? 'PASS' : 'FAIL']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

const runtime = await prepareRuntime(values.runtime);
console.log(
  `gateway bench: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}, runtime ${runtime.kind}` +
    (runtime.kind === 'tsx' ? ' (sources through tsx: its transpiling adds start-up time and memory the installed product does not have)' : ' (compiled JS)') +
    `, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
);
const rows: Row[] = [];
try {
  for (const name of MEASUREMENTS.filter((m) => only.includes(m))) {
    console.log(`measuring ${name} ...`);
    const row = name === 'startup' ? await measureStartup(runtime) : name === 'cpu' ? await measureCpu(runtime) : await measureRss(runtime);
    console.log(`  ${row.value}: ${row.detail}`);
    rows.push(row);
  }
} finally {
  await runtime.cleanup();
}
console.log(`\n${table(rows)}\n`);
for (const row of rows) console.log(`${row.metric}: ${row.detail}`);
if (minutes < 10 && only.includes('rss')) console.log(`\nNote: RSS measured after ${minutes} min, not the 10 min of the target.`);
if (values.json) await writeFile(values.json, JSON.stringify({ runtime: runtime.kind, node: process.version, minutes, rows }, null, 2));
process.exitCode = rows.every((r) => r.pass) ? 0 : 1;
