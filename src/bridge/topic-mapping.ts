import { isValidFilter, isValidTopic, topicMatches } from '../mqtt/topic-match.js';

export type BridgeDirection = 'out' | 'in' | 'both';

/** One `topic` rule of a bridge, as mosquitto reads `topic PATTERN [out|in|both] [QOS] [LOCAL-PREFIX REMOTE-PREFIX]`. */
export interface TopicRule {
  /** Undefined for mosquitto's `""`: the prefixes are then the whole topics. */
  pattern: string | undefined;
  direction: BridgeDirection;
  qos: 0 | 1 | 2;
  localPrefix: string | undefined;
  remotePrefix: string | undefined;
}

/** A rule that mosquitto would refuse, with its reason. */
export class TopicRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopicRuleError';
  }
}

/**
 * Parses mosquitto's `topic` line after the keyword: `pi-edge/# out 1 "" site1/`. Words are separated by spaces; `""`
 * stands for an empty pattern or prefix. Both prefixes or neither.
 */
export function parseTopicLine(line: string): TopicRule {
  const words = line.trim().split(/\s+/).filter((w) => w.length > 0);
  if (words.length === 0) throw new TopicRuleError('a topic rule needs a pattern');
  if (words.length > 5) throw new TopicRuleError(`too many words: expected PATTERN [out|in|both] [QOS] [LOCAL-PREFIX REMOTE-PREFIX], got ${words.length}`);
  const [pattern, direction = 'out', qos = '0', localPrefix, remotePrefix] = words as [string, ...string[]];
  if (direction !== 'out' && direction !== 'in' && direction !== 'both') throw new TopicRuleError(`direction must be out, in or both, not "${direction}"`);
  if (!/^[012]$/.test(qos)) throw new TopicRuleError(`QoS must be 0, 1 or 2, not "${qos}"`);
  if (localPrefix !== undefined && remotePrefix === undefined) throw new TopicRuleError('a local prefix needs a remote prefix after it ("" for none)');
  return topicRule({
    pattern: blank(pattern),
    direction,
    qos: Number(qos) as 0 | 1 | 2,
    localPrefix: localPrefix === undefined ? undefined : blank(localPrefix),
    remotePrefix: remotePrefix === undefined ? undefined : blank(remotePrefix),
  });
}

/** Checks a rule as mosquitto does: prefixes are topic names, prefix + pattern a valid filter, an empty pattern needs both prefixes. */
export function topicRule(rule: TopicRule): TopicRule {
  for (const [name, prefix] of [
    ['local prefix', rule.localPrefix],
    ['remote prefix', rule.remotePrefix],
  ] as const) {
    if (prefix !== undefined && !isValidTopic(prefix)) throw new TopicRuleError(`the ${name} "${prefix}" must be a topic without wildcards`);
  }
  if (rule.pattern === undefined && (rule.localPrefix === undefined || rule.remotePrefix === undefined)) {
    throw new TopicRuleError('an empty pattern ("") needs both a local and a remote prefix: they are then the whole topics');
  }
  for (const filter of [localFilter(rule), remoteFilter(rule)]) {
    if (!isValidFilter(filter)) throw new TopicRuleError(`"${filter}" (prefix and pattern) is not a valid topic filter`);
  }
  return rule;
}

/** What the bridge subscribes to on the local broker for an `out` or `both` rule. */
function localFilter(rule: TopicRule): string {
  return (rule.localPrefix ?? '') + (rule.pattern ?? '');
}

/** What the bridge subscribes to on the cloud broker for an `in` or `both` rule. */
function remoteFilter(rule: TopicRule): string {
  return (rule.remotePrefix ?? '') + (rule.pattern ?? '');
}

const sendsOut = (rule: TopicRule): boolean => rule.direction === 'out' || rule.direction === 'both';
const bringsIn = (rule: TopicRule): boolean => rule.direction === 'in' || rule.direction === 'both';

/** A matched message: where it goes, and at which QoS the rule says. */
export interface Mapped {
  topic: string;
  qos: 0 | 1 | 2;
  rule: TopicRule;
}

/**
 * The topic maps of one bridge, both ways. Like mosquitto, the first rule whose filter matches a topic maps it: its
 * prefix on this side is taken off and the other side's put on.
 */
export class TopicMap {
  constructor(readonly rules: readonly TopicRule[]) {}

  /** A local message's topic on the cloud broker, or undefined when no out rule takes it. */
  outbound(localTopic: string): Mapped | undefined {
    for (const rule of this.rules) {
      if (!sendsOut(rule) || !topicMatches(localFilter(rule), localTopic)) continue;
      return { topic: swapPrefix(localTopic, rule.localPrefix, rule.remotePrefix), qos: rule.qos, rule };
    }
    return undefined;
  }

  /** A cloud message's topic on the local broker, or undefined when no in rule takes it. */
  inbound(remoteTopic: string): Mapped | undefined {
    for (const rule of this.rules) {
      if (!bringsIn(rule) || !topicMatches(remoteFilter(rule), remoteTopic)) continue;
      return { topic: swapPrefix(remoteTopic, rule.remotePrefix, rule.localPrefix), qos: rule.qos, rule };
    }
    return undefined;
  }

  /** The distinct local filters of the out rules, each with the highest QoS asked for it. */
  localSubscriptions(): Map<string, 0 | 1 | 2> {
    return collect(this.rules.filter(sendsOut), localFilter);
  }

  /** The distinct remote filters of the in rules, each with the highest QoS asked for it. */
  remoteSubscriptions(): Map<string, 0 | 1 | 2> {
    return collect(this.rules.filter(bringsIn), remoteFilter);
  }
}

function swapPrefix(topic: string, from: string | undefined, to: string | undefined): string {
  const rest = from && topic.startsWith(from) ? topic.slice(from.length) : topic;
  return (to ?? '') + rest;
}

function collect(rules: TopicRule[], filterOf: (rule: TopicRule) => string): Map<string, 0 | 1 | 2> {
  const filters = new Map<string, 0 | 1 | 2>();
  for (const rule of rules) {
    const filter = filterOf(rule);
    filters.set(filter, Math.max(filters.get(filter) ?? 0, rule.qos) as 0 | 1 | 2);
  }
  return filters;
}

function blank(word: string): string | undefined {
  return word === '""' ? undefined : word;
}
