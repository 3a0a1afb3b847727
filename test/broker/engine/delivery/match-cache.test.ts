import { afterEach, describe, expect, it } from 'vitest';
import { MatchCache, type TopicMatcher } from '../../../../src/broker/engine/delivery/match-cache.js';
import { collect, connectClient, settle, startTestBroker, type TestBroker } from '../../../helpers/broker.js';

/** Exact-topic matcher that counts its lookups. */
class CountingMatcher implements TopicMatcher {
  lookups = 0;
  private readonly values = new Map<string, unknown[]>();
  add(topic: string, value: unknown): void {
    this.values.set(topic, [...(this.values.get(topic) ?? []), value]);
  }
  remove(topic: string, value?: unknown): void {
    const left = value === undefined ? [] : (this.values.get(topic) ?? []).filter((v) => v !== value);
    this.values.set(topic, left);
  }
  match(topic: string): unknown[] {
    this.lookups++;
    return [...(this.values.get(topic) ?? [])];
  }
}

describe('MatchCache', () => {
  it('looks a topic up once while the subscriptions stay the same', () => {
    const inner = new CountingMatcher();
    const cache = new MatchCache(inner);
    cache.add('a', 1);
    expect(cache.match('a')).toEqual([1]);
    expect(cache.match('a')).toEqual([1]);
    expect(cache.match('b')).toEqual([]);
    expect(inner.lookups).toBe(2);
  });

  it('forgets everything on add and on remove, so a change is seen by the next message', () => {
    const inner = new CountingMatcher();
    const cache = new MatchCache(inner);
    cache.add('a', 1);
    expect(cache.match('a')).toEqual([1]);
    cache.add('a', 2);
    expect(cache.match('a')).toEqual([1, 2]);
    cache.remove('a', 1);
    expect(cache.match('a')).toEqual([2]);
    cache.remove('a');
    expect(cache.match('a')).toEqual([]);
    expect(inner.lookups).toBe(4);
  });

  it('holds at most `capacity` topics', () => {
    const cache = new MatchCache(new CountingMatcher(), 3);
    for (let i = 0; i < 10; i++) cache.match(`t/${i}`);
    expect(cache.size).toBeLessThanOrEqual(3);
  });
});

describe('the broker with cached matches, with real clients', () => {
  let broker: TestBroker | undefined;

  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
  });

  it('delivers to a subscription made after the topic was routed, and stops after unsubscribe', async () => {
    broker = await startTestBroker();
    const publisher = await connectClient(broker.url());
    const early = await connectClient(broker.url());
    await early.subscribeAsync('cache/+/t', { qos: 1 });
    const earlyReceived = collect(early);
    await publisher.publishAsync('cache/x/t', 'one', { qos: 1 });
    await earlyReceived.waitFor(1);

    const late = await connectClient(broker.url());
    await late.subscribeAsync('cache/x/#', { qos: 1 });
    const lateReceived = collect(late);
    await publisher.publishAsync('cache/x/t', 'two', { qos: 1 });
    expect((await lateReceived.waitFor(1)).map((m) => m.payload)).toEqual(['two']);

    await early.unsubscribeAsync('cache/+/t');
    await publisher.publishAsync('cache/x/t', 'three', { qos: 1 });
    expect((await lateReceived.waitFor(2)).map((m) => m.payload)).toEqual(['two', 'three']);
    await settle();
    expect(earlyReceived.messages.map((m) => m.payload)).toEqual(['one', 'two']);
    await Promise.all([publisher, early, late].map((c) => c.endAsync()));
  });
});
