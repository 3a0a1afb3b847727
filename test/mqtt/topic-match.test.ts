import { describe, expect, it } from 'vitest';
import { filterCovers, isValidFilter, isValidTopic, topicMatches } from '../../src/mqtt/topic-match.js';

describe('isValidFilter', () => {
  it.each(['#', '+', 'a/b', 'a/+/c', 'a/#', '+/+', '/', 'a//b', '$SYS/#', 'with space/x'])('accepts %j', (f) => {
    expect(isValidFilter(f)).toBe(true);
  });
  it.each(['', 'a/#/b', '#/a', 'a#', 'a/b#', 'a+/b', 'a/+b', '##', 'a\u0000b'])('rejects %j', (f) => {
    expect(isValidFilter(f)).toBe(false);
  });
});

describe('isValidTopic', () => {
  it('rejects empty and wildcard topics', () => {
    expect(isValidTopic('')).toBe(false);
    expect(isValidTopic('a/+')).toBe(false);
    expect(isValidTopic('a/#')).toBe(false);
    expect(isValidTopic('a/b')).toBe(true);
    expect(isValidTopic('/')).toBe(true);
  });
});

describe('topicMatches', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/', true], // + matches an empty level
    ['a/+', 'a', false],
    ['a/+', 'a/b/c', false],
    ['+/+', '/x', true],
    ['+', '/x', false],
    ['a/#', 'a', true], // # also matches the parent level
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['#', 'a/b', true],
    ['#', '/', true],
    ['+/b/#', 'x/b', true],
    ['+/b/#', 'x/c', false],
    // $-topics are not matched by a leading wildcard
    ['#', '$SYS/broker', false],
    ['+/broker', '$SYS/broker', false],
    ['$SYS/#', '$SYS/broker/uptime', true],
    ['$SYS/+/uptime', '$SYS/broker/uptime', true],
    ['a/#', 'a/$x', true], // only the first level is special
    // invalid input never matches
    ['a/#/b', 'a/x/b', false],
    ['a/+', 'a/+', false],
    ['#', '', false],
  ];
  it.each(cases)('%j vs %j -> %j', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('filterCovers', () => {
  const cases: Array<[string, string, boolean]> = [
    ['home/#', 'home/#', true],
    ['home/#', 'home/+/temp', true],
    ['home/#', 'home', true],
    ['home/#', 'home/a/b', true],
    ['home/#', '#', false],
    ['home/#', 'other/#', false],
    ['home/#', '+/x', false],
    ['home/+/temp', 'home/#', false],
    ['home/+/temp', 'home/+/temp', true],
    ['home/+/temp', 'home/kitchen/temp', true],
    ['home/+/temp', 'home/+/+', false],
    ['home/+/temp', 'home/+/temp/#', false],
    ['home/+', 'home/#', false], // home/# also matches home and home/a/b
    ['home', 'home/#', false], // home/# reaches deeper than home
    ['home/kitchen', 'home/+', false],
    ['#', '#', true],
    ['#', '+/+/x', true],
    ['+/#', '#', true], // both match every non-$ topic of one or more levels
    ['+/+/#', '#', false], // "x" is matched by # only
    ['a/+/#', 'a/#', false], // "a" is matched by a/# only
    ['+', '+', true],
    ['+', '#', false],
    // $-topics
    ['#', '$SYS/#', false],
    ['+/#', '$SYS/broker', false],
    ['$SYS/#', '$SYS/broker/+', true],
    ['$SYS/#', '#', false],
    ['#', '+/temp', true], // a leading-wildcard subscription sees no $ topics either
    // invalid filters never cover or get covered
    ['a/#/b', 'a/x/b', false],
    ['a/#', 'a/#/b', false],
  ];
  it.each(cases)('rule %j covers %j -> %j', (rule, sub, expected) => {
    expect(filterCovers(rule, sub)).toBe(expected);
  });
});
