import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { EmbeddedBroker } from '../../src/broker/broker.js';
import { createBroker } from '../../src/broker/create-broker.js';
import type { BrokerOptions, ListenerOptions } from '../../src/broker/options.js';
import { DEFAULT_LIMITS } from '../../src/broker/options.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';

export interface TestBroker {
  broker: EmbeddedBroker;
  /** Bound ports, in listener order. */
  ports: number[];
  url(index?: number): string;
  stop(): Promise<void>;
}

export const loopbackListener = (overrides: Partial<ListenerOptions> = {}): ListenerOptions => ({
  protocol: 'mqtt',
  host: '127.0.0.1',
  port: 0,
  path: '/mqtt',
  allowAnonymous: true,
  ...overrides,
});

/** An embedded broker on free loopback ports; in memory unless persistenceDir is given. */
export async function startTestBroker(options: Partial<BrokerOptions> = {}, logger: Logger = silentLogger()): Promise<TestBroker> {
  const broker = createBroker(
    {
      id: 'test-broker',
      version: '0.0.0-test',
      listeners: [loopbackListener()],
      sysIntervalSeconds: 0,
      ...options,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    },
    logger,
  );
  await broker.start();
  const ports = broker.listenerPorts();
  const listeners = options.listeners ?? [loopbackListener()];
  return {
    broker,
    ports,
    url: (index = 0) => {
      const l = listeners[index]!;
      const scheme = l.protocol;
      const path = l.protocol === 'ws' || l.protocol === 'wss' ? l.path : '';
      return `${scheme}://127.0.0.1:${ports[index]}${path}`;
    },
    stop: () => broker.stop(),
  };
}

/** An MQTT.js client that has connected (or rejects with the CONNACK error). No reconnects: tests want failures. */
export async function connectClient(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...options });
}

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/** Collects messages; `next(n)` waits for the n-th. */
export function collect(client: MqttClient): { messages: Received[]; waitFor(count: number, timeoutMs?: number): Promise<Received[]> } {
  const messages: Received[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
    for (const w of [...waiters]) if (messages.length >= w.count) w.resolve();
  });
  return {
    messages,
    waitFor(count, timeoutMs = 15_000) {
      if (messages.length >= count) return Promise.resolve(messages);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${count} messages, got ${messages.length}: ${JSON.stringify(messages)}`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(messages);
          },
        });
      });
    },
  };
}

/** Lets in-flight packets settle when asserting that something did NOT arrive. */
export const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));

/** SUBACK return codes for a SUBSCRIBE, refusals (0x80) included: MQTT.js turns any refusal into an error. */
export function subackCodes(client: MqttClient, topics: string | string[], qos: 0 | 1 | 2 = 0): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(topics, { qos }, (error, granted, packet) => {
      const codes = (packet as { granted?: number[] } | undefined)?.granted ?? granted?.map((g) => g.qos);
      if (codes) resolve(codes);
      else reject(error ?? new Error('no SUBACK'));
    });
  });
}
