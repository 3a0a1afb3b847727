import { writeFile } from 'node:fs/promises';
import { connect as tcpConnect, type Socket } from 'node:net';
import path from 'node:path';
import { MqttClient, type IClientOptions } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../src/broker/auth/password-file.js';
import { addressKey, LoginThrottle, type LoginThrottleOptions } from '../../../src/broker/auth/login-throttle.js';
import { connectClient, loopbackListener, startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { u16 } from '../../helpers/raw-mqtt.js';

const OPTIONS: LoginThrottleOptions = { burst: 3, refillMs: 10_000, baseDelayMs: 100, maxDelayMs: 1000, maxWaiting: 2, maxAddresses: 4 };

describe('LoginThrottle', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('lets `burst` failures through at full speed, then delays checks, doubling up to the maximum', () => {
    const t = new LoginThrottle(OPTIONS, clock);
    for (let i = 0; i < 3; i++) {
      expect(t.gate('10.0.0.1')).toEqual({ check: 'now' });
      expect(t.failed('10.0.0.1')).toBe(false);
    }
    expect(t.gate('10.0.0.1')).toEqual({ check: 'now' });
    expect(t.failed('10.0.0.1')).toBe(true); // the one that starts the slowing
    expect(t.gate('10.0.0.1')).toEqual({ check: 'after', delayMs: 100 });
    t.released('10.0.0.1');
    t.failed('10.0.0.1');
    now += 100;
    // Overdrawn by 2: 200 ms from the last failure (100 ms ago) and after the slot taken.
    const gate = t.gate('10.0.0.1');
    expect(gate.check).toBe('after');
    expect((gate as { delayMs: number }).delayMs).toBeGreaterThanOrEqual(100);
    t.released('10.0.0.1');
    for (let i = 0; i < 40; i++) t.failed('10.0.0.1');
    now += 60_000; // refills 6, still overdrawn
    const capped = t.gate('10.0.0.1');
    expect(capped.check === 'now' || (capped as { delayMs: number }).delayMs <= 1000).toBe(true);
  });

  it('refuses unchecked beyond `maxWaiting` waiting connections of one address, and never slows another address', () => {
    const t = new LoginThrottle(OPTIONS, clock);
    for (let i = 0; i < 5; i++) t.failed('10.0.0.2');
    expect(t.gate('10.0.0.2').check).toBe('after');
    expect(t.gate('10.0.0.2').check).toBe('after');
    expect(t.gate('10.0.0.2')).toEqual({ check: 'refuse' });
    expect(t.gate('10.0.0.3')).toEqual({ check: 'now' });
    t.released('10.0.0.2');
    // A free place, but the next slot is further than the longest delay: refused rather than held that long.
    expect(t.gate('10.0.0.2')).toEqual({ check: 'refuse' });
    now += 1000;
    expect(t.gate('10.0.0.2').check).toBe('after');
  });

  it('forgets an address once its bucket is full again, and keeps the table bounded', () => {
    const t = new LoginThrottle(OPTIONS, clock);
    t.failed('10.0.0.4');
    expect(t.size).toBe(1);
    now += 10_000;
    expect(t.gate('10.0.0.4')).toEqual({ check: 'now' });
    expect(t.size).toBe(0);
    for (let i = 0; i < 100; i++) t.failed(`10.1.0.${i}`);
    expect(t.size).toBe(4);
  });

  it('counts IPv6 per /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::ffff:192.168.1.9')).toBe('192.168.1.9');
    expect(addressKey('192.168.1.9')).toBe('192.168.1.9');
  });
});

describe('password guessing against the broker', () => {
  let tmp: { dir: string; remove: () => Promise<void> };
  let broker: TestBroker | undefined;
  const sockets: Socket[] = [];

  beforeEach(async () => {
    tmp = await makeTempDir();
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await broker?.stop();
    broker = undefined;
    await tmp.remove();
  });

  /** An MQTT.js client whose socket starts from `localAddress` (MQTT.js itself has no option for it). */
  async function connectFrom(localAddress: string, port: number, options: IClientOptions): Promise<MqttClient> {
    const client = new MqttClient(() => tcpConnect({ host: '127.0.0.1', port, localAddress }), { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...options });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return client;
  }

  /** One CONNECT with a wrong password from `localAddress`; resolves with the CONNACK code, or 'closed'. */
  function guess(port: number, localAddress: string, n: number): Promise<number | 'closed'> {
    return new Promise((resolve) => {
      const socket = tcpConnect({ host: '127.0.0.1', port, localAddress });
      sockets.push(socket);
      const id = Buffer.from(`guess-${n}`);
      const user = Buffer.from('sensor');
      const password = Buffer.from(`wrong-${n}`);
      const body = Buffer.concat([Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0xc2, 0x00, 0x3c]), u16(id.length), id, u16(user.length), user, u16(password.length), password]);
      socket.on('connect', () => socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body])));
      let answered = false;
      socket.on('data', (data) => {
        if (answered || data.length < 4 || data[0] !== 0x20) return;
        answered = true;
        resolve(data[3]!);
        socket.destroy();
      });
      socket.on('close', () => answered || resolve('closed'));
      socket.on('error', () => undefined);
    });
  }

  it('slows 200 wrong CONNECTs/s from one address while a good client from another connects at once throughout', async () => {
    const file = path.join(tmp.dir, 'passwd');
    await writeFile(file, `sensor:${await hashPassword('right')}\n`);
    broker = await startTestBroker({ passwordFile: file, listeners: [loopbackListener({ allowAnonymous: false })] });
    const port = broker.ports[0]!;

    const answers: Promise<number | 'closed'>[] = [];
    const goodConnectMs: number[] = [];
    const floodMs = 3000;
    const start = Date.now();
    const flood = (async () => {
      for (let n = 0; Date.now() - start < floodMs; n++) {
        answers.push(guess(port, '127.0.0.1', n));
        // 200/s: one every 5 ms, on schedule even when a tick ran late.
        const next = start + (n + 1) * 5;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
      }
    })();
    const good = (async () => {
      while (Date.now() - start < floodMs) {
        const began = Date.now();
        const client = await connectFrom('127.0.0.2', port, { username: 'sensor', password: 'right' });
        goodConnectMs.push(Date.now() - began);
        await client.endAsync();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    await Promise.all([flood, good]);
    const codes = await Promise.all(answers);

    const checked = codes.filter((c) => c === 4).length; // "bad username or password": a password was checked
    const refused = codes.filter((c) => c === 5).length; // refused unchecked
    expect(codes.length).toBeGreaterThan(300);
    // Five at full speed, then one per delay (250 ms, doubling): a handful in 3 s instead of every one.
    expect(checked).toBeLessThan(20);
    expect(refused + codes.filter((c) => c === 'closed').length).toBeGreaterThan(codes.length - 20);
    expect(broker.broker.stats.authFailures).toBe(checked);
    expect(broker.broker.stats.authShed).toBeGreaterThan(200);
    // The good client never waited on the flood: it was never delayed, whatever the machine's load.
    expect(goodConnectMs.length).toBeGreaterThan(5);
    expect(Math.max(...goodConnectMs)).toBeLessThan(1000);
  }, 30_000);

  it('a correct password from a slowed address still gets in, after its delay', async () => {
    const file = path.join(tmp.dir, 'passwd');
    await writeFile(file, `sensor:${await hashPassword('right', { iterations: 1000 })}\n`);
    broker = await startTestBroker({
      passwordFile: file,
      listeners: [loopbackListener({ allowAnonymous: false })],
      loginThrottle: { burst: 2, refillMs: 60_000, baseDelayMs: 200, maxDelayMs: 400, maxWaiting: 4, maxAddresses: 100 },
    });
    const port = broker.ports[0]!;
    for (let n = 0; n < 3; n++) expect(await guess(port, '127.0.0.1', n)).toBe(4);
    const began = Date.now();
    const client = await connectClient(broker.url(), { username: 'sensor', password: 'right' });
    expect(Date.now() - began).toBeGreaterThanOrEqual(150);
    await client.endAsync();
    expect(broker.broker.stats.authDelayed).toBe(1);
  });
});
