import { describe, expect, it } from 'vitest';
import { parseTopicLine, TopicMap, TopicRuleError, topicRule } from '../../src/bridge/topic-mapping.js';

describe("mosquitto's bridge topic lines", () => {
  it('defaults to out at QoS 0 without prefixes', () => {
    expect(parseTopicLine('sensors/#')).toEqual({ pattern: 'sensors/#', direction: 'out', qos: 0, localPrefix: undefined, remotePrefix: undefined });
  });

  it('reads direction, QoS and both prefixes, "" standing for an empty one', () => {
    expect(parseTopicLine('  pi-edge/#   out 1 "" site1/ ')).toEqual({ pattern: 'pi-edge/#', direction: 'out', qos: 1, localPrefix: undefined, remotePrefix: 'site1/' });
    expect(parseTopicLine('"" in 2 local/cmd remote/cmd')).toEqual({ pattern: undefined, direction: 'in', qos: 2, localPrefix: 'local/cmd', remotePrefix: 'remote/cmd' });
  });

  it.each([
    ['sensors/# sideways', /direction must be out, in or both/],
    ['sensors/# out 3', /QoS must be 0, 1 or 2/],
    ['sensors/# out 1 local/', /needs a remote prefix/],
    ['"" out 1', /empty pattern/],
    ['sensors/# out 1 lo#cal/ remote/', /local prefix "lo#cal\/" must be a topic without wildcards/],
    ['a/#/b', /not a valid topic filter/],
    ['a b c d e f', /too many words/],
  ])('refuses %j as mosquitto would', (line, message) => {
    expect(() => parseTopicLine(line)).toThrow(TopicRuleError);
    expect(() => parseTopicLine(line)).toThrow(message);
  });
});

describe('TopicMap', () => {
  const map = new TopicMap([
    parseTopicLine('pi-edge/# out 1 "" site1/'),
    parseTopicLine('cmd/# in 1 pi-edge/ site1/'),
    parseTopicLine('shared/+ both 0 local/ cloud/'),
    parseTopicLine('"" out 2 exact/local exact/remote'),
  ]);

  it('maps out: the local prefix off, the remote one on; the first matching rule wins', () => {
    expect(map.outbound('pi-edge/climate/state')).toMatchObject({ topic: 'site1/pi-edge/climate/state', qos: 1 });
    expect(map.outbound('local/shared/x')).toMatchObject({ topic: 'cloud/shared/x', qos: 0 });
    expect(map.outbound('exact/local')).toMatchObject({ topic: 'exact/remote', qos: 2 });
    expect(map.outbound('pi-edge/cmd/led')).toMatchObject({ topic: 'site1/pi-edge/cmd/led' });
  });

  it('maps in: the remote prefix off, the local one on; in rules only', () => {
    expect(map.inbound('site1/cmd/led')).toMatchObject({ topic: 'pi-edge/cmd/led', qos: 1 });
    expect(map.inbound('cloud/shared/y')).toMatchObject({ topic: 'local/shared/y' });
    expect(map.inbound('site1/pi-edge/climate/state')).toBeUndefined();
    expect(map.inbound('exact/remote')).toBeUndefined();
  });

  it('leaves topics no rule matches', () => {
    expect(map.outbound('elsewhere/x')).toBeUndefined();
    expect(map.outbound('local/shared/x/deeper')).toBeUndefined();
  });

  it('subscribes once per filter, at the highest QoS asked', () => {
    const twice = new TopicMap([parseTopicLine('a/# out 0'), parseTopicLine('a/# both 2'), parseTopicLine('b/# in 1')]);
    expect(twice.localSubscriptions()).toEqual(new Map([['a/#', 2]]));
    expect(twice.remoteSubscriptions()).toEqual(new Map([['a/#', 2], ['b/#', 1]]));
    expect(map.localSubscriptions()).toEqual(new Map([['pi-edge/#', 1], ['local/shared/+', 0], ['exact/local', 2]]));
  });

  it('builds the same rule from the YAML object form', () => {
    expect(topicRule({ pattern: 'cmd/#', direction: 'in', qos: 1, localPrefix: 'pi-edge/', remotePrefix: 'site1/' })).toEqual(parseTopicLine('cmd/# in 1 pi-edge/ site1/'));
  });
});
