import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connect as tcpConnect } from 'node:net';
import { hashPassword } from '../../src/broker/auth/password-file.js';
import { collect, connectClient, subackCodes, loopbackListener, settle, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { PACKET, publishMessageId, RawMqttClient, u16 } from '../helpers/raw-mqtt.js';

const clients: MqttClient[] = [];
const brokers: TestBroker[] = [];
let tmp: { dir: string; remove: () => Promise<void> };
let useJournal = false;

async function client(url: string, options: Parameters<typeof connectClient>[1] = {}): Promise<MqttClient> {
  const c = await connectClient(url, options);
  clients.push(c);
  return c;
}

async function broker(options: Parameters<typeof startTestBroker>[0] = {}): Promise<TestBroker> {
  const journal = useJournal ? { persistenceDir: path.join(tmp.dir, `journal-${brokers.length}`) } : {};
  const b = await startTestBroker({ ...journal, ...options });
  brokers.push(b);
  return b;
}

async function passwordFile(users: Record<string, string>): Promise<string> {
  const lines = await Promise.all(
    Object.entries(users).map(async ([user, password]) => `${user}:${await hashPassword(password)}`),
  );
  const file = path.join(tmp.dir, 'passwd');
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

async function aclFile(text: string, name = 'acl'): Promise<string> {
  const file = path.join(tmp.dir, name);
  await writeFile(file, text);
  return file;
}

beforeEach(async () => {
  tmp = await makeTempDir();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  await Promise.all(brokers.splice(0).map((b) => b.stop().catch(() => undefined)));
  await tmp.remove();
});

// Everything below runs against both stores: aedes' in-memory one and the on-disk journal users run.
describe.each(['memory', 'journal'] as const)('%s store', (store) => {
  beforeEach(() => {
    useJournal = store === 'journal';
  });

  describe('MQTT semantics', () => {
    it('delivers QoS 0, 1 and 2 messages at the granted QoS', async () => {
      const b = await broker();
      const sub = await client(b.url());
      const inbox = collect(sub);
      await sub.subscribeAsync('t/#', { qos: 2 });
      const pub = await client(b.url());
      await pub.publishAsync('t/0', 'zero', { qos: 0 });
      await pub.publishAsync('t/1', 'one', { qos: 1 });
      await pub.publishAsync('t/2', 'two', { qos: 2 });
      const got = await inbox.waitFor(3);
      expect(got.map((m) => [m.topic, m.payload, m.qos]).sort()).toEqual([
        ['t/0', 'zero', 0],
        ['t/1', 'one', 1],
        ['t/2', 'two', 2],
      ]);
    });

    it('matches + and # wildcards and keeps $ topics out of #', async () => {
      const b = await broker({ sysIntervalSeconds: 1 });
      const sub = await client(b.url());
      const inbox = collect(sub);
      await sub.subscribeAsync(['home/+/temp', 'office/#'], { qos: 0 });
      const everything = await client(b.url());
      const all = collect(everything);
      await everything.subscribeAsync('#');
      const pub = await client(b.url());
      await pub.publishAsync('home/kitchen/temp', '21');
      await pub.publishAsync('home/kitchen/humidity', '40');
      await pub.publishAsync('office', 'o'); // office/# matches its parent level too
      await inbox.waitFor(2);
      await all.waitFor(3);
      await settle(1200); // a $SYS round would have arrived by now
      expect(inbox.messages.map((m) => m.topic)).toEqual(['home/kitchen/temp', 'office']);
      expect(all.messages.map((m) => m.topic)).toEqual(['home/kitchen/temp', 'home/kitchen/humidity', 'office']);
    });

    it('replays retained messages to new subscribers and clears them with an empty payload', async () => {
      const b = await broker();
      const pub = await client(b.url());
      await pub.publishAsync('r/a', 'kept', { qos: 1, retain: true });
      await pub.publishAsync('r/b', 'gone', { qos: 1, retain: true });
      await pub.publishAsync('r/b', '', { qos: 1, retain: true });
      const sub = await client(b.url());
      const inbox = collect(sub);
      await sub.subscribeAsync('r/#', { qos: 1 });
      await inbox.waitFor(1);
      await settle();
      expect(inbox.messages).toEqual([{ topic: 'r/a', payload: 'kept', qos: 1, retain: true }]);
      expect(b.broker.stats.retainedTopics.has('r/a')).toBe(true);
      expect(b.broker.stats.retainedTopics.has('r/b')).toBe(false);
    });

    it('publishes the Last Will when a client vanishes, not when it disconnects cleanly', async () => {
      const b = await broker();
      const watcher = await client(b.url());
      const inbox = collect(watcher);
      await watcher.subscribeAsync('wills/#', { qos: 1 });
      const polite = await client(b.url(), { will: { topic: 'wills/polite', payload: Buffer.from('gone'), qos: 1, retain: false } });
      await polite.endAsync();
      const rude = await client(b.url(), { will: { topic: 'wills/rude', payload: Buffer.from('crashed'), qos: 1, retain: false } });
      rude.stream.destroy();
      const got = await inbox.waitFor(1);
      await settle();
      expect(got).toEqual([{ topic: 'wills/rude', payload: 'crashed', qos: 1, retain: false }]);
    });

    it('rejects an empty client id with a persistent session (MQTT-3.1.3-8) and accepts it with a clean one', async () => {
      const b = await broker();
      // MQTT.js refuses to send this CONNECT itself, so it is written by hand:
      // MQTT 3.1.1, clean session 0, keepalive 60, zero-length client id.
      const connect = Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x3c, 0x00, 0x00]);
      const connack = await new Promise<Buffer>((resolve, reject) => {
        const socket = tcpConnect(b.ports[0]!, '127.0.0.1', () => socket.write(connect));
        socket.once('data', (data) => {
          socket.destroy();
          resolve(data);
        });
        socket.once('error', reject);
      });
      expect([...connack.subarray(0, 4)]).toEqual([0x20, 0x02, 0x00, 0x02]); // CONNACK, identifier rejected
      await client(b.url(), { clientId: '', clean: true });
    });

    it('resends the PUBREL of a QoS 2 delivery cut between PUBREC and PUBCOMP, and the session goes on', async () => {
      const b = await broker();
      const first = await RawMqttClient.open(b.ports[0]!);
      first.connectPacket('q2-sub', false);
      await first.next(PACKET.CONNACK);
      first.subscribePacket(1, 'q2/#', 2);
      await first.next(PACKET.SUBACK);
      const pub = await client(b.url());
      await pub.publishAsync('q2/a', 'once', { qos: 2 });
      const id = publishMessageId((await first.next(PACKET.PUBLISH)).body);
      first.send(PACKET.PUBREC, 0, u16(id));
      await first.next(PACKET.PUBREL);
      first.close(); // no PUBCOMP

      const again = await RawMqttClient.open(b.ports[0]!);
      again.connectPacket('q2-sub', false);
      const connack = await again.next(PACKET.CONNACK);
      expect([...connack.body]).toEqual([0x01, 0x00]); // session present, accepted
      const pubrel = await again.next(PACKET.PUBREL);
      expect(pubrel.body.readUInt16BE(0)).toBe(id);
      again.send(PACKET.PUBCOMP, 0, u16(id));
      await pub.publishAsync('q2/b', 'next', { qos: 1 });
      const next = await again.next(PACKET.PUBLISH);
      expect(next.body.toString()).toContain('next');
      again.close();
    });

    it('publishes from inside the process and hands messages to in-process subscribers', async () => {
      const b = await broker();
      const seen: string[] = [];
      const subscription = await b.broker.bus('test').subscribe('cmd/#', ({ topic, payload }) => void seen.push(`${topic}=${payload.toString()}`));
      const sub = await client(b.url());
      const inbox = collect(sub);
      await sub.subscribeAsync('state/#', { qos: 1 });
      await b.broker.bus('test').publish({ topic: 'state/led', payload: 'ON', qos: 1, retain: true });
      await inbox.waitFor(1);
      const pub = await client(b.url());
      await pub.publishAsync('cmd/led', 'OFF', { qos: 1 });
      await settle();
      expect(seen).toEqual(['cmd/led=OFF']);
      await subscription.unsubscribe();
      await pub.publishAsync('cmd/led', 'ON', { qos: 1 });
      await settle();
      expect(seen).toEqual(['cmd/led=OFF']);
    });
  });

  describe('persistence across restarts', () => {
    it('keeps retained messages, persistent subscriptions and their queued QoS 1 messages', async () => {
      const persistenceDir = path.join(tmp.dir, 'state');
      const first = await startTestBroker({ persistenceDir });
      const port = first.ports[0]!;
      const listeners = [loopbackListener({ port })];
      const durable = await connectClient(first.url(), { clientId: 'dashboard', clean: false });
      await durable.subscribeAsync('readings/#', { qos: 1 });
      await durable.endAsync();
      const pub = await connectClient(first.url());
      await pub.publishAsync('config/mode', 'eco', { qos: 1, retain: true });
      for (let i = 0; i < 20; i++) await pub.publishAsync(`readings/${i}`, String(i), { qos: 1 });
      await pub.endAsync();
      await first.stop();

      const second = await broker({ persistenceDir, listeners });
      expect(second.broker.stats.retainedTopics.has('config/mode')).toBe(true);
      const back = await client(second.url(), { clientId: 'dashboard', clean: false, manualConnect: false });
      const inbox = collect(back);
      const got = await inbox.waitFor(20);
      expect(got.map((m) => m.payload).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
      expect(got.every((m) => m.qos === 1)).toBe(true);

      const fresh = await client(second.url());
      const retained = collect(fresh);
      await fresh.subscribeAsync('config/#');
      expect((await retained.waitFor(1))[0]).toMatchObject({ topic: 'config/mode', payload: 'eco', retain: true });

      // The subscription itself survived: a message published now reaches the persistent session.
      await fresh.publishAsync('readings/new', 'live', { qos: 1 });
      await inbox.waitFor(21);
      expect(inbox.messages.at(-1)).toMatchObject({ topic: 'readings/new', payload: 'live' });
    });

    it('refuses a second broker on the same persistence directory with a clear error', async () => {
      const persistenceDir = path.join(tmp.dir, 'state');
      await broker({ persistenceDir });
      await expect(startTestBroker({ persistenceDir })).rejects.toThrow(/locked/);
    });
  });

  describe('authentication', () => {
    it('checks users against a mosquitto password file', async () => {
      const b = await broker({ passwordFile: await passwordFile({ alice: 's3cret' }), listeners: [loopbackListener({ allowAnonymous: false })] });
      await client(b.url(), { username: 'alice', password: 's3cret' });
      await expect(connectClient(b.url(), { username: 'alice', password: 'wrong' })).rejects.toThrow(/Bad username or password/i);
      await expect(connectClient(b.url(), { username: 'mallory', password: 's3cret' })).rejects.toThrow(/Bad username or password/i);
      await expect(connectClient(b.url())).rejects.toThrow(/Not authorized/i);
    });

    it('lets anonymous clients in only where the listener allows it', async () => {
      const b = await broker({ listeners: [loopbackListener({ allowAnonymous: true }), loopbackListener({ allowAnonymous: false })] });
      await client(b.url(0));
      await expect(connectClient(b.url(1))).rejects.toThrow(/Not authorized/i);
    });
  });

  describe('ACL', () => {
    const ACL = [
      '# sensors write, dashboards read',
      'user sensor',
      'topic write home/sensors/#',
      '',
      'user dashboard',
      'topic read home/#',
      '',
    ].join('\n');

    async function aclBroker(acl = ACL) {
      return broker({
        passwordFile: await passwordFile({ sensor: 'sp', dashboard: 'dp' }),
        aclFile: await aclFile(acl),
        listeners: [loopbackListener({ allowAnonymous: false })],
      });
    }

    it('sensor may only publish to home/sensors/#, dashboard may only subscribe to home/#', async () => {
      const b = await aclBroker();
      const sensor = await client(b.url(), { username: 'sensor', password: 'sp' });
      const dashboard = await client(b.url(), { username: 'dashboard', password: 'dp' });
      const inbox = collect(dashboard);

      expect(await subackCodes(dashboard, ['home/#', 'other/#', 'home/+/temp'], 1)).toEqual([1, 128, 1]);
      expect(await subackCodes(sensor, 'home/#', 1)).toEqual([128]);
      expect(await subackCodes(sensor, 'home/sensors/#', 1)).toEqual([128]);

      await sensor.publishAsync('home/sensors/temp', '21.5', { qos: 1 });
      // Not allowed: acknowledged (the promise resolves on PUBACK) but never delivered.
      await sensor.publishAsync('home/lights/set', 'ON', { qos: 1 });
      await dashboard.publishAsync('home/sensors/temp', 'forged', { qos: 1 });
      await inbox.waitFor(1);
      await settle();
      expect(inbox.messages).toEqual([{ topic: 'home/sensors/temp', payload: '21.5', qos: 1, retain: false }]);
      expect(sensor.connected && dashboard.connected).toBe(true);
      expect(b.broker.stats.publishDropped).toBe(2);
    });

    it('does not deliver messages the subscriber may not read, retained ones included', async () => {
      const b = await aclBroker('user sensor\ntopic write home/#\nuser dashboard\ntopic read home/#\ntopic deny home/secret/#\n');
      const sensor = await client(b.url(), { username: 'sensor', password: 'sp' });
      await sensor.publishAsync('home/secret/code', '1234', { qos: 1, retain: true });
      await sensor.publishAsync('home/open/door', 'closed', { qos: 1, retain: true });
      const dashboard = await client(b.url(), { username: 'dashboard', password: 'dp' });
      const inbox = collect(dashboard);
      await dashboard.subscribeAsync('home/#', { qos: 1 });
      await sensor.publishAsync('home/secret/code', '5678', { qos: 1 });
      await inbox.waitFor(1);
      await settle();
      expect(inbox.messages.map((m) => m.topic)).toEqual(['home/open/door']);
    });

    it('reloads the ACL without dropping clients, and keeps the old one when the new file is broken', async () => {
      const b = await aclBroker();
      const sensor = await client(b.url(), { username: 'sensor', password: 'sp' });
      const dashboard = await client(b.url(), { username: 'dashboard', password: 'dp' });
      const inbox = collect(dashboard);
      expect(await subackCodes(dashboard, 'garden/#', 1)).toEqual([128]);
      await writeFile(path.join(tmp.dir, 'acl'), `${ACL}\nuser sensor\ntopic write garden/#\nuser dashboard\ntopic read garden/#\n`);
      expect(await b.broker.reload()).toEqual([]);
      await dashboard.subscribeAsync('garden/#', { qos: 1 });
      await sensor.publishAsync('garden/soil', 'dry', { qos: 1 });
      await inbox.waitFor(1);

      await writeFile(path.join(tmp.dir, 'acl'), 'user sensor\nthis is not a rule\n');
      const errors = await b.broker.reload();
      expect(errors).toHaveLength(1);
      expect(errors[0]!.message).toMatch(/acl:2:/);
      await sensor.publishAsync('garden/soil', 'wet', { qos: 1 });
      await inbox.waitFor(2);
      expect(sensor.connected && dashboard.connected).toBe(true);
    });

    it('keeps $SYS for rules that start with $', async () => {
      const b = await broker({ aclFile: await aclFile('topic read #\n'), sysIntervalSeconds: 1 });
      const anon = await client(b.url());
      expect(await subackCodes(anon, '$SYS/broker/uptime')).toEqual([128]);
      const b2 = await broker({ aclFile: await aclFile('topic read $SYS/#\n', 'acl2'), sysIntervalSeconds: 1 });
      const anon2 = await client(b2.url());
      const inbox = collect(anon2);
      await anon2.subscribeAsync('$SYS/broker/uptime');
      expect((await inbox.waitFor(1))[0]!.payload).toMatch(/^\d+ seconds$/);
    });
  });

  describe('limits', () => {
    it('disconnects a client whose PUBLISH is over message_size_limit, before reading its payload; the others go on', async () => {
      const b = await broker({ limits: { messageSizeLimit: 10 } as never });
      const sub = await client(b.url());
      const inbox = collect(sub);
      await sub.subscribeAsync('#', { qos: 1 });
      const pub = await client(b.url());
      const closed = new Promise<void>((resolve) => pub.once('close', () => resolve()));
      pub.publish('big', 'x'.repeat(11), { qos: 1 });
      await closed;
      const other = await client(b.url());
      await other.publishAsync('small', 'x'.repeat(10), { qos: 1 });
      await inbox.waitFor(1);
      await settle();
      expect(inbox.messages.map((m) => m.topic)).toEqual(['small']);
    });

    it('refuses connections beyond max_connections', async () => {
      const b = await broker({ limits: { maxConnections: 1 } as never });
      await client(b.url());
      await expect(connectClient(b.url(), { connectTimeout: 1000 })).rejects.toThrow();
    });

    it('refuses a keepalive above max_keepalive', async () => {
      const b = await broker({ limits: { maxKeepalive: 60 } as never });
      await client(b.url(), { keepalive: 30 });
      await expect(connectClient(b.url(), { keepalive: 120 })).rejects.toThrow();
    });

    it('never limits a connected persistent session: it receives everything and stays connected', async () => {
      const b = await broker({ limits: { maxQueuedMessages: 2 } as never });
      const sub = await client(b.url(), { clientId: 'online', clean: false });
      const inbox = collect(sub);
      await sub.subscribeAsync('q/#', { qos: 1 });
      const pub = await client(b.url());
      await Promise.all(Array.from({ length: 10 }, (_, i) => pub.publishAsync(`q/${i}`, String(i), { qos: 1 })));
      await inbox.waitFor(10);
      await settle();
      expect(sub.connected).toBe(true);
      expect(b.broker.stats.publishDropped).toBe(0);
    });

    it('drops queued messages for an offline session beyond max_queued_messages', async () => {
      const b = await broker({ limits: { maxQueuedMessages: 5 } as never });
      const durable = await connectClient(b.url(), { clientId: 'slow', clean: false });
      await durable.subscribeAsync('q/#', { qos: 1 });
      await durable.endAsync();
      const pub = await client(b.url());
      for (let i = 0; i < 8; i++) await pub.publishAsync(`q/${i}`, String(i), { qos: 1 });
      const back = await client(b.url(), { clientId: 'slow', clean: false });
      const inbox = collect(back);
      await inbox.waitFor(5);
      await settle(300);
      expect(inbox.messages.map((m) => m.payload)).toEqual(['0', '1', '2', '3', '4']);
      expect(b.broker.stats.publishDropped).toBe(3);
    });
  });

  describe('$SYS', () => {
    it('publishes mosquitto-style statistics every sys_interval', async () => {
      const b = await broker({ sysIntervalSeconds: 1 });
      const sub = await client(b.url());
      const inbox = collect(sub);
      await sub.subscribeAsync('$SYS/broker/#');
      await inbox.waitFor(30);
      const topics = new Map(inbox.messages.map((m) => [m.topic, m.payload]));
      expect(topics.get('$SYS/broker/version')).toBe('0.0.0-test');
      expect(topics.get('$SYS/broker/clients/connected')).toMatch(/^\d+$/);
      for (const t of ['uptime', 'clients/maximum', 'messages/received', 'bytes/sent', 'load/messages/received/1min', 'retained messages/count', 'subscriptions/count', 'heap/current']) {
        expect(topics.has(`$SYS/broker/${t}`), t).toBe(true);
      }
    });

    it("keeps aedes' own $SYS/<broker id>/... announcements (client ids, subscriptions) from clients", async () => {
      const b = await broker();
      const sub = await client(b.url());
      const inbox = collect(sub);
      await sub.subscribeAsync('$SYS/#');
      const other = await client(b.url(), { clientId: 'visible-elsewhere' });
      await other.subscribeAsync('a/b');
      await other.endAsync();
      await settle();
      expect(inbox.messages.filter((m) => m.topic.startsWith('$SYS/test-broker/'))).toEqual([]);
    });

    it('counts the subscriptions of persistent sessions restored from disk', async () => {
      const dir = path.join(tmp.dir, 'restored-subscriptions');
      const first = await broker({ persistenceDir: dir });
      const durable = await client(first.url(), { clientId: 'durable', clean: false });
      await durable.subscribeAsync(['a/1', 'a/2'], { qos: 1 });
      await durable.endAsync();
      await first.stop();
      brokers.splice(brokers.indexOf(first), 1);
      const second = await broker({ persistenceDir: dir });
      expect(second.broker.stats.subscriptionCount()).toBe(2);
    });

    it('does not let clients write $SYS', async () => {
      const b = await broker();
      const sub = await client(b.url());
      const inbox = collect(sub);
      await sub.subscribeAsync('$SYS/broker/#');
      const pub = await client(b.url());
      await pub.publishAsync('$SYS/broker/uptime', 'forged', { qos: 1 });
      await settle();
      expect(inbox.messages).toEqual([]);
      expect(pub.connected).toBe(true);
    });
  });
});
