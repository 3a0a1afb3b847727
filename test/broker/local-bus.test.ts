import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveredMessage } from '../../src/bus/local-bus.js';
import { collect, connectClient, settle, startTestBroker, type TestBroker } from '../helpers/broker.js';

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

describe('the local bus', () => {
  it('hands a subscriber topic, payload, QoS, retain and who published it: a client by id, an in-process publisher by origin', async () => {
    broker = await startTestBroker();
    const seen: DeliveredMessage[] = [];
    await broker.broker.bus('bridge:cloud').subscribe('site/#', (message) => void seen.push(message));
    const client = await connectClient(broker.url(), { clientId: 'thermostat' });
    await client.publishAsync('site/a', 'from a client', { qos: 1 });
    await broker.broker.bus('gateway').publish({ topic: 'site/b', payload: 'from the gateway', qos: 2, retain: true });
    await settle();
    expect(seen.map(({ topic, payload, qos, retain, publisher }) => ({ topic, payload: payload.toString(), qos, retain, publisher }))).toEqual([
      { topic: 'site/a', payload: 'from a client', qos: 1, retain: false, publisher: { kind: 'client', clientId: 'thermostat' } },
      { topic: 'site/b', payload: 'from the gateway', qos: 2, retain: true, publisher: { kind: 'local', origin: 'gateway' } },
    ]);
    await client.endAsync();
  });

  it('holds a client publisher\'s PUBACK until an in-process handler\'s promise settles (backpressure)', async () => {
    broker = await startTestBroker();
    let release: () => void = () => {};
    const handled = new Promise<void>((resolve) => (release = resolve));
    const events: string[] = [];
    await broker.broker.bus('bridge:cloud').subscribe('slow/#', async () => {
      events.push('handler started');
      await handled;
      events.push('handler done');
    });
    const client = await connectClient(broker.url());
    const acknowledged = client.publishAsync('slow/t', 'x', { qos: 1 }).then(() => events.push('PUBACK'));
    await settle(300);
    expect(events).toEqual(['handler started']);
    release();
    await acknowledged;
    expect(events).toEqual(['handler started', 'handler done', 'PUBACK']);
    await client.endAsync();
  });

  it('resolves an in-process publish once every subscriber has taken the message, and a rejecting handler does not block it', async () => {
    broker = await startTestBroker();
    const events: string[] = [];
    await broker.broker.bus('a').subscribe('t', async () => {
      await settle(100);
      events.push('slow handler done');
    });
    await broker.broker.bus('b').subscribe('t', async () => {
      throw new Error('broken handler');
    });
    await broker.broker.bus('gateway').publish({ topic: 't', payload: 'x', qos: 1 });
    events.push('published');
    expect(events).toEqual(['slow handler done', 'published']);
  });

  it('reads retained messages, and a wildcard subscription does not see $ topics it does not name (MQTT-4.7.2-1)', async () => {
    broker = await startTestBroker();
    const bus = broker.broker.bus('gateway');
    await bus.publish({ topic: 'keep/one', payload: '1', qos: 1, retain: true });
    await bus.publish({ topic: 'keep/two', payload: '2', retain: true });
    expect((await bus.retained('keep/#')).map((m) => [m.topic, m.payload.toString(), m.retain]).sort()).toEqual([
      ['keep/one', '1', true],
      ['keep/two', '2', true],
    ]);
    const seen: string[] = [];
    await bus.subscribe('#', ({ topic }) => void seen.push(topic));
    const sysSeen: string[] = [];
    await bus.subscribe('$SYS/#', ({ topic }) => void sysSeen.push(topic));
    await bus.publish({ topic: '$SYS/broker/test', payload: 'x' });
    await bus.publish({ topic: 'plain', payload: 'y' });
    expect(seen).toEqual(['plain']);
    expect(sysSeen).toEqual(['$SYS/broker/test']);
  });

  it('stops delivering after unsubscribe', async () => {
    broker = await startTestBroker();
    const bus = broker.broker.bus('gateway');
    const seen: string[] = [];
    const subscription = await bus.subscribe('u/#', ({ payload }) => void seen.push(payload.toString()));
    const sub = await connectClient(broker.url());
    const inbox = collect(sub);
    await sub.subscribeAsync('u/#');
    await bus.publish({ topic: 'u/1', payload: 'one' });
    await subscription.unsubscribe();
    await bus.publish({ topic: 'u/2', payload: 'two' });
    await inbox.waitFor(2);
    expect(seen).toEqual(['one']);
    await sub.endAsync();
  });
});
