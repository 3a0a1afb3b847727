import net from 'node:net';
import { WebSocket } from 'ws';
import { takeFrames } from '../../test/helpers/raw-mqtt.js';

/**
 * The attacks of issue 16 as an outsider makes them, with raw sockets on loopback: each against any MQTT 3.1.1 broker
 * on `port` (ours or mosquitto), each returning what it could count from the outside. bench/hostile/run.ts runs them
 * long against both brokers; test/broker/hostile/*.test.ts runs short forms of them in npm test.
 */

export interface AttackResult {
  /** What was tried: connections, packets or messages. */
  attempts: number;
  /** Of those, how many the broker refused or cut off (what the limit is for). */
  refused: number;
  /** Free-form figures of this attack. */
  detail: Record<string, number | string | boolean>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function u16(value: number): Buffer {
  return Buffer.from([value >> 8, value & 0xff]);
}

export function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

function field(text: string | Buffer): Buffer {
  const bytes: Buffer = typeof text === "string" ? Buffer.from(text) : text;
  return Buffer.concat([u16(bytes.length), bytes]);
}

export function connectPacket(clientId: string, options: { clean?: boolean; username?: string; password?: string; keepalive?: number } = {}): Buffer {
  let flags = options.clean === false ? 0 : 0x02;
  if (options.username !== undefined) flags |= 0x80;
  if (options.password !== undefined) flags |= 0x40;
  const body = Buffer.concat([
    Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, flags]),
    u16(options.keepalive ?? 60),
    field(clientId),
    ...(options.username !== undefined ? [field(options.username)] : []),
    ...(options.password !== undefined ? [field(options.password)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

export function publishPacket(topic: string, payload: Buffer, qos: 0 | 1 | 2 = 0, messageId = 1): Buffer {
  const body = Buffer.concat([field(topic), ...(qos > 0 ? [u16(messageId)] : []), payload]);
  return Buffer.concat([Buffer.from([0x30 | (qos << 1)]), remainingLength(body.length), body]);
}

export function subscribePacket(filter: string, qos: 0 | 1 | 2, messageId = 1): Buffer {
  const body = Buffer.concat([u16(messageId), field(filter), Buffer.from([qos])]);
  return Buffer.concat([Buffer.from([0x82]), remainingLength(body.length), body]);
}

/** A socket with its incoming bytes framed into MQTT packets (type, body). */
export class WireClient {
  readonly packets: { type: number; flags: number; body: Buffer }[] = [];
  closed = false;
  private buffer: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.parse();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static open(port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new WireClient(socket)));
      socket.once('error', reject);
    });
  }

  /** The next packet of `type`, or undefined once the socket closed or `timeoutMs` passed. */
  async next(type: number, timeoutMs = 5_000): Promise<{ type: number; flags: number; body: Buffer } | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.packets.findIndex((p) => p.type === type);
      if (index >= 0) return this.packets.splice(index, 1)[0];
      const left = deadline - Date.now();
      if (this.closed || left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => ((this.wake = undefined), resolve()), left);
        this.wake = () => (clearTimeout(timer), (this.wake = undefined), resolve());
      });
    }
  }

  /** Resolves true once the socket is closed, false after `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await sleep(10);
    return this.closed;
  }

  /** CONNECT and its CONNACK's return code; undefined if the broker closed without one. */
  async connect(clientId: string, options: Parameters<typeof connectPacket>[1] = {}): Promise<number | undefined> {
    this.socket.write(connectPacket(clientId, options));
    const connack = await this.next(2);
    return connack?.body[1];
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(): void {
    this.buffer = takeFrames(this.buffer, (packet) => {
      this.packets.push(packet);
      this.wake?.();
    });
  }
}

/** Writes `total` bytes of `fill` in 64 KiB chunks, waiting for drain; stops early when the socket closes. */
async function stream(socket: net.Socket, total: number, fill = 0x61): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, fill);
  let sent = 0;
  while (sent < total && !socket.destroyed) {
    const piece = total - sent >= chunk.length ? chunk : chunk.subarray(0, total - sent);
    sent += piece.length;
    if (!socket.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = () => (socket.off('drain', done), socket.off('close', done), resolve());
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
  return sent;
}

/**
 * Point 2: `rounds` × `parallel` connects racing at a broker limited to `max` connections; each accepted client stays
 * a few ms and leaves. Counts, from the clients, how many were accepted at once at most, and refusals left open.
 */
export async function connectionFlood(port: number, options: { parallel: number; rounds: number; credentials?: { username: string; password: string } }): Promise<AttackResult> {
  let open = 0;
  let peakOpen = 0;
  let accepted = 0;
  let refused = 0;
  let refusedLeftOpen = 0;
  let unanswered = 0;
  const one = async (name: string, index: number) => {
    const client = await WireClient.open(port);
    const code = await client.connect(name, options.credentials ?? {});
    if (code === 0) {
      accepted++;
      peakOpen = Math.max(peakOpen, ++open);
      await sleep((index % 4) * 5);
      // Counted off as it closes its side: the broker can free the slot only after that.
      open--;
      client.close();
    } else if (code === undefined) {
      unanswered++;
      client.close();
    } else {
      refused++;
      if (!(await client.closedWithin(2_000))) refusedLeftOpen++;
      client.close();
    }
  };
  for (let round = 0; round < options.rounds; round++) {
    await Promise.all(Array.from({ length: options.parallel }, (_, i) => one(`flood-${round}-${i}`, i)));
  }
  return {
    attempts: options.rounds * options.parallel,
    refused,
    detail: { accepted, peakOpenSeenByClients: peakOpen, refusedLeftOpen, unanswered },
  };
}

/**
 * Point 3, before CONNECT: `connections` sockets each announce a CONNECT of `announced` bytes and stream up to
 * `send` of them, held `holdMs`, then closed. A broker that buffers them grows by connections × send.
 */
export async function partialConnects(port: number, options: { connections: number; announced: number; send: number; holdMs: number }): Promise<AttackResult> {
  const clients = await Promise.all(Array.from({ length: options.connections }, () => WireClient.open(port)));
  const header = Buffer.concat([Buffer.from([0x10]), remainingLength(options.announced)]);
  const sent = await Promise.all(
    clients.map(async (client) => {
      client.socket.write(header);
      return stream(client.socket, options.send);
    }),
  );
  await sleep(options.holdMs);
  const cut = clients.filter((c) => c.closed).length;
  for (const client of clients) client.close();
  return {
    attempts: options.connections,
    refused: cut,
    detail: { announcedBytes: options.announced, sentBytesTotal: sent.reduce((a, b) => a + b, 0) },
  };
}

/**
 * Point 3, after CONNECT: `connections` clients each send `send` bytes of a PUBLISH announcing `announced` (within
 * message_size_limit) and never the rest, held `holdMs`: the total across connections is what a bound must cap.
 */
export async function partialPublishes(port: number, options: { connections: number; announced: number; send: number; holdMs: number }): Promise<AttackResult> {
  const clients: WireClient[] = [];
  for (let i = 0; i < options.connections; i += 20) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(20, options.connections - i) }, () => WireClient.open(port)))));
  }
  const codes = await Promise.all(clients.map((c, i) => c.connect(`partial-${i}`)));
  const topic = Buffer.from('hostile/partial');
  const header = Buffer.concat([Buffer.from([0x30]), remainingLength(options.announced), u16(topic.length), topic]);
  await Promise.all(
    clients.map(async (client) => {
      client.socket.write(header);
      await stream(client.socket, options.send - header.length);
    }),
  );
  await sleep(options.holdMs);
  const cut = clients.filter((c) => c.closed).length;
  for (const client of clients) client.close();
  return {
    attempts: options.connections,
    refused: cut,
    detail: { connected: codes.filter((c) => c === 0).length, announcedBytes: options.announced, sentBytesEach: options.send },
  };
}

/**
 * Point 3 on WebSocket: before CONNECT, one message of `total` bytes sent as fragments of 64 KiB (never finished).
 * Returns the close code (1009: message too big) and the bytes sent until then.
 */
export async function webSocketFragments(url: string, options: { total: number; timeoutMs: number }): Promise<AttackResult> {
  const ws = new WebSocket(url, 'mqtt');
  await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  let closeCode = 0;
  const closed = new Promise<void>((resolve) => ws.once('close', (code) => ((closeCode = code), resolve())));
  ws.on('error', () => undefined);
  const chunk = Buffer.alloc(64 * 1024, 0x10);
  let sent = 0;
  const deadline = Date.now() + options.timeoutMs;
  while (sent < options.total && ws.readyState === WebSocket.OPEN && Date.now() < deadline) {
    await new Promise<void>((resolve) => ws.send(chunk, { fin: false, binary: true }, () => resolve()));
    sent += chunk.length;
    while (ws.bufferedAmount > 1024 * 1024 && ws.readyState === WebSocket.OPEN) await sleep(5);
  }
  await Promise.race([closed, sleep(1_000)]);
  const wasClosed = ws.readyState !== WebSocket.OPEN;
  ws.terminate();
  return { attempts: 1, refused: wasClosed ? 1 : 0, detail: { closeCode, sentBytes: sent } };
}

/**
 * Point 4: one subscriber that never reads its socket, a publisher sending `messages` of `payloadBytes` at `qos`
 * (waiting for each PUBACK at QoS 1), and a healthy subscriber. Measures whether the publisher was held up and
 * whether the healthy one got everything. (Whether the stuck one was disconnected only the broker can tell: a socket
 * that is not read does not see its close.)
 */
export async function stuckSubscriber(
  port: number,
  options: { messages: number; payloadBytes: number; qos: 0 | 1; timeoutMs: number; /** Kept open, unread, this long after the last message. */ holdStuckMs?: number },
): Promise<AttackResult> {
  const topic = 'hostile/stuck';
  const stuck = await WireClient.open(port);
  await stuck.connect('stuck-subscriber');
  stuck.socket.write(subscribePacket(topic, options.qos));
  await stuck.next(9);
  // Stop reading: the kernel's buffers fill, then the broker's writes to it stall.
  stuck.socket.pause();
  const healthy = await WireClient.open(port);
  await healthy.connect('healthy-subscriber');
  healthy.socket.write(subscribePacket(topic, options.qos));
  await healthy.next(9);
  let received = 0;
  // After WireClient's own listener has framed the chunk: each PUBLISH acknowledged as it arrives.
  healthy.socket.on('data', () => {
    for (const p of healthy.packets.splice(0)) {
      if (p.type !== 3) continue;
      received++;
      if (((p.flags >> 1) & 3) === 1) {
        const topicLength = p.body.readUInt16BE(0);
        healthy.socket.write(Buffer.concat([Buffer.from([0x40, 0x02]), p.body.subarray(2 + topicLength, 4 + topicLength)]));
      }
    }
  });
  const publisher = await WireClient.open(port);
  await publisher.connect('publisher');
  const payload = Buffer.alloc(options.payloadBytes, 0x62);
  const started = Date.now();
  let acked = 0;
  let longestWaitMs = 0;
  for (let i = 0; i < options.messages && Date.now() - started < options.timeoutMs; i++) {
    const id = (i % 65535) + 1;
    const at = Date.now();
    publisher.socket.write(publishPacket(topic, payload, options.qos, id));
    if (options.qos === 1) {
      if (await publisher.next(4, options.timeoutMs)) acked++;
      else break;
    } else if (i % 50 === 49) {
      // QoS 0 has no acknowledgement: a PINGREQ's answer every 50 messages keeps the publisher at the broker's pace
      // (a flood faster than any subscriber reads would measure the healthy one's queue, not the stuck one's cost).
      publisher.socket.write(Buffer.from([0xc0, 0x00]));
      if (!(await publisher.next(13, options.timeoutMs))) break;
    }
    longestWaitMs = Math.max(longestWaitMs, Date.now() - at);
  }
  const publishMs = Date.now() - started;
  const deadline = Date.now() + 5_000;
  while (received < options.messages && Date.now() < deadline) await sleep(20);
  const stuckConnected = !stuck.closed;
  if (options.holdStuckMs) await sleep(options.holdStuckMs);
  stuck.close();
  healthy.close();
  publisher.close();
  return {
    attempts: options.messages,
    refused: options.messages - received,
    detail: { publishMs, longestPublishWaitMs: longestWaitMs, acked, healthyReceived: received, stuckStillConnected: stuckConnected },
  };
}

/**
 * Point 5: a persistent session subscribes at QoS 1 and goes away; `messages` QoS 1 messages of `payloadBytes` are
 * published for it, `rounds` times, and between rounds it reconnects without acknowledging anything (which made a
 * count kept per connection start again). At the end it reconnects, acknowledges everything and counts what it gets:
 * what the broker kept for it.
 */
export async function offlineSession(port: number, options: { messages: number; payloadBytes: number; rounds: number }): Promise<AttackResult> {
  const topic = 'hostile/offline';
  const id = `offline-session-${port}`;
  const session = await WireClient.open(port);
  await session.connect(id, { clean: false });
  session.socket.write(subscribePacket(topic, 1));
  await session.next(9);
  session.close();
  await sleep(200);
  const publisher = await WireClient.open(port);
  await publisher.connect(`offline-publisher-${port}`);
  const payload = Buffer.alloc(options.payloadBytes, 0x63);
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < options.messages; i++) {
      publisher.socket.write(publishPacket(topic, payload, 1, (i % 65535) + 1));
      if (i % 100 === 99) await publisher.next(4, 5_000);
    }
    await sleep(300);
    if (round === options.rounds - 1) break;
    // Back without acknowledging, and gone again.
    const back = await WireClient.open(port);
    await back.connect(id, { clean: false });
    await sleep(300);
    back.close();
    await sleep(200);
  }
  publisher.close();
  const last = await WireClient.open(port);
  await last.connect(id, { clean: false });
  let received = 0;
  for (;;) {
    const message = await last.next(3, 1_000);
    if (!message) break;
    received++;
    const qos = (message.flags >> 1) & 3;
    if (qos > 0) {
      const topicLength = message.body.readUInt16BE(0);
      last.socket.write(Buffer.concat([Buffer.from([0x40, 0x02]), message.body.subarray(2 + topicLength, 4 + topicLength)]));
    }
  }
  last.close();
  return { attempts: options.messages * options.rounds, refused: options.messages * options.rounds - received, detail: { keptForSession: received } };
}

/**
 * Point 5: a persistent session publishes QoS 2 messages with fresh identifiers and never sends PUBREL, over
 * `rounds` connections. Counts the PUBRECs it got (each an unreleased message the broker holds) and whether it was
 * cut off.
 */
export async function unreleasedQos2(port: number, options: { perRound: number; payloadBytes: number; rounds: number }): Promise<AttackResult> {
  let pubrecs = 0;
  let cutOff = 0;
  const payload = Buffer.alloc(options.payloadBytes, 0x64);
  let nextId = 1;
  for (let round = 0; round < options.rounds; round++) {
    const client = await WireClient.open(port);
    await client.connect(`qos2-hoarder-${port}`, { clean: false });
    for (let i = 0; i < options.perRound && !client.closed; i++) {
      client.socket.write(publishPacket('hostile/qos2', payload, 2, nextId));
      nextId = (nextId % 65535) + 1;
      if (i % 50 === 49) await sleep(1);
    }
    for (;;) {
      const pubrec = await client.next(5, 500);
      if (!pubrec) break;
      pubrecs++;
    }
    if (client.closed) cutOff++;
    client.close();
    await client.closedWithin(2_000);
  }
  return { attempts: options.perRound * options.rounds, refused: options.perRound * options.rounds - pubrecs, detail: { pubrecs, connectionsCutOff: cutOff } };
}

/**
 * Publishes on its own topic every `intervalMs` and waits for it to come back: whether the broker served an ordinary
 * client while an attack ran, and the longest round trip.
 */
export async function startProbe(port: number, intervalMs = 100): Promise<{ stop(): Promise<{ sent: number; received: number; longestMs: number }> }> {
  const probe = await WireClient.open(port);
  await probe.connect(`probe-${process.pid}`);
  probe.socket.write(subscribePacket('hostile/probe', 0));
  await probe.next(9);
  let sent = 0;
  let received = 0;
  let longest = 0;
  let running = true;
  const loop = (async () => {
    while (running && !probe.closed) {
      const at = Date.now();
      probe.socket.write(publishPacket('hostile/probe', Buffer.from(String(at))));
      sent++;
      const back = await probe.next(3, 5_000);
      if (back) {
        received++;
        longest = Math.max(longest, Date.now() - at);
      }
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      probe.close();
      return { sent, received, longestMs: longest };
    },
  };
}
