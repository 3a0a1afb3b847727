import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import type { PacketLike } from '../../../../src/broker/engine/aedes-internals.js';
import { createMessageEmitter } from '../../../../src/broker/engine/delivery/match-cache.js';
import { MessageRouter, type RouterHost, type RoutingStore } from '../../../../src/broker/engine/delivery/message-router.js';
import { SessionWrites, type SessionQueueStore } from '../../../../src/broker/engine/delivery/session-writes.js';
import { SubscriptionRegistry, type LiveDeliverer } from '../../../../src/broker/engine/delivery/subscription-registry.js';
import type { AedesPersistence } from '../../../../src/broker/engine/persistence/stores.js';
import { JournaledPersistence } from '../../../../src/broker/engine/persistence/journaled.js';

const require = createRequire(import.meta.url);
const MemoryPersistence = require('aedes-persistence/asyncPersistence.js') as new () => AedesPersistence;

type Listener = (packet: PacketLike, done: () => void) => void;

/** A router over the real matcher and the real (in-memory) session store. */
async function setup(maxTopicLevels = 100) {
  const store = new JournaledPersistence(undefined, new MemoryPersistence(), { flushIntervalMs: 60_000 });
  const host = {
    id: 'broker-1',
    counter: 0,
    maxTopicLevels,
    published: vi.fn((_packet: object, _client: unknown, done: (error?: Error | null) => void) => done(null)),
    emit: vi.fn(() => true),
  };
  await store.setup(host);
  const { emitter, matcher } = createMessageEmitter();
  const registry = new SubscriptionRegistry();
  const flushEvents: string[] = [];
  const flushes = { hold: () => flushEvents.push('hold'), release: () => flushEvents.push('release') };
  const sessions = new SessionWrites(store as unknown as SessionQueueStore);
  const router = new MessageRouter(host as RouterHost, store as unknown as RoutingStore, matcher, emitter, registry, flushes, sessions);
  const listen = (filter: string, listener: Listener | ((done: () => void) => void)) => matcher.add(filter, listener);
  const queued = async (clientId: string) => {
    const out: PacketLike[] = [];
    for await (const packet of store.outgoingStream({ id: clientId })) out.push(packet as PacketLike);
    return out.map((p) => p.payload.toString());
  };
  const publish = (topic: string, payload: string, qos: 0 | 1 | 2, extra: Partial<PacketLike> = {}) =>
    new Promise<Error | null | undefined>((resolve) =>
      router.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false, ...extra }, null, resolve),
    );
  return { store, host, router, registry, listen, queued, publish, flushEvents, sessions };
}

describe('MessageRouter', () => {
  it('delivers within the publish call once the store knows the topic, and queues for persistent sessions in it', async () => {
    const { store, router, listen, queued, publish } = await setup();
    await store.addSubscriptions({ id: 'persistent' }, [{ topic: 'a/+', qos: 1 }]);

    // First message of the topic: the store looks its subscribers up (a promise), then routing goes on.
    await publish('a/b', 'first', 1);
    expect(await queued('persistent')).toEqual(['first']);
    let delivered = false;
    listen('a/b', (_packet, done) => {
      delivered = true;
      done();
    });
    router.publish({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('second'), qos: 1, retain: false, dup: false }, null, () => {});
    // Adding a listener does not change the store's subscriptions, so this one went through in one pass.
    expect(delivered).toBe(true);
    expect(await queued('persistent')).toEqual(['first', 'second']);
  });

  it('queues a message for the persistent sessions after its deliveries, then applies what the windows changed', async () => {
    const { store, listen, publish, sessions } = await setup();
    await store.addSubscriptions({ id: 'persistent' }, [{ topic: 's/#', qos: 1 }]);
    await store.addSubscriptions({ id: 'denied' }, [{ topic: 's/#', qos: 1 }]);
    const errors: Error[] = [];
    const owner = (id: string) => ({ id, emit: (_event: 'error', error: Error) => errors.push(error) > 0 });
    listen('s/#', (packet, done) => {
      // What a window does as it writes the message (its identifier), and for a client it must not reach (ACL).
      sessions.numbered(owner('persistent'), { ...packet, messageId: 7 });
      sessions.dropped(owner('denied'), packet);
      done();
    });
    await publish('s/1', 'lookup', 1); // the store's first lookup of the topic: routed after a promise
    await publish('s/1', 'cached', 1); // routed in one pass
    expect(errors).toEqual([]);
    const stream = async (clientId: string) => {
      const out: PacketLike[] = [];
      for await (const packet of store.outgoingStream({ id: clientId })) out.push(packet as PacketLike);
      return out.map((p) => [p.payload.toString(), p.messageId]);
    };
    expect(await stream('persistent')).toEqual([
      ['lookup', 7],
      ['cached', 7],
    ]);
    expect(await stream('denied')).toEqual([]);
  });

  it('queues QoS 1 and 2 messages, not QoS 0 ones', async () => {
    const { store, queued, publish } = await setup();
    await store.addSubscriptions({ id: 'p' }, [{ topic: 'q/#', qos: 2 }]);
    await publish('q/0', 'zero', 0);
    await publish('q/1', 'one', 1);
    await publish('q/2', 'two', 2);
    expect(await queued('p')).toEqual(['one', 'two']);
  });

  it('does not queue $ topics for the persistent subscriptions of filters starting with a wildcard', async () => {
    const { store, queued, publish } = await setup();
    await store.addSubscriptions({ id: 'all' }, [{ topic: '#', qos: 1 }]);
    await store.addSubscriptions({ id: 'one-level' }, [{ topic: '+/x', qos: 1 }]);
    await store.addSubscriptions({ id: 'dollar' }, [{ topic: '$app/#', qos: 1 }]);
    await publish('$app/x', 'd', 1);
    await publish('app/x', 'a', 1);
    expect(await queued('all')).toEqual(['a']);
    expect(await queued('one-level')).toEqual(['a']);
    expect(await queued('dollar')).toEqual(['d']);
  });

  it('ends a publish when every listener has called back, then calls published and emits publish with the original', async () => {
    const { host, router, listen } = await setup();
    const later: (() => void)[] = [];
    listen('t', (_packet, done) => later.push(done));
    // mqemitter's convention, kept for aedes' own listeners: a one-parameter listener gets only the callback.
    const callbackOnly = vi.fn((done: () => void) => done());
    listen('t', callbackOnly);
    const original = { cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0 as const, retain: false, dup: false };
    const done = vi.fn();
    router.publish(original, null, done);

    expect(callbackOnly).toHaveBeenCalledWith(expect.any(Function));
    expect(done).not.toHaveBeenCalled();
    expect(host.published).not.toHaveBeenCalled();
    later[0]!();
    expect(done).toHaveBeenCalledWith(null);
    expect(host.published).toHaveBeenCalledWith(original, null, done);
    expect(host.emit).toHaveBeenCalledWith('publish', original, null);
  });

  it('holds the turn\'s flush while it hands a message to its subscribers, and releases it when a listener throws', async () => {
    const { listen, publish, flushEvents, router } = await setup();
    listen('t', (_packet, done) => {
      flushEvents.push('deliver 1');
      done();
    });
    listen('t', (_packet, done) => {
      flushEvents.push('deliver 2');
      done();
    });
    await publish('t', 'x', 0);
    expect(flushEvents).toEqual(['hold', 'deliver 1', 'deliver 2', 'release']);

    flushEvents.length = 0;
    listen('u', () => {
      throw new Error('listener failed');
    });
    const packet = { cmd: 'publish' as const, topic: 'u', payload: Buffer.from('x'), qos: 0 as const, retain: false, dup: false };
    expect(() => router.publish(packet, null, () => {})).toThrow('listener failed');
    expect(flushEvents).toEqual(['hold', 'release']);
  });

  it('hands listeners aedes\' packet: the next broker counter, the publisher\'s client id', async () => {
    const { router, listen } = await setup();
    const seen: PacketLike[] = [];
    listen('t', (packet, done) => (seen.push(packet), done()));
    const client = { id: 'sender' } as unknown as Parameters<MessageRouter['publish']>[1];
    router.publish({ cmd: 'publish', topic: 't', payload: Buffer.from('1'), qos: 0, retain: false, dup: false }, client, () => {});
    router.publish({ cmd: 'publish', topic: 't', payload: Buffer.from('2'), qos: 0, retain: false, dup: false }, null, () => {});
    expect(seen.map((p) => [p.brokerId, p.brokerCounter, p.clientId])).toEqual([
      ['broker-1', 1, 'sender'],
      ['broker-1', 2, undefined],
    ]);
  });

  it('stores a retained message before any listener sees it', async () => {
    const { store, listen, publish } = await setup();
    const order: string[] = [];
    const storeRetained = store.storeRetained.bind(store);
    vi.spyOn(store, 'storeRetained').mockImplementation((packet) => (order.push(`stored ${packet.topic}`), storeRetained(packet)));
    listen('r/t', (packet, done) => (order.push(`delivered ${packet.topic}`), done()));
    await publish('r/t', 'kept', 0, { retain: true });
    await publish('r/t', 'not kept', 0);
    expect(order).toEqual(['stored r/t', 'delivered r/t', 'delivered r/t']);
  });

  it('refuses a topic deeper than the level limit, and routes nothing', async () => {
    const { listen, publish, host } = await setup(3);
    const listener = vi.fn();
    listen('#', listener);
    expect(await publish('a/b/c/d', 'x', 0)).toEqual(new Error('topic has too many levels'));
    expect(listener).not.toHaveBeenCalled();
    expect(host.published).not.toHaveBeenCalled();
  });

  it('hands a message for a client subscription straight to that client\'s window, not to aedes\' listener', async () => {
    const { registry, listen, publish } = await setup();
    const live: [string, number][] = [];
    const window: LiveDeliverer = {
      deliverLive: (packet, routed, done) => (live.push([packet.payload.toString(), routed.record.qos]), done()),
    };
    const client = { subscriptions: Object.create(null) as Record<string, unknown> };
    registry.observe(client as never, window);
    // As aedes subscribes: the record into client.subscriptions, then the listener into the matcher.
    const aedesListener = vi.fn();
    client.subscriptions['s/#'] = { qos: 1, func: aedesListener, rap: false, nl: false };
    listen('s/#', aedesListener);
    await publish('s/1', 'hello', 1);
    expect(live).toEqual([['hello', 1]]);
    expect(aedesListener).not.toHaveBeenCalled();
    expect(registry.routeOf(aedesListener)?.blocksDollar).toBe(false);
  });
});
