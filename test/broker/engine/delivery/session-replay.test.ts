import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryEngine, type EnginePolicy } from '../../../../src/broker/engine/engine.js';
import { silentLogger } from '../../../../src/util/logger.js';
import { decodePublish, PACKET, RawMqttClient } from '../../../helpers/raw-mqtt.js';

const allowAll: EnginePolicy = {
  admit: () => true,
  authenticate: (_client, _username, _password, done) => done(null, true),
  refusePublish: () => undefined,
  authorizeSubscribe: (_client, subscription, callback) => callback(null, subscription),
  mayForward: () => true,
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startEngine(): Promise<{ engine: DeliveryEngine; port: number }> {
  const engine = await DeliveryEngine.open({
    id: 'replay-test',
    limits: { messageSizeLimit: 0, maxKeepalive: 65535, maxQueuedMessages: 0, maxQueuedBytes: 0, maxIncompleteBytes: 0, maxInflightMessages: 0, drainTimeoutMs: 5000 },
    policy: allowAll,
    logger: silentLogger(),
  });
  const server = net.createServer((socket) => engine.handle(socket, socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => engine.close());
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { engine, port: (server.address() as net.AddressInfo).port };
}

async function persistentSubscriber(port: number, qos: 1 | 2): Promise<RawMqttClient> {
  const raw = await RawMqttClient.open(port);
  raw.connectPacket('sub', false);
  await raw.next(PACKET.CONNACK);
  raw.subscribePacket(1, 't', qos);
  await raw.next(PACKET.SUBACK);
  return raw;
}

describe("a persistent session's queue, resent on reconnect", () => {
  it.each([1, 2] as const)(
    'sends a QoS %i message queued while the session reconnects once, whether it came before or after the resend began',
    async (qos) => {
      const { engine, port } = await startEngine();
      const first = await persistentSubscriber(port, qos);
      first.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await engine.publish({ topic: 't', payload: Buffer.from('offline'), qos, retain: false });

      // Routed as the session is restored: its subscription is live, and aedes has not yet read the queue to resend.
      let reconnecting = true;
      engine.on('client', () => {
        if (!reconnecting) return;
        reconnecting = false;
        void engine.publish({ topic: 't', payload: Buffer.from('during'), qos, retain: false });
      });
      const raw = await RawMqttClient.open(port);
      cleanups.push(() => raw.close());
      raw.connectPacket('sub', false);
      await raw.next(PACKET.CONNACK);
      await engine.publish({ topic: 't', payload: Buffer.from('after'), qos, retain: false });

      const received = (await raw.collect(PACKET.PUBLISH)).map(decodePublish);
      expect(received.map((p) => p.payload)).toEqual(['offline', 'during', 'after']);
      expect(new Set(received.map((p) => p.messageId)).size).toBe(3);

      // Each acknowledged once, the session's queue is empty: nothing comes again on the next reconnect.
      for (const p of received) raw.ack(qos === 1 ? PACKET.PUBACK : PACKET.PUBREC, p.messageId!);
      if (qos === 2) for (const rel of await raw.collect(PACKET.PUBREL)) raw.ack(PACKET.PUBCOMP, rel.body.readUInt16BE(0));
      await new Promise((resolve) => setTimeout(resolve, 50));
      raw.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const again = await RawMqttClient.open(port);
      cleanups.push(() => again.close());
      again.connectPacket('sub', false);
      await again.next(PACKET.CONNACK);
      expect((await again.collect(PACKET.PUBLISH)).map(decodePublish)).toEqual([]);
    },
  );
});
