import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryEngine } from '../../../src/broker/engine/engine.js';
import { silentLogger } from '../../../src/util/logger.js';

let engine: DeliveryEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

describe("aedes' publish(packet, callback), as the engine routes it", () => {
  it.each([0, 1] as const)('calls back on a later tick, as aedes does, even with no subscriber to wait for (QoS %i)', async (qos) => {
    engine = await DeliveryEngine.open({
      id: 'callback-test',
      limits: { messageSizeLimit: 0, maxKeepalive: 65535, maxQueuedMessages: 0, maxQueuedBytes: 0, maxIncompleteBytes: 0, maxInflightMessages: 0, drainTimeoutMs: 5000 },
      policy: {
        admit: () => true,
        authenticate: (_c, _u, _p, done) => done(null, true),
        refusePublish: () => undefined,
        authorizeSubscribe: (_c, subscription, callback) => callback(null, subscription),
        mayForward: () => true,
      },
      logger: silentLogger(),
    });
    // aedes' own callers (wills, $SYS, client.publish) add listeners after the call that the callback's work must reach.
    const aedes = engine.aedesForTestSuite;
    let returned = false;
    const calledBackAfterReturn = await new Promise<boolean>((resolve) => {
      aedes.publish({ cmd: 'publish', topic: 'nobody/listens', payload: Buffer.from('x'), qos, retain: false, dup: false }, () => resolve(returned));
      returned = true;
    });
    expect(calledBackAfterReturn).toBe(true);
  });
});
