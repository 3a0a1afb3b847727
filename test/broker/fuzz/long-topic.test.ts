import { afterEach, describe, expect, it } from 'vitest';
import { collect, connectClient, startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { PACKET, RawMqttClient, u16 } from '../../helpers/raw-mqtt.js';

/**
 * Found by the protocol fuzzer (seed 16): a topic longer than MQTT's 65,535 bytes once encoded as UTF-8 reached a
 * subscriber's encoder, which threw in the middle of a delivery and took the whole broker process down. A client can
 * send one (a 65,535-byte topic whose bad UTF-8 bytes decode to 3-byte U+FFFD each) and so can the local bus (a
 * bridge mapping a long cloud topic under a prefix).
 */
describe('a topic too long to encode for a subscriber', () => {
  let broker: TestBroker | undefined;
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
  });

  it('from a client: the broker keeps serving the others', async () => {
    broker = await startTestBroker();
    const subscriber = await connectClient(broker.url());
    const received = collect(subscriber);
    await subscriber.subscribeAsync('#', { qos: 0 });

    const attacker = await RawMqttClient.open(broker.ports[0]!);
    attacker.connectPacket('long-topic', true);
    await attacker.next(PACKET.CONNACK);
    const topic = Buffer.alloc(65_535, 'x');
    topic[topic.length - 1] = 0xff; // one byte that decodes to U+FFFD: 65,537 bytes once re-encoded
    attacker.send(3, 0, Buffer.concat([u16(topic.length), topic, Buffer.from('boom')]));

    const publisher = await connectClient(broker.url());
    await publisher.publishAsync('after/attack', 'still here');
    const messages = await received.waitFor(1);
    expect(messages.map((m) => m.topic)).toEqual(['after/attack']);
    await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
    attacker.close();
  });

  it('from the local bus: the publish is refused and the broker keeps serving', async () => {
    broker = await startTestBroker();
    const subscriber = await connectClient(broker.url());
    const received = collect(subscriber);
    await subscriber.subscribeAsync('#', { qos: 1 });

    const bus = broker.broker.bus('bridge:cloud');
    await expect(bus.publish({ topic: `cloud/${'é'.repeat(40_000)}`, payload: 'too long', qos: 1 })).rejects.toThrow(/65535 bytes/);
    await bus.publish({ topic: 'after/refusal', payload: 'still here', qos: 1 });
    const messages = await received.waitFor(1);
    expect(messages.map((m) => m.topic)).toEqual(['after/refusal']);
    await subscriber.endAsync();
  });
});
