import { afterEach, describe, expect, it } from 'vitest';
import { offlineSession, unreleasedQos2 } from '../../../bench/hostile/attacks.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { createLogger } from '../../../src/util/logger.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A broker with the default limits (max_queued_messages 1000, max_queued_bytes 8 MiB) and its log lines. */
async function broker(): Promise<{ b: TestBroker; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const b = await startTestBroker({}, logger);
  cleanups.push(() => b.stop());
  return { b, lines };
}

describe('queues are bounded by default', () => {
  it('an offline persistent session keeps at most max_queued_messages, however often it comes back without acknowledging', async () => {
    const { b } = await broker();
    const result = await offlineSession(b.ports[0]!, { messages: 1_500, payloadBytes: 100, rounds: 3 });
    expect(result.detail.keptForSession).toBe(1_000);
    expect(b.broker.stats.queueDroppedMessages).toBeGreaterThan(0);
  }, 60_000);

  it('and at most max_queued_bytes of payload', async () => {
    const { b } = await broker();
    const result = await offlineSession(b.ports[0]!, { messages: 700, payloadBytes: 16 * 1024, rounds: 2 });
    // 8 MiB / 16 KiB.
    expect(result.detail.keptForSession).toBe(512);
    expect(b.broker.stats.queueDroppedBytes).toBeGreaterThan(0);
  }, 60_000);

  it('a client holding 1,000 inbound QoS 2 messages unreleased is cut off, across its reconnects, and the log says why', async () => {
    const { b, lines } = await broker();
    const result = await unreleasedQos2(b.ports[0]!, { perRound: 600, payloadBytes: 100, rounds: 3 });
    expect(result.detail.pubrecs).toBe(1_000);
    expect(result.detail.connectionsCutOff).toBeGreaterThanOrEqual(1);
    expect(b.broker.stats.inboundQos2Cutoffs).toBeGreaterThanOrEqual(1);
    const line = lines.find((l) => l.msg === 'client disconnected: too many inbound QoS 2 messages awaiting PUBREL');
    expect(line?.reason).toMatch(/maxInflightInbound exceeded: 1000/);
  }, 60_000);

  it('and one holding max_queued_bytes of them', async () => {
    const { b, lines } = await broker();
    const result = await unreleasedQos2(b.ports[0]!, { perRound: 300, payloadBytes: 16 * 1024, rounds: 2 });
    // 8 MiB of 16 KiB messages: 512 are taken, the 513th cuts the client off. The client may see a few PUBRECs fewer
    // (those not yet flushed when its socket is cut), never more: without the bound all 600 would be answered.
    expect(result.detail.pubrecs).toBeLessThanOrEqual(512);
    expect(result.detail.pubrecs).toBeGreaterThanOrEqual(450);
    const line = lines.find((l) => l.msg === 'client disconnected: too many inbound QoS 2 messages awaiting PUBREL');
    expect(line?.reason).toMatch(/max_queued_bytes/);
  }, 60_000);
});
