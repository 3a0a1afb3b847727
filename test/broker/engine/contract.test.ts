import { Aedes, type AedesOptions } from 'aedes';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { duplexPair, type Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireFromAedes, type AedesBrokerInternals, type AedesClientInternals, type PacketLike } from '../../../src/broker/engine/aedes-internals.js';
import { createMessageEmitter, type TopicMatcher } from '../../../src/broker/engine/delivery/match-cache.js';
import { createPersistence, type AedesPersistence } from '../../../src/broker/engine/persistence/stores.js';
import { silentLogger } from '../../../src/util/logger.js';

/**
 * The engine reads and replaces private parts of aedes and of the packages aedes loads. Their typings say nothing of
 * those parts, so an upgrade that renames one compiles and then misbehaves at run time. Each probe below checks one
 * such part on real instances, loaded the way the engine loads them, and is named after it: a failing probe says
 * what changed and which engine file to look at. Adding a part the engine relies on is one line in PROBES.
 */

interface MqttPacketModule {
  generate(packet: object): Buffer;
  parser(options?: object): NodeJS.EventEmitter & { parse(buffer: Buffer): number };
  writeToStream: { cacheNumbers: boolean };
}
type MqEmitterFactory = (options: { matchEmptyLevels: boolean }) => {
  _matcher: TopicMatcher;
  closed: boolean;
  on(topic: string, listener: (...args: never[]) => void, done?: () => void): unknown;
  removeListener(topic: string, listener: (...args: never[]) => void, done?: () => void): unknown;
  removeAllListeners(topic: string, done?: () => void): unknown;
  emit(packet: object, done?: (error?: Error) => void): unknown;
  close(done: () => void): void;
};
type PacketConstructor = new (original: object, broker: { id: string; counter: number }) => PacketLike;
type Loose = Record<string, unknown>;

/** Everything the probes look at: one broker with the engine's store and emitter, one client connected to it. */
interface Subjects {
  broker: AedesBrokerInternals & Loose;
  client: AedesClientInternals & Loose;
  /** The broker's end of the connection, handed to broker.handle(). */
  conn: Duplex;
  /** The MQTT client's end. */
  peer: Duplex;
  store: AedesPersistence;
  /** What aedes' SUBSCRIBE handed to the client's deliverQoS while a spy stood in for it. */
  deliveredToSpy: PacketLike[];
  send(packet: object): void;
  mqttPacket: MqttPacketModule;
  mqemitter: MqEmitterFactory;
  Packet: PacketConstructor;
}

interface Probe {
  /** What is checked, and where the engine relies on it: the test's name. */
  name: string;
  check(s: Subjects): void | Promise<void>;
}

type Kind = 'number' | 'string' | 'boolean' | 'function' | 'object';
type Owner = 'aedes Client' | 'aedes broker' | 'mqtt-packet Parser';
const owners: Record<Owner, (s: Subjects) => Loose> = {
  'aedes Client': (s) => s.client,
  'aedes broker': (s) => s.broker,
  'mqtt-packet Parser': (s) => s.client._parser as unknown as Loose,
};

function kindOf(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

/** `owner` has `field`, of `kind`. */
function has(owner: Owner, field: string, kind: Kind, usedBy: string): Probe {
  return {
    name: `${owner} has ${field} (${kind}), used by ${usedBy}`,
    check: (s) => expect(kindOf(owners[owner](s)[field]), `${owner}.${field}`).toBe(kind),
  };
}

function behaves(name: string, usedBy: string, check: Probe['check']): Probe {
  return { name: `${name}, relied on by ${usedBy}`, check };
}

const SUBSCRIBED = 'probe/#';
const PUBLISHED = 'probe/topic';

const PROBES: Probe[] = [
  // aedes lib/client.js
  has('aedes Client', 'id', 'string', 'delivery/outgoing-window.ts, delivery/message-flow.ts'),
  has('aedes Client', 'clean', 'boolean', 'delivery/outgoing-window.ts'),
  has('aedes Client', 'connected', 'boolean', 'delivery/message-flow.ts, delivery/outgoing-window.ts, engine.ts'),
  has('aedes Client', 'connecting', 'boolean', 'delivery/outgoing-window.ts'),
  has('aedes Client', 'closed', 'boolean', 'wire/read-loop.ts, delivery/message-flow.ts, delivery/outgoing-window.ts'),
  has('aedes Client', '_parsingBatch', 'number', 'wire/read-loop.ts, delivery/message-flow.ts'),
  has('aedes Client', 'connackSent', 'boolean', 'engine.ts (ConnectionReader.queued)'),
  has('aedes Client', '_nextBatch', 'function', 'wire/read-loop.ts, delivery/message-flow.ts'),
  has('aedes Client', '_keepaliveInterval', 'number', 'delivery/message-flow.ts'),
  has('aedes Client', '_keepaliveTimer', 'object', 'delivery/message-flow.ts'),
  has('aedes Client', 'broker', 'object', 'delivery/message-flow.ts, delivery/outgoing-window.ts'),
  has('aedes Client', 'subscriptions', 'object', 'delivery/subscription-registry.ts, delivery/outgoing-window.ts'),
  has('aedes Client', 'duplicates', 'object', 'delivery/outgoing-window.ts'),
  has('aedes Client', '_nextId', 'number', 'delivery/outgoing-window.ts'),
  has('aedes Client', '_parser', 'object', 'engine.ts, wire/read-loop.ts'),
  has('aedes Client', 'deliverQoS', 'function', 'engine.ts'),
  has('aedes Client', 'deliver0', 'function', 'engine.ts'),
  has('aedes Client', 'waitForDrain', 'function', 'delivery/message-flow.ts, delivery/outgoing-window.ts'),
  has('aedes Client', 'emit', 'function', 'delivery/message-flow.ts, delivery/session-writes.ts'),
  behaves('aedes Client keeps the stream handed to handle() as conn', 'engine.ts, wire/read-loop.ts', (s) => expect(s.client.conn).toBe(s.conn)),
  behaves('aedes Client keeps its broker as broker', 'delivery/message-flow.ts', (s) => expect(s.client.broker).toBe(s.broker)),
  behaves("aedes Client reads through _nextBatch as conn's 'readable' listener", 'wire/read-loop.ts', (s) =>
    expect(s.conn.listeners('readable')).toContain(s.client._nextBatch),
  ),
  behaves('aedes Client pause() sets _paused and resume() calls the current _nextBatch', 'wire/read-loop.ts', (s) => {
    const client = s.client as unknown as AedesClientInternals & { pause(): void; resume(): void };
    const own = client._nextBatch;
    let called = 0;
    client._nextBatch = () => void called++;
    try {
      client.pause();
      expect(client._paused, '_paused after pause()').toBe(true);
      client.resume();
      expect(client._paused, '_paused after resume()').toBe(false);
      expect(called, 'replaced _nextBatch called by resume()').toBe(1);
    } finally {
      client._nextBatch = own;
    }
  }),
  behaves('aedes Client has _keepaliveInterval > 0 and a refreshable _keepaliveTimer after a CONNECT with keepalive', 'delivery/message-flow.ts', (s) => {
    expect(s.client._keepaliveInterval).toBeGreaterThan(0);
    expect(typeof s.client._keepaliveTimer?.refresh).toBe('function');
  }),
  behaves('aedes Client records each subscription as subscriptions[filter] = { qos, func, rap, nl }', 'delivery/subscription-registry.ts, delivery/outgoing-window.ts', (s) => {
    const record = s.client.subscriptions[SUBSCRIBED] as Loose | undefined;
    expect(record, `subscriptions['${SUBSCRIBED}']`).toBeDefined();
    expect(record).toMatchObject({ qos: 1, func: expect.any(Function) });
    expect(record).toHaveProperty('rap');
    expect(record).toHaveProperty('nl');
  }),
  behaves("aedes registers a subscription's func itself in the broker's matcher", 'delivery/subscription-registry.ts, delivery/message-router.ts', (s) => {
    const func = (s.client.subscriptions[SUBSCRIBED] as { func?: unknown } | undefined)?.func;
    const mq = s.broker.mq as { _matcher: TopicMatcher };
    expect(mq._matcher.match(PUBLISHED)).toContain(func);
  }),
  behaves("aedes SUBSCRIBE delivers through the client's deliverQoS as it is when SUBSCRIBE is handled", 'engine.ts (installDelivery)', (s) => {
    const func = (s.client.subscriptions[SUBSCRIBED] as unknown as { func: (packet: object, done: () => void) => void }).func;
    s.deliveredToSpy.length = 0;
    func({ cmd: 'publish', topic: PUBLISHED, payload: Buffer.from('x'), qos: 1, retain: false, dup: false }, () => {});
    expect(s.deliveredToSpy.map((packet) => packet.topic)).toEqual([PUBLISHED]);
  }),

  // aedes aedes.js
  has('aedes broker', 'id', 'string', 'delivery/message-router.ts, persistence/journaled.ts'),
  has('aedes broker', 'counter', 'number', 'delivery/message-router.ts, persistence/journaled.ts'),
  has('aedes broker', 'maxTopicLevels', 'number', 'delivery/message-flow.ts, delivery/message-router.ts'),
  has('aedes broker', 'clients', 'object', 'engine.ts (isConnected)'),
  has('aedes broker', 'connectedClients', 'number', 'engine.ts'),
  has('aedes broker', 'closed', 'boolean', 'engine.ts'),
  has('aedes broker', 'queueLimit', 'number', 'engine.ts (CONNECT_BACKLOG_PACKETS)'),
  has('aedes broker', 'handle', 'function', 'engine.ts'),
  has('aedes broker', 'publish', 'function', 'engine.ts (route), delivery/message-flow.ts'),
  has('aedes broker', 'preConnect', 'function', 'engine.ts (wrapPreConnect)'),
  has('aedes broker', 'authorizeForward', 'function', 'delivery/outgoing-window.ts'),
  has('aedes broker', 'published', 'function', 'delivery/message-router.ts'),
  has('aedes broker', 'persistence', 'object', 'delivery/message-flow.ts'),
  has('aedes broker', 'listenerCount', 'function', 'delivery/message-flow.ts'),
  behaves('aedes broker keeps a connected client in clients[id]', 'engine.ts (isConnected)', (s) => expect((s.broker.clients as Loose)[s.client.id]).toBe(s.client)),
  behaves('aedes broker keeps the persistence option as persistence', 'delivery/message-flow.ts', (s) => expect(s.broker.persistence).toBe(s.store)),
  behaves("aedes broker routes a client's PUBLISH through broker.publish(packet, client, done)", 'engine.ts (route)', async (s) => {
    const broker = s.broker as Loose;
    const own = broker.publish;
    try {
      const seen = new Promise<unknown[]>((resolve, reject) => {
        // aedes' own announcements ($SYS) go on as before; only the client's message is caught.
        broker.publish = (...args: unknown[]) => {
          if ((args[0] as PacketLike).topic === 'probe/route') resolve(args);
          else (own as (...a: unknown[]) => void).apply(broker, args);
        };
        // A broken read loop never gets there: fail here, not at the test timeout, so later probes still see a live client.
        setTimeout(() => reject(new Error('broker.publish was not called for the PUBLISH')), 5000).unref();
      });
      s.send({ cmd: 'publish', topic: 'probe/route', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
      const [, client, done] = await seen;
      expect(client).toBe(s.client);
      expect(typeof done).toBe('function');
      (done as () => void)();
    } finally {
      broker.publish = own;
    }
  }),

  // mqtt-packet parser.js, writeToStream.js
  has('mqtt-packet Parser', 'parse', 'function', 'wire/packet-reader.ts'),
  has('mqtt-packet Parser', 'settings', 'object', 'wire/packet-reader.ts'),
  has('mqtt-packet Parser', '_stateCounter', 'number', 'wire/packet-reader.ts'),
  behaves('mqtt-packet Parser has _list with a length', 'wire/packet-reader.ts', (s) => {
    expect(typeof (s.client._parser._list as { length?: unknown } | undefined)?.length).toBe('number');
  }),
  behaves("mqtt-packet Parser's settings.protocolVersion is the CONNECT's", 'wire/packet-reader.ts', (s) => expect(s.client._parser.settings.protocolVersion).toBe(4)),
  behaves("aedes Client listens to its Parser's 'packet' and 'error' events", 'wire/packet-reader.ts', (s) => {
    expect(s.client._parser.listenerCount('packet')).toBeGreaterThan(0);
    expect(s.client._parser.listenerCount('error')).toBeGreaterThan(0);
  }),
  behaves('aedes Client parses with the mqtt-packet that requireFromAedes loads', 'aedes-internals.ts, packet-numbers.ts', (s) =>
    expect(s.client._parser).toBeInstanceOf(s.mqttPacket.parser().constructor),
  ),
  behaves('mqtt-packet writeToStream.cacheNumbers can be switched off', 'packet-numbers.ts', (s) => {
    const writeToStream = s.mqttPacket.writeToStream;
    const before = writeToStream.cacheNumbers;
    try {
      writeToStream.cacheNumbers = false;
      expect(writeToStream.cacheNumbers).toBe(false);
      writeToStream.cacheNumbers = true;
      expect(writeToStream.cacheNumbers).toBe(true);
    } finally {
      writeToStream.cacheNumbers = before;
    }
  }),

  // mqemitter mqemitter.js, qlobber
  behaves('mqemitter has _matcher with add, remove and match', 'delivery/match-cache.ts', (s) => {
    const matcher = s.mqemitter({ matchEmptyLevels: true })._matcher as unknown as Loose;
    for (const method of ['add', 'remove', 'match']) expect(typeof matcher[method], `_matcher.${method}`).toBe('function');
  }),
  behaves('mqemitter calls nothing of its _matcher but add, remove and match', 'delivery/match-cache.ts (MatchCache stands in for it)', async (s) => {
    const emitter = s.mqemitter({ matchEmptyLevels: true });
    const used = new Set<string | symbol>();
    // Methods run on the matcher itself, so only mqemitter's own accesses are recorded, not qlobber's.
    emitter._matcher = new Proxy(emitter._matcher, {
      get: (target, key) => {
        used.add(key);
        const value: unknown = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const listener = (_packet: object, done: () => void) => done();
    await new Promise<void>((resolve) => emitter.on('a/+', listener, resolve));
    await new Promise<void>((resolve) => emitter.emit({ topic: 'a/b' }, () => resolve()));
    await new Promise<void>((resolve) => emitter.removeListener('a/+', listener, resolve));
    await new Promise<void>((resolve) => emitter.removeAllListeners('a/+', resolve));
    expect([...used].map(String).sort()).toEqual(['add', 'match', 'remove']);
  }),
  behaves('mqemitter has closed, false until close()', 'delivery/message-router.ts', async (s) => {
    const emitter = s.mqemitter({ matchEmptyLevels: true });
    expect(emitter.closed).toBe(false);
    await new Promise<void>((resolve) => emitter.close(resolve));
    expect(emitter.closed).toBe(true);
  }),
  behaves('qlobber match() returns an array, and remove(topic, undefined) removes every value of the topic', 'delivery/match-cache.ts', (s) => {
    const matcher = s.mqemitter({ matchEmptyLevels: true })._matcher;
    matcher.add('a/+', 1);
    matcher.add('a/+', 2);
    expect(matcher.match('a/b')).toEqual([1, 2]);
    matcher.remove('a/+', undefined);
    expect(matcher.match('a/b')).toEqual([]);
  }),

  // aedes-packet packet.js
  behaves("aedes-packet numbers a packet with the broker's id and next counter", 'delivery/message-router.ts', (s) => {
    const broker = { id: 'probe-broker', counter: 41 };
    const packet = new s.Packet({ topic: 't', payload: Buffer.from('x'), qos: 1 }, broker);
    expect(packet).toMatchObject({ brokerId: 'probe-broker', brokerCounter: 42 });
    expect(broker.counter).toBe(42);
  }),
  behaves('aedes-packet copies cmd, topic, payload, qos, retain, dup and leaves messageId unset', 'delivery/message-router.ts, wire/publish-encoder.ts', (s) => {
    const payload = Buffer.from('x');
    const packet = new s.Packet({ topic: 't', payload, qos: 1, retain: true, dup: true, messageId: 7 }, { id: 'b', counter: 0 });
    expect(packet).toMatchObject({ cmd: 'publish', topic: 't', payload, qos: 1, retain: true, dup: true });
    expect(packet.messageId).toBeUndefined();
  }),

  // aedes-persistence asyncPersistence.js, as persistence/stores.ts loads it
  behaves('persistence/stores.ts loads the aedes-persistence that aedes resolves', 'persistence/stores.ts', () => {
    const fromStores = createRequire(new URL('../../../src/broker/engine/persistence/stores.ts', import.meta.url));
    expect(fromStores.resolve('aedes-persistence/asyncPersistence.js')).toBe(requireFromAedes.resolve('aedes-persistence/asyncPersistence.js'));
  }),
  ...journaledForwards().map((method) =>
    behaves(`aedes-persistence asyncPersistence has ${method}()`, 'persistence/journaled.ts', (s) =>
      expect(typeof innerStore(s)[method], method).toBe('function'),
    ),
  ),
  behaves('aedes-persistence asyncPersistence has a broker getter', 'persistence/journaled.ts', (s) => expect(innerStore(s).broker).toBe(s.broker)),
  behaves("JournaledPersistence has every method of aedes-persistence's store, which aedes may call", 'persistence/journaled.ts', (s) => {
    const inner = innerStore(s);
    const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(inner)).filter(
      (name) => name !== 'constructor' && typeof Object.getOwnPropertyDescriptor(Object.getPrototypeOf(inner), name)?.value === 'function',
    );
    const missing = methods.filter((name) => typeof (s.store as Loose)[name] !== 'function');
    expect(missing).toEqual([]);
  }),
];

/** The inner store's methods JournaledPersistence forwards to by name, read from its source so none is left out. */
function journaledForwards(): string[] {
  const source = readFileSync(new URL('../../../src/broker/engine/persistence/journaled.ts', import.meta.url), 'utf8');
  const names = new Set([...source.matchAll(/this\.call\('(\w+)'/g)].map((match) => match[1]!));
  for (const direct of source.matchAll(/this\.inner\.(\w+)/g)) names.add(direct[1]!);
  names.delete('broker');
  return [...names].sort();
}

function innerStore(s: Subjects): Loose {
  return (s.store as unknown as { inner: Loose }).inner;
}

describe('the aedes internals the engine relies on', () => {
  const subjects = {} as Subjects;
  let aedes: Aedes;

  beforeAll(async () => {
    const mqttPacket = requireFromAedes('mqtt-packet') as MqttPacketModule;
    const store = await createPersistence(undefined, silentLogger());
    aedes = await Aedes.createBroker({
      persistence: store as unknown as AedesOptions['persistence'],
      mq: createMessageEmitter().emitter as unknown as AedesOptions['mq'],
    });
    const [conn, peer] = duplexPair();
    const client = aedes.handle(conn) as unknown as AedesClientInternals & Loose;

    const received: { cmd: string }[] = [];
    const waiting: (() => void)[] = [];
    const parser = mqttPacket.parser();
    parser.on('packet', (packet: { cmd: string }) => {
      received.push(packet);
      waiting.splice(0).forEach((wake) => wake());
    });
    peer.on('data', (chunk: Buffer) => parser.parse(chunk));
    const send = (packet: object) => peer.write(mqttPacket.generate(packet));
    const reply = async (cmd: string) => {
      while (!received.some((packet) => packet.cmd === cmd)) await new Promise<void>((wake) => waiting.push(wake));
    };

    send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'probe', clean: true, keepalive: 30 });
    await reply('connack');

    const deliveredToSpy: PacketLike[] = [];
    const aedesDeliverQoS = client.deliverQoS;
    client.deliverQoS = (packet, done) => {
      deliveredToSpy.push(packet);
      done();
    };
    send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: SUBSCRIBED, qos: 1 }] });
    await reply('suback');
    client.deliverQoS = aedesDeliverQoS;

    Object.assign(subjects, {
      broker: aedes as unknown as Subjects['broker'],
      client,
      conn,
      peer,
      store,
      deliveredToSpy,
      send,
      mqttPacket,
      mqemitter: requireFromAedes('mqemitter') as MqEmitterFactory,
      Packet: requireFromAedes('aedes-packet') as PacketConstructor,
    } satisfies Subjects);
  });

  afterAll(async () => {
    subjects.peer?.destroy();
    await new Promise<void>((resolve) => aedes?.close(() => resolve()));
    await subjects.store?.destroy();
  });

  it('reads the methods JournaledPersistence forwards from its source', () => {
    // Guards the probes generated from it: a changed call style must not leave them silently empty.
    expect(journaledForwards()).toEqual(expect.arrayContaining(['storeRetained', 'addSubscriptions', 'setup', 'destroy']));
  });

  for (const probe of PROBES) it(probe.name, () => probe.check(subjects));
});
