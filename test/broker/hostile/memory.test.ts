import { afterEach, describe, expect, it } from 'vitest';
import { partialConnects, partialPublishes, startProbe, webSocketFragments } from '../../../bench/hostile/attacks.js';
import { rssSampler, settledRss, startHostileBroker, type HostileBroker } from '../../../bench/hostile/brokers.js';

const MiB = 1024 * 1024;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Our broker alone, as its command runs it, in a child process: its RSS is its own. */
async function brokerProcess(): Promise<HostileBroker> {
  const broker = await startHostileBroker('ours');
  cleanups.push(() => broker.stop());
  return broker;
}

/** Lets the broker settle (its start-up garbage collected) before the baseline is taken. */
async function baseline(broker: HostileBroker): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  return broker.rss();
}

describe.runIf(process.platform === 'linux')('memory has a ceiling (broker in a child process)', () => {
  it('holds a stranger to a small first packet: 60 CONNECTs announcing 1 MiB each are refused from their headers', async () => {
    const broker = await brokerProcess();
    const start = await baseline(broker);
    const probe = await startProbe(broker.port);
    const sampler = rssSampler(broker.pid);
    const result = await partialConnects(broker.port, { connections: 60, announced: MiB, send: 1000 * 1024, holdMs: 1_500 });
    const peak = sampler.stop();
    const served = await probe.stop();
    const final = await settledRss(broker.pid, start, 20 * MiB, 30_000);

    // Each CONNECT was within message_size_limit's bound but far over the first packet's.
    expect(result.refused).toBe(60);
    expect(peak - start).toBeLessThan(24 * MiB);
    expect(final - start).toBeLessThan(20 * MiB);
    expect(served.received).toBe(served.sent);
  }, 90_000);

  it('caps the bytes of incomplete packets across connections: 80 clients each half-sending a 900 KB PUBLISH', async () => {
    const broker = await brokerProcess();
    const start = await baseline(broker);
    const probe = await startProbe(broker.port);
    const sampler = rssSampler(broker.pid);
    const result = await partialPublishes(broker.port, { connections: 80, announced: 900 * 1024, send: 800 * 1024, holdMs: 1_500 });
    const peak = sampler.stop();
    const served = await probe.stop();
    const final = await settledRss(broker.pid, start, 20 * MiB, 30_000);

    expect(result.detail.connected).toBe(80);
    // 64 MB sent; max_incomplete_bytes (16 MiB) keeps at most ~20 of them, the others are closed. The peak is those
    // 16 MiB and the socket reads not yet collected.
    expect(result.refused).toBeGreaterThanOrEqual(55);
    expect(peak - start).toBeLessThan(64 * MiB);
    expect(final - start).toBeLessThan(20 * MiB);
    expect(served.received).toBe(served.sent);
  }, 90_000);

  it('refuses a WebSocket message larger than the largest packet before assembling it (close 1009)', async () => {
    const broker = await brokerProcess();
    const start = await baseline(broker);
    const sampler = rssSampler(broker.pid);
    const result = await webSocketFragments(`ws://127.0.0.1:${broker.wsPort}/mqtt`, { total: 40 * MiB, timeoutMs: 20_000 });
    const peak = sampler.stop();
    const final = await settledRss(broker.pid, start, 20 * MiB, 30_000);

    expect(result.detail.closeCode).toBe(1009);
    expect(peak - start).toBeLessThan(24 * MiB);
    expect(final - start).toBeLessThan(20 * MiB);
  }, 90_000);
});
