import { afterEach, describe, expect, it } from 'vitest';
import type { HealthSummary } from '../../src/ops/health-summary.js';
import { HealthTopicPublisher } from '../../src/ops/health-topic.js';
import { silentLogger } from '../../src/util/logger.js';
import { FakeBus } from '../helpers/fake-bus.js';

const summary = (status: HealthSummary['status'], clients = 0): HealthSummary => ({
  status,
  problems: status === 'ok' ? [] : ['sensor climate offline: NACK'],
  services: { broker: 'ok' },
  broker: { listeners: [{ name: 'mqtt://127.0.0.1:1883', listening: true }], clients },
  sensors: {},
  gpio: {},
  bridges: {},
});

const publishers: HealthTopicPublisher[] = [];
afterEach(async () => {
  await Promise.all(publishers.splice(0).map((p) => p.stop()));
});

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('HealthTopicPublisher', () => {
  it('publishes retained at start, again only when the summary changed, and "stopped" at stop', async () => {
    const bus = new FakeBus();
    let current = summary('ok');
    let asked = 0;
    const publisher = new HealthTopicPublisher({ summary: () => (asked++, current) }, bus, { topic: 'pi/health', intervalMs: 20 }, silentLogger());
    await publisher.start();
    await until(() => bus.published.length === 1, 'the first summary');
    expect(bus.published[0]).toMatchObject({ topic: 'pi/health', qos: 1, retain: true });
    expect(JSON.parse(bus.published[0]!.payload as string)).toMatchObject({ status: 'ok', problems: [], time: expect.any(String) });

    // Unchanged for several checks: nothing more is published.
    const askedBefore = asked;
    await until(() => asked >= askedBefore + 3, 'three more checks');
    expect(bus.published).toHaveLength(1);

    current = summary('degraded', 2);
    await until(() => bus.published.length === 2, 'the changed summary');
    expect(JSON.parse(bus.published[1]!.payload as string)).toMatchObject({ status: 'degraded', problems: ['sensor climate offline: NACK'], broker: { clients: 2 } });

    await publisher.stop();
    expect(bus.published).toHaveLength(3);
    expect(JSON.parse(bus.published[2]!.payload as string)).toEqual({ status: 'stopped', time: expect.any(String) });
    expect(publisher.health()).toEqual({ status: 'ok', detail: { topic: 'pi/health', published: 3 } });
  });

  it('tries again at the next check when the broker did not take it', async () => {
    const bus = new FakeBus();
    bus.failPublish = true;
    const publisher = new HealthTopicPublisher({ summary: () => summary('ok') }, bus, { topic: 'pi/health', intervalMs: 20 }, silentLogger());
    publishers.push(publisher);
    await publisher.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(bus.published).toHaveLength(0);
    bus.failPublish = false;
    await until(() => bus.published.length === 1, 'the summary, once the broker takes it');
  });
});
