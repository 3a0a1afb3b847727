import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/broker/auth/password-file.js';
import { PACKET, RawMqttClient, u16 } from '../helpers/raw-mqtt.js';
import { loopbackListener, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(maxConnections: number, passwordFile?: string): Promise<TestBroker> {
  const b = await startTestBroker({
    limits: { maxConnections } as never,
    ...(passwordFile ? { passwordFile, listeners: [loopbackListener({ allowAnonymous: false })] } : {}),
  });
  cleanups.push(() => b.stop());
  return b;
}

const USER = 'sensor';
const PASSWORD = 'pw';

/** A CONNECT with username and password: its check takes a while, the window in which other connects race. */
function connectWithPassword(raw: RawMqttClient, clientId: string): void {
  const field = (text: string) => Buffer.concat([u16(Buffer.byteLength(text)), Buffer.from(text)]);
  raw.send(1, 0, Buffer.concat([Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0xc2, 0x00, 0x3c]), field(clientId), field(USER), field(PASSWORD)]));
}

/** Opens a raw connection and sends CONNECT; resolves with the CONNACK return code, or 'closed' without one. */
async function attempt(port: number, clientId: string, withPassword = false): Promise<{ raw: RawMqttClient; code: number | 'closed' }> {
  const raw = await RawMqttClient.open(port);
  cleanups.push(() => raw.close());
  if (withPassword) connectWithPassword(raw, clientId);
  else raw.connectPacket(clientId, true);
  try {
    const connack = await raw.next(PACKET.CONNACK, 5_000);
    return { raw, code: connack.body[1]! };
  } catch {
    return { raw, code: 'closed' };
  }
}

function closedWithin(raw: RawMqttClient, ms: number): Promise<boolean> {
  if (raw.socket.destroyed || raw.socket.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    raw.socket.once('close', () => (clearTimeout(timer), resolve(true)));
  });
}

describe('max_connections', () => {
  it('answers a refused connection with CONNACK 3 (server unavailable) and closes it at once', async () => {
    const b = await broker(2);
    const first = await attempt(b.ports[0]!, 'one');
    const second = await attempt(b.ports[0]!, 'two');
    expect([first.code, second.code]).toEqual([0, 0]);

    const refused = await attempt(b.ports[0]!, 'three');
    expect(refused.code).toBe(3);
    expect(await closedWithin(refused.raw, 2_000)).toBe(true);
    expect(b.broker.stats.connectionsRefused).toBe(1);

    // The slot of a client that leaves is free again.
    first.raw.close();
    await closedWithin(first.raw, 2_000);
    let again = await attempt(b.ports[0]!, 'four');
    for (let i = 0; i < 20 && again.code !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      again = await attempt(b.ports[0]!, `four-${i}`);
    }
    expect(again.code).toBe(0);
  });

  it('is never exceeded by connections racing, with disconnects in between (counted by the broker and by the clients)', async () => {
    const max = 5;
    const temp = await makeTempDir('pi-edge-maxconn-');
    cleanups.push(temp.remove);
    const passwd = path.join(temp.dir, 'passwd');
    await writeFile(passwd, `${USER}:${await hashPassword(PASSWORD)}\n`);
    const b = await broker(max, passwd);
    const port = b.ports[0]!;
    let brokerPeak = 0;
    const sampler = setInterval(() => (brokerPeak = Math.max(brokerPeak, b.broker.connectedClients)), 1);
    cleanups.push(() => clearInterval(sampler));
    let open = 0;
    let clientPeak = 0;
    let accepted = 0;
    let refused = 0;
    let unanswered = 0;

    const one = async (round: number, index: number): Promise<void> => {
      const { raw, code } = await attempt(port, `c-${round}-${index}`, true);
      if (code === 0) {
        accepted++;
        open++;
        clientPeak = Math.max(clientPeak, open);
        // Stay a little, then leave: the freed slot races the next connects.
        await new Promise((resolve) => setTimeout(resolve, (index % 4) * 5));
        raw.close();
        await closedWithin(raw, 2_000);
        open--;
      } else if (code === 3) {
        refused++;
        if (!(await closedWithin(raw, 2_000))) unanswered++;
      } else {
        unanswered++;
      }
    };
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 30 }, (_, i) => one(round, i)));
    }
    clearInterval(sampler);

    expect(unanswered).toBe(0);
    expect(accepted + refused).toBe(150);
    expect(accepted).toBeGreaterThanOrEqual(max);
    expect(refused).toBeGreaterThan(0);
    expect(clientPeak).toBeLessThanOrEqual(max);
    expect(brokerPeak).toBeLessThanOrEqual(max);
    expect(b.broker.stats.connectionsRefused).toBe(refused);
    // Every slot is given back: max clients can connect afterwards.
    for (let i = 0; i < 50 && b.broker.connectedClients > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const after = await Promise.all(Array.from({ length: max }, (_, i) => attempt(port, `after-${i}`, true)));
    expect(after.map((a) => a.code)).toEqual(Array(max).fill(0));
  }, 60_000);
});
