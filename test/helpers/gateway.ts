import type { IClientOptions, MqttClient } from 'mqtt';
import { createSimulatedHardware, type SimulatedHardware } from '../../mocks/chips/simulated-hardware.js';
import { createSimulatedGpio, type SimulatedGpio } from '../../mocks/gpio/simulated-gpio.js';
import { startApplication, type Application } from '../../src/app/application.js';
import { parseConfig } from '../../src/app/config/load.js';
import type { AppConfig } from '../../src/app/config/schema.js';
import { simulatedGatewayHardware } from '../../src/gateway/hardware-setup.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';
import type { RecentWarnings } from '../../src/web/recent-warnings.js';
import { connectClient } from './broker.js';

export const TEST_BASE = 'test';
export const TEST_GATEWAY_ID = 'test-pi';

export interface TestConfigOptions {
  /** Absolute state_dir (broker persistence lives under it). Default: none needed, persistence is off. */
  stateDir?: string;
  persistence?: boolean;
  /** More keys of the `broker:` section (password_file, acl_file…), one `key: value` each. */
  broker?: string[];
}

/**
 * A complete config: loopback listener on a free port, no $SYS, in-memory broker unless asked, simulated hardware,
 * plus `devices` (YAML of sensors/inputs/outputs/commands/homeassistant sections, at the top level).
 */
export function testConfigYaml(devices: string, options: TestConfigOptions = {}): string {
  return `gateway:
  id: ${TEST_GATEWAY_ID}
  name: Test Pi
  base_topic: ${TEST_BASE}
  state_dir: ${JSON.stringify(options.stateDir ?? '/nonexistent/state')}
log:
  level: silent
hardware:
  mode: simulated
broker:
  listeners:
    - { protocol: mqtt, host: 127.0.0.1, port: 0 }
  persistence: ${options.persistence ?? false}
  sys_interval: 0
${(options.broker ?? []).map((line) => `  ${line}\n`).join('')}${devices}
`;
}

export interface GatewayUnderTest {
  running: Application;
  config: AppConfig;
  /** The simulated chips, DHTs and room: fault handles. */
  sim: SimulatedHardware;
  /** The simulated GPIO chip: drive inputs, read output levels. */
  gpio: SimulatedGpio;
  url: string;
  /** `<base>/<leaf>` */
  topic(leaf: string): string;
  /** An MQTT.js client on the gateway's broker, closed by stop(). */
  client(options?: IClientOptions): Promise<MqttClient>;
  /** The gateway and its broker only, clients left connected (idempotent). */
  stopGateway(): Promise<void>;
  /** Clients first, then the gateway (idempotent). */
  stop(): Promise<void>;
}

export interface StartOptions extends TestConfigOptions {
  /** Reuse a GPIO chip across starts (a restart keeps the pin levels). */
  gpio?: SimulatedGpio;
  seed?: number;
  logger?: Logger;
  /** The logger's warnings stream (createLogger's `warnings`), handed to the application for the live page. */
  warnings?: RecentWarnings;
  /** Called with the simulation before the gateway starts (set values, inject start-up faults). */
  prepare?: (sim: SimulatedHardware, gpio: SimulatedGpio) => void;
}

/** The whole gateway in this process on simulated hardware, the simulation handles kept for the test. */
export async function startGatewayUnderTest(devices: string, options: StartOptions = {}): Promise<GatewayUnderTest> {
  const logger = options.logger ?? silentLogger();
  const config = parseConfig(testConfigYaml(devices, options), 'test.yaml');
  const sim = await createSimulatedHardware({ seed: options.seed ?? 7, logger });
  const gpio = options.gpio ?? createSimulatedGpio({ logger });
  options.prepare?.(sim, gpio);
  const hardware = simulatedGatewayHardware(sim, gpio);
  let running: Application;
  try {
    running = await startApplication({ file: '/test/test.yaml', baseDir: '/test', config }, { mode: 'run', logger, version: '0.0.0-test', hardware, ...(options.warnings ? { warnings: options.warnings } : {}) });
  } catch (error) {
    await sim.close().catch(() => undefined);
    throw error;
  }
  const port = running.broker.listenerPorts()[0]!;
  const url = `mqtt://127.0.0.1:${port}`;
  const clients: MqttClient[] = [];
  let gatewayStopped: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;
  const stopGateway = () => (gatewayStopped ??= running.stop());
  return {
    running,
    config,
    sim,
    gpio,
    url,
    topic: (leaf) => `${TEST_BASE}/${leaf}`,
    client: async (clientOptions) => {
      const client = await connectClient(url, clientOptions);
      clients.push(client);
      return client;
    },
    stopGateway,
    stop: () =>
      (stopped ??= (async () => {
        await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
        await stopGateway();
      })()),
  };
}

export interface Message {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  /** Date.now() at reception. */
  at: number;
}

/** Every message a client receives, with waits on a predicate (past messages from `since` count too). */
export class MessageLog {
  readonly messages: Message[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, at: Date.now() });
      for (const wake of [...this.waiters]) wake();
    });
  }

  /** Index to pass as `since`, to wait only for what arrives from now on. */
  mark(): number {
    return this.messages.length;
  }

  /** Messages on `topic`; with `since`, only live ones (a late replay of retained messages is not news). */
  on(topic: string, since?: number): Message[] {
    return this.after(since).filter((m) => m.topic === topic);
  }

  /** Every message, or with `since` the live ones received from that index on. */
  after(since?: number): Message[] {
    return since === undefined ? [...this.messages] : this.messages.slice(since).filter((m) => !m.retain);
  }

  /** The first message that matches; with `since`, the first live one from that index on. */
  waitFor(match: (m: Message) => boolean, options: { since?: number; timeoutMs?: number; what?: string } = {}): Promise<Message> {
    const { since, timeoutMs = 15_000, what = 'a matching message' } = options;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.after(since).find(match);
        if (!found) return false;
        this.waiters.delete(wake);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const wake = () => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        const recent = this.after(since).slice(-15).map((m) => `${m.topic} ${m.payload.slice(0, 120)}`);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received since: \n  ${recent.join('\n  ')}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(wake);
    });
  }

  /** The next message on `topic` (from `since`) whose payload satisfies `match` (default: any). */
  waitOn(topic: string, match: (payload: string) => boolean = () => true, options: { since?: number; timeoutMs?: number } = {}): Promise<Message> {
    return this.waitFor((m) => m.topic === topic && match(m.payload), { ...options, what: `a message on ${topic}` });
  }
}

/** Connects, subscribes to `filters` (QoS 1) and logs every message. */
export async function subscribeAndLog(gw: GatewayUnderTest, filters: string | string[], options: IClientOptions = {}): Promise<{ client: MqttClient; log: MessageLog }> {
  const client = await gw.client(options);
  const log = new MessageLog(client);
  await client.subscribeAsync(filters, { qos: 1 });
  return { client, log };
}

export const json = (m: Pick<Message, 'payload'>): Record<string, unknown> => JSON.parse(m.payload) as Record<string, unknown>;
