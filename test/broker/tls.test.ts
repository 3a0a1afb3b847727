import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ListenerOptions, TlsOptions } from '../../src/broker/options.js';
import { collect, connectClient, loopbackListener, startTestBroker, subackCodes, type TestBroker } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { createTestPki, hasOpenssl, type TestPki } from '../helpers/tls.js';

describe.skipIf(!hasOpenssl)('TLS listeners', () => {
  let pki: TestPki;
  let removeDir: () => Promise<void>;
  let broker: TestBroker | undefined;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    const temp = await makeTempDir('pi-edge-tls-');
    removeDir = temp.remove;
    pki = await createTestPki(temp.dir);
  });
  afterAll(async () => {
    await removeDir?.();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await broker?.stop();
    broker = undefined;
  });

  const tlsOptions = (overrides: Partial<TlsOptions> = {}): TlsOptions => ({
    certFile: pki.serverCert,
    keyFile: pki.serverKey,
    caFile: pki.caCert,
    requireCertificate: false,
    useIdentityAsUsername: false,
    ...overrides,
  });

  async function start(listener: Partial<ListenerOptions>, aclFile?: string): Promise<TestBroker> {
    broker = await startTestBroker({ listeners: [loopbackListener(listener)], aclFile });
    return broker;
  }

  /** A client that connected, kept for cleanup. */
  async function connected(url: string, options: IClientOptions): Promise<MqttClient> {
    const client = await connectClient(url, options);
    clients.push(client);
    return client;
  }

  /** Resolves with the error of a connection attempt that must not succeed (TLS handshake or CONNACK). */
  async function refused(url: string, options: IClientOptions): Promise<Error> {
    try {
      const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 4, ...options }, false);
      clients.push(client);
    } catch (error) {
      return error as Error;
    }
    throw new Error('the connection was accepted');
  }

  const withClientCert = (good = true): IClientOptions => ({
    ca: pki.read(pki.caCert),
    cert: pki.read(good ? pki.clientCert : pki.rogueClientCert),
    key: pki.read(good ? pki.clientKey : pki.rogueClientKey),
  });

  it('mqtts: a client trusting the CA connects and publish/subscribe works', async () => {
    const b = await start({ protocol: 'mqtts', tls: tlsOptions() });
    const client = await connected(b.url(), { ca: pki.read(pki.caCert) });
    const inbox = collect(client);
    await client.subscribeAsync('t/tls', { qos: 1 });
    await client.publishAsync('t/tls', 'secret', { qos: 1 });
    const [message] = await inbox.waitFor(1);
    expect(message).toMatchObject({ topic: 't/tls', payload: 'secret', qos: 1 });
  });

  it('mqtts: the server certificate is checked by the client (no CA given: refused)', async () => {
    const b = await start({ protocol: 'mqtts', tls: tlsOptions() });
    const error = await refused(b.url(), {});
    expect(error.message).toMatch(/self[- ]signed|unable to (get|verify)|certificate/i);
  });

  it('plain MQTT on a TLS listener is not accepted', async () => {
    const b = await start({ protocol: 'mqtts', tls: tlsOptions() });
    await refused(`mqtt://127.0.0.1:${b.ports[0]}`, {});
  });

  describe('require_certificate: true', () => {
    const listener = () => ({ protocol: 'mqtts' as const, tls: tlsOptions({ requireCertificate: true }) });

    it('refuses a client without a certificate', async () => {
      const b = await start(listener());
      await refused(b.url(), { ca: pki.read(pki.caCert) });
      expect(b.broker.connectedClients).toBe(0);
    });

    it('refuses a client certificate signed by another CA', async () => {
      const b = await start(listener());
      await refused(b.url(), withClientCert(false));
      expect(b.broker.connectedClients).toBe(0);
    });

    it('accepts a client certificate signed by ca_file', async () => {
      const b = await start(listener());
      const client = await connected(b.url(), withClientCert());
      expect(client.connected).toBe(true);
      expect(b.broker.connectedClients).toBe(1);
    });
  });

  describe('use_identity_as_username: true', () => {
    async function aclBroker(protocol: 'mqtts' | 'wss'): Promise<TestBroker> {
      const aclFile = path.join(pki.dir, 'acl');
      await writeFile(aclFile, 'user sensor-01\ntopic readwrite sensors/#\n');
      return start({ protocol, tls: tlsOptions({ requireCertificate: true, useIdentityAsUsername: true }) }, aclFile);
    }

    it('the certificate CN is the username the ACL sees', async () => {
      const b = await aclBroker('mqtts');
      const client = await connected(b.url(), withClientCert());
      expect(await subackCodes(client, ['sensors/#', 'other/#'], 1)).toEqual([1, 128]);
      const inbox = collect(client);
      await client.publishAsync('sensors/temp', '21.5', { qos: 1 });
      expect((await inbox.waitFor(1))[0]).toMatchObject({ topic: 'sensors/temp', payload: '21.5' });
    });

    it('a username in CONNECT does not override the certificate identity', async () => {
      const b = await aclBroker('mqtts');
      const client = await connected(b.url(), { ...withClientCert(), username: 'admin', password: 'whatever' });
      expect(await subackCodes(client, ['sensors/#', 'admin/#'], 0)).toEqual([0, 128]);
    });

    it('without it, the same certificate client is anonymous to the ACL', async () => {
      const aclFile = path.join(pki.dir, 'acl-anon');
      await writeFile(aclFile, 'user sensor-01\ntopic readwrite sensors/#\n');
      const b = await start({ protocol: 'mqtts', tls: tlsOptions({ requireCertificate: true }) }, aclFile);
      const client = await connected(b.url(), withClientCert());
      expect(await subackCodes(client, ['sensors/#'], 1)).toEqual([128]);
    });

    it('wss: the certificate CN is the username too', async () => {
      const b = await aclBroker('wss');
      const client = await connected(b.url(), withClientCert());
      expect(await subackCodes(client, ['sensors/#', 'other/#'], 1)).toEqual([1, 128]);
    });
  });

  describe('wss', () => {
    it('a client trusting the CA connects over secure WebSocket and publish/subscribe works', async () => {
      const b = await start({ protocol: 'wss', path: '/mqtt', tls: tlsOptions() });
      expect(b.url()).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/mqtt$/);
      const client = await connected(b.url(), { ca: pki.read(pki.caCert) });
      const inbox = collect(client);
      await client.subscribeAsync('t/wss', { qos: 1 });
      await client.publishAsync('t/wss', 'over wss', { qos: 1 });
      expect((await inbox.waitFor(1))[0]).toMatchObject({ topic: 't/wss', payload: 'over wss', qos: 1 });
    });

    it('require_certificate refuses a wss client without a certificate and accepts a good one', async () => {
      const b = await start({ protocol: 'wss', tls: tlsOptions({ requireCertificate: true }) });
      await refused(b.url(), { ca: pki.read(pki.caCert) });
      await refused(b.url(), withClientCert(false));
      const client = await connected(b.url(), withClientCert());
      expect(client.connected).toBe(true);
    });
  });

  it('stop() with a connected mqtts client resolves promptly, closes the client and frees the port', async () => {
    const b = await start({ protocol: 'mqtts', tls: tlsOptions() });
    const client = await connected(b.url(), { ca: pki.read(pki.caCert) });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const started = Date.now();
    await b.stop();
    broker = undefined;
    expect(Date.now() - started).toBeLessThan(1000);
    await closed;
    await refused(b.url(), { ca: pki.read(pki.caCert) });
  });

  it('a missing certificate file fails the start with the listener named', async () => {
    await expect(start({ protocol: 'mqtts', tls: tlsOptions({ certFile: path.join(pki.dir, 'nope.crt') }) })).rejects.toThrow(
      /listener mqtts:\/\/127\.0\.0\.1:0 cannot start: .*nope\.crt/,
    );
    broker = undefined;
  });
});
