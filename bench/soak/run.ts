/**
 * Soak: `npm run bench:soak -- --minutes 10 [--memory-max 256M]` runs the demo (config/demo.yaml: simulated
 * hardware, the embedded broker, the HTTP server) as the `pi-edge-gateway run` process, with 100 MQTT clients
 * publishing 500 msg/s in all (QoS 0 and 1 in turn, each client subscribed to its neighbour's topic), and samples
 * from outside the gateway's RSS (/proc/PID/status) and event-loop lag (its /metrics) every few seconds.
 *
 * Passes when: the gateway is alive at the end, no QoS 1 message acknowledged by the broker was lost, the demo's
 * sensors kept publishing, no OOM kill happened under --memory-max, and RSS stopped growing after warm-up: the
 * least-squares slope of RSS over the second half of the run is under --max-slope MiB/min (default 1).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { gatewayNodeArgs, gatewayNodeEnv } from '../node-flags.js';
import { freePort } from '../../test/helpers/free-port.js';
import { memoryLimit, type MemoryLimit } from './memory-cgroup.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    clients: { type: 'string', default: '100' },
    rate: { type: 'string', default: '500' },
    'memory-max': { type: 'string' },
    'max-slope': { type: 'string', default: '1' },
    'sample-seconds': { type: 'string', default: '5' },
  },
});
const minutes = Number(values.minutes);
const clientCount = Number(values.clients);
const rate = Number(values.rate);
const maxSlope = Number(values['max-slope']);
const sampleMs = Number(values['sample-seconds']) * 1000;

interface Sample {
  atS: number;
  rssMiB: number;
  lagMs: number | undefined;
  lagP99Ms: number | undefined;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-soak-'));
const [mqttPort, httpPort] = [await freePort(), await freePort()];
const demo = await readFile(path.join(ROOT, 'config/demo.yaml'), 'utf8');
const config = demo
  .replace(/^(\s*port:\s*)1883\s*$/m, `$1${mqttPort}`)
  .replace(/^(\s*port:\s*)9188\s*$/m, `$1${httpPort}`)
  .replace(/^(\s*state_dir:\s*).*$/m, `$1${JSON.stringify(path.join(dir, 'state'))}`)
  .replace(/^# yaml-language-server.*$/m, '');
if (!config.includes(`port: ${mqttPort}`) || !config.includes(`port: ${httpPort}`)) throw new Error('config/demo.yaml: no MQTT 1883 / HTTP 9188 port line to replace');
const configFile = path.join(dir, 'demo.yaml');
await writeFile(configFile, config);

// As the other benches start ours: compiled when built, else through tsx; with the CLI's own node flags.
let command = { file: process.execPath, args: [...gatewayNodeArgs(ROOT), 'run', '--config', configFile] };
let limit: MemoryLimit | undefined;
if (values['memory-max']) {
  limit = memoryLimit(parseBytes(values['memory-max']), 'pi-edge-soak');
  command = limit.wrap(command.file, command.args);
}
const logFile = path.join(dir, 'gateway.log');
const fd = openSync(logFile, 'a');
const gateway = spawn(command.file, command.args, { cwd: ROOT, stdio: ['ignore', fd, fd], env: { ...process.env, NODE_OPTIONS: '', ...gatewayNodeEnv(ROOT) } });
closeSync(fd);
let exit: string | undefined;
gateway.once('exit', (code, signal) => (exit = signal ?? `exit code ${code}`));
const cleanup = async () => {
  if (!exit) {
    gateway.kill('SIGTERM');
    await new Promise((resolve) => gateway.once('exit', resolve));
  }
  limit?.remove();
  await rm(dir, { recursive: true, force: true });
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  await waitForPort(mqttPort, 120_000);
  await waitForPort(httpPort, 30_000);
  const pid = gateway.pid!; // the shell of a cgroup wrap exec()s into node: the same pid
  console.log(`soak: ${minutes} min, ${clientCount} clients, ${rate} msg/s, gateway pid ${pid}${limit ? `, memory limit by ${limit.method}` : ''}`);
  if (limit) {
    const memoryCgroup = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n').find((line) => /memory|^0::/.test(line));
    console.log(`gateway's cgroup: ${memoryCgroup}`);
  }
  console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at start`);

  // The demo's own output: its sensors publish every 5 s; a gateway that stalls stops.
  let sensorMessages = 0;
  const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0, clientId: 'soak-watcher' });
  watcher.on('message', () => sensorMessages++);
  await watcher.subscribeAsync('pi-edge/+/state');

  const load = await startLoad(mqttPort, clientCount, rate);
  const samples: Sample[] = [];
  const started = Date.now();
  const endAt = started + minutes * 60_000;
  while (Date.now() < endAt && !exit) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(sampleMs, Math.max(0, endAt - Date.now()))));
    if (exit) break;
    const sample: Sample = { atS: (Date.now() - started) / 1000, rssMiB: (await rssKiB(pid)) / 1024, ...(await lag(httpPort)) };
    samples.push(sample);
    if (samples.length % Math.max(1, Math.round(30_000 / sampleMs)) === 0) {
      console.log(`  ${sample.atS.toFixed(0).padStart(5)} s  RSS ${sample.rssMiB.toFixed(1)} MiB  lag ${fmt(sample.lagMs)} ms (p99 ${fmt(sample.lagP99Ms)} ms)  sent ${load.sent()}  received ${load.received()}`);
    }
  }
  const totals = await load.stop();
  await watcher.endAsync();
  const oom = limit?.oomKills();

  const secondHalf = samples.filter((s) => s.atS >= (minutes * 60) / 2);
  const slope = slopePerMinute(secondHalf);
  const rss = samples.map((s) => s.rssMiB);
  const lags = samples.map((s) => s.lagP99Ms).filter((l): l is number => l !== undefined);
  const pass = !exit && totals.lost === 0 && sensorMessages > 0 && (oom ?? 0) === 0 && slope < maxSlope;
  console.log(
    [
      `summary: ${pass ? 'PASS' : 'FAIL'}`,
      `  gateway: ${exit ? `EXITED (${exit})` : 'alive'} after ${((Date.now() - started) / 60_000).toFixed(1)} min; OOM kills: ${oom ?? (limit ? 'unknown' : 'no limit set')}`,
      `  load: ${totals.sent} published (${totals.acknowledged} QoS 1 acknowledged), ${totals.received} delivered, ${totals.lost} QoS 1 lost, ${totals.errors} client errors; demo sensor messages seen: ${sensorMessages}`,
      `  RSS: first ${rss[0]?.toFixed(1)} MiB, peak ${Math.max(...rss).toFixed(1)} MiB, final ${rss.at(-1)?.toFixed(1)} MiB; slope over the second half ${slope.toFixed(2)} MiB/min (limit ${maxSlope})`,
      `  event-loop lag p99 (prom-client, per scrape): median ${fmt(median(lags))} ms, max ${fmt(Math.max(...lags))} ms`,
    ].join('\n'),
  );
  if (exit) console.log((await readFile(logFile, 'utf8')).slice(-3000));
  process.exitCode = pass ? 0 : 1;
} finally {
  await cleanup();
}

interface Load {
  sent(): number;
  received(): number;
  stop(): Promise<{ sent: number; acknowledged: number; received: number; lost: number; errors: number }>;
}

/** `count` clients, each publishing to soak/<i> and subscribed to soak/<i+1>; `rate` messages/s in all. */
async function startLoad(port: number, count: number, rate: number): Promise<Load> {
  const clients: MqttClient[] = [];
  const acknowledged = new Set<string>();
  const delivered = new Set<string>();
  let sent = 0;
  let received = 0;
  let errors = 0;
  for (let i = 0; i < count; i++) {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, clientId: `soak-${i}`, protocolVersion: 4 });
    client.on('error', () => errors++);
    client.on('message', (_topic, payload) => {
      received++;
      delivered.add(payload.toString());
    });
    await client.subscribeAsync(`soak/${(i + 1) % count}`, { qos: 1 });
    clients.push(client);
  }
  // Each client's messages are spread over the period, the clients offset from each other.
  const periodMs = (count / rate) * 1000;
  const timers: NodeJS.Timeout[] = [];
  clients.forEach((client, i) => {
    let n = 0;
    const start = setTimeout(() => {
      timers.push(
        setInterval(() => {
          const qos = n % 2 === 0 ? 0 : 1;
          const id = `${i}:${n++}`;
          sent++;
          client.publish(`soak/${i}`, id, { qos }, (error) => {
            if (error) errors++;
            else if (qos === 1) acknowledged.add(id);
          });
        }, periodMs),
      );
    }, (periodMs * i) / count);
    timers.push(start);
  });
  return {
    sent: () => sent,
    received: () => received,
    async stop() {
      for (const timer of timers) clearInterval(timer);
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && [...acknowledged].some((id) => !delivered.has(id))) await new Promise((resolve) => setTimeout(resolve, 100));
      const lost = [...acknowledged].filter((id) => !delivered.has(id)).length;
      await Promise.all(clients.map((client) => client.endAsync().catch(() => undefined)));
      return { sent, acknowledged: acknowledged.size, received, lost, errors };
    },
  };
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
}

/** The gateway's own event-loop lag, from its /metrics (prom-client's default metrics). */
async function lag(port: number): Promise<{ lagMs: number | undefined; lagP99Ms: number | undefined }> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const value = (name: string) => {
      const match = new RegExp(`^${name} ([0-9.eE+-]+)`, 'm').exec(text);
      return match ? Number(match[1]) * 1000 : undefined;
    };
    return { lagMs: value('pi_edge_gateway_nodejs_eventloop_lag_seconds'), lagP99Ms: value('pi_edge_gateway_nodejs_eventloop_lag_p99_seconds') };
  } catch {
    return { lagMs: undefined, lagP99Ms: undefined };
  }
}

/** Least-squares slope of RSS against time, in MiB per minute. */
function slopePerMinute(samples: Sample[]): number {
  if (samples.length < 2) return NaN;
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.atS / 60, 0) / n;
  const my = samples.reduce((a, s) => a + s.rssMiB, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.atS / 60 - mx) * (s.rssMiB - my);
    den += (s.atS / 60 - mx) ** 2;
  }
  return num / den;
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function fmt(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '?' : value.toFixed(1);
}

function parseBytes(text: string): number {
  const match = /^(\d+)([KMG]?)$/i.exec(text.trim());
  if (!match) throw new Error(`--memory-max: expected a size such as 256M, got ${text}`);
  return Number(match[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exit) throw new Error(`the gateway exited (${exit}):\n${(await readFile(logFile, 'utf8')).slice(-3000)}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not open after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
