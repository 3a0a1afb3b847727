import { afterEach, describe, expect, it } from 'vitest';
import { stuckSubscriber } from '../../../bench/hostile/attacks.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import type { BrokerLimits } from '../../../src/broker/options.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(limits: Partial<BrokerLimits> = {}): Promise<TestBroker> {
  const b = await startTestBroker({ limits: limits as BrokerLimits });
  cleanups.push(() => b.stop());
  return b;
}

/**
 * A subscriber that stops reading its socket must cost only itself: its queue fills to max_queued_messages /
 * max_queued_bytes and what comes after for it is dropped and counted, while the publisher's PUBACKs and the other
 * subscribers' deliveries go on. Here 1,500 messages of 16 KiB (24 MB, far more than a loopback socket's kernel
 * buffers take) with drain_timeout at its 30 s default: a publisher held by the stuck subscriber would wait for it.
 */
describe('a subscriber that does not read its socket', () => {
  for (const qos of [1, 0] as const) {
    it(`holds up neither its publisher nor the other subscribers (QoS ${qos}); what it cannot take is dropped and counted`, async () => {
      const b = await broker();
      const result = await stuckSubscriber(b.ports[0]!, { messages: 1_500, payloadBytes: 16 * 1024, qos, timeoutMs: 10_000 });

      if (qos === 1) expect(result.detail.acked).toBe(1_500);
      // Nothing waited anywhere near drain_timeout for it.
      expect(result.detail.longestPublishWaitMs).toBeLessThan(5_000);
      expect(result.detail.healthyReceived).toBe(1_500);
      // It stays connected (drain_timeout has not passed): its own messages are what it loses.
      expect(result.detail.stuckStillConnected).toBe(true);
      // max_queued_bytes (8 MiB) bites before max_queued_messages (1,000) at 16 KiB each.
      expect(b.broker.stats.queueDroppedBytes).toBeGreaterThan(0);
      expect(b.broker.stats.publishDropped).toBeGreaterThan(0);
    }, 30_000);
  }

  // At QoS 1 a subscriber that does not read stops acknowledging too: its window holds what it was sent and the rest
  // waits in its queue, so its socket never fills. At QoS 0 it does.
  it('counts by max_queued_messages too, and is disconnected once its socket stays full for drain_timeout', async () => {
    const b = await broker({ drainTimeoutMs: 3_000 });
    const result = await stuckSubscriber(b.ports[0]!, { messages: 3_000, payloadBytes: 4 * 1024, qos: 0, timeoutMs: 10_000, holdStuckMs: 4_000 });
    expect(result.detail.healthyReceived).toBe(3_000);
    expect(b.broker.stats.queueDroppedMessages).toBeGreaterThan(0);
    expect(b.broker.stats.slowSubscriberDisconnects).toBe(1);
  }, 30_000);
});
