import http from 'node:http';
import net from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ListenerError } from '../../src/broker/errors.js';
import { collect, connectClient, loopbackListener, settle, startTestBroker, type TestBroker } from '../helpers/broker.js';

let broker: TestBroker | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await broker?.stop();
  broker = undefined;
});

async function startWs(path = '/mqtt'): Promise<TestBroker> {
  broker = await startTestBroker({ listeners: [loopbackListener({ protocol: 'ws', path })] });
  return broker;
}

async function connected(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await connectClient(url, options);
  clients.push(client);
  return client;
}

function httpGet(port: number, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('HTTP request timed out')));
    req.on('error', reject);
  });
}

/** Outcome of a raw WebSocket handshake: the negotiated subprotocol, or the HTTP status of the refusal. */
function wsHandshake(url: string, protocols: string[]): Promise<{ open: true; protocol: string } | { open: false; status?: number; error: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols, { handshakeTimeout: 2000 });
    ws.on('open', () => {
      resolve({ open: true, protocol: ws.protocol });
      ws.terminate();
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ open: false, status: res.statusCode, error: `HTTP ${res.statusCode}` });
      ws.terminate();
    });
    ws.on('error', (error) => resolve({ open: false, error: error.message }));
  });
}

describe('WebSocket listener', () => {
  it('listens at ws://127.0.0.1:PORT/mqtt and carries QoS 1 publish/subscribe', async () => {
    const b = await startWs();
    expect(b.broker.listenerNames()).toEqual([`ws://127.0.0.1:${b.ports[0]}/mqtt`]);
    const subscriber = await connected(`ws://127.0.0.1:${b.ports[0]}/mqtt`);
    const publisher = await connected(`ws://127.0.0.1:${b.ports[0]}/mqtt`);
    const inbox = collect(subscriber);
    const [grant] = await subscriber.subscribeAsync('home/+/temp', { qos: 1 });
    expect(grant?.qos).toBe(1);
    await publisher.publishAsync('home/kitchen/temp', '21.5', { qos: 1 });
    const [message] = await inbox.waitFor(1);
    expect(message).toEqual({ topic: 'home/kitchen/temp', payload: '21.5', qos: 1, retain: false });
  });

  it('delivers a retained message to a later subscriber, with the retain flag', async () => {
    const b = await startWs();
    const publisher = await connected(b.url());
    await publisher.publishAsync('status/gw', 'online', { qos: 1, retain: true });
    const subscriber = await connected(b.url());
    const inbox = collect(subscriber);
    await subscriber.subscribeAsync('status/#', { qos: 1 });
    const [message] = await inbox.waitFor(1);
    expect(message).toEqual({ topic: 'status/gw', payload: 'online', qos: 1, retain: true });
  });

  it('ws and tcp clients of the same broker see each other', async () => {
    broker = await startTestBroker({ listeners: [loopbackListener(), loopbackListener({ protocol: 'ws' })] });
    const tcp = await connected(broker.url(0));
    const ws = await connected(broker.url(1));
    const inbox = collect(tcp);
    await tcp.subscribeAsync('x/#', { qos: 1 });
    await ws.publishAsync('x/1', 'from ws', { qos: 1 });
    expect((await inbox.waitFor(1))[0]?.payload).toBe('from ws');
  });

  it('a custom path is honoured', async () => {
    const b = await startWs('/ws/broker');
    const client = await connected(`ws://127.0.0.1:${b.ports[0]}/ws/broker`);
    expect(client.connected).toBe(true);
  });

  it('MQTT 3.1 clients (subprotocol mqttv3.1) connect too', async () => {
    const b = await startWs();
    const client = await connected(b.url(), { protocolId: 'MQIsdp', protocolVersion: 3 });
    expect(client.connected).toBe(true);
    expect(await wsHandshake(b.url(), ['mqttv3.1'])).toEqual({ open: true, protocol: 'mqttv3.1' });
    expect(await wsHandshake(b.url(), ['mqtt'])).toEqual({ open: true, protocol: 'mqtt' });
  });

  it('answers a plain HTTP GET with 426 and keeps serving', async () => {
    const b = await startWs();
    const port = b.ports[0]!;
    for (const path of ['/mqtt', '/', '/favicon.ico']) {
      const response = await httpGet(port, path);
      expect(response.status, path).toBe(426);
    }
    const client = await connected(b.url());
    expect(client.connected).toBe(true);
  });

  it('refuses a WebSocket upgrade on another path', async () => {
    const b = await startWs();
    const outcome = await wsHandshake(`ws://127.0.0.1:${b.ports[0]}/other`, ['mqtt']);
    expect(outcome.open).toBe(false);
    const error = await mqtt
      .connectAsync(`ws://127.0.0.1:${b.ports[0]}/other`, { reconnectPeriod: 0, connectTimeout: 2000 }, false)
      .then((c) => {
        clients.push(c);
        return undefined;
      })
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect(b.broker.connectedClients).toBe(0);
  });

  it('survives garbage on the socket, a client vanishing mid-connection and a binary frame that is not MQTT', async () => {
    const b = await startWs();
    const port = b.ports[0]!;
    const raw = net.connect(port, '127.0.0.1');
    raw.on('error', () => undefined);
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.end('\x10\x00\x00garbage\r\n\r\n');
    const ws = new WebSocket(b.url(), ['mqtt']);
    ws.on('error', () => undefined);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]));
    const vanishing = await connected(b.url());
    vanishing.stream.destroy();
    await settle(100);
    ws.terminate();
    const client = await connected(b.url());
    const inbox = collect(client);
    await client.subscribeAsync('still/alive', { qos: 1 });
    await client.publishAsync('still/alive', 'yes', { qos: 1 });
    expect((await inbox.waitFor(1))[0]?.payload).toBe('yes');
  });

  it('a port already in use fails the start with a ListenerError instead of crashing the process', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const error = await startTestBroker({ listeners: [loopbackListener({ protocol: 'ws', port })] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ListenerError);
      expect((error as ListenerError).code).toBe('EADDRINUSE');
      expect((error as Error).message).toContain(`listener ws://127.0.0.1:${port}/mqtt cannot start`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('stop() closes connected WebSocket clients and the port', async () => {
    const b = await startWs();
    const port = b.ports[0]!;
    const client = await connected(b.url());
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await b.stop();
    broker = undefined;
    await closed;
    await expect(httpGet(port, '/mqtt')).rejects.toThrow(/ECONNREFUSED/);
  });
});
