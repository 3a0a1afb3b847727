import { requireFromAedes } from '../aedes-internals.js';

/** The part of mqemitter's subscription matcher (a qlobber) that mqemitter calls. */
export interface TopicMatcher {
  add(topic: string, value: unknown): unknown;
  remove(topic: string, value?: unknown): unknown;
  match(topic: string): unknown[];
}

const DEFAULT_CAPACITY = 4096;

/**
 * Remembers which subscriptions match a topic until the subscriptions change. A gateway publishes the same few
 * hundred topics over and over while its subscriptions rarely change, and qlobber walks its trie for every message:
 * at 2,000 msg/s, each message arriving with cold CPU caches, the walk took about a fifth of the JavaScript samples
 * of a CPU profile (bench/broker fanin-q0-2k, a run on a VM with heavy CPU steal).
 * Any add or remove empties the cache; so does reaching `capacity` topics, which bounds the memory a publisher
 * cycling through endless topics can take.
 */
export class MatchCache implements TopicMatcher {
  private readonly cache = new Map<string, unknown[]>();

  constructor(
    private readonly inner: TopicMatcher,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {}

  add(topic: string, value: unknown): this {
    this.cache.clear();
    this.inner.add(topic, value);
    return this;
  }

  remove(topic: string, value?: unknown): this {
    this.cache.clear();
    this.inner.remove(topic, value);
    return this;
  }

  /** The same array for the same topic until the next change: mqemitter only reads it. */
  match(topic: string): unknown[] {
    let matches = this.cache.get(topic);
    if (matches === undefined) {
      matches = this.inner.match(topic);
      if (this.cache.size >= this.capacity) this.cache.clear();
      this.cache.set(topic, matches);
    }
    return matches;
  }

  get size(): number {
    return this.cache.size;
  }
}

interface MqEmitterInternals {
  /** mqemitter 7's qlobber (mqemitter.js), where `on` and `removeListener` add and remove listeners. */
  _matcher: TopicMatcher;
  closed: boolean;
}

export interface MessageEmitter {
  /** For aedes, as its `mq`: subscriptions are added and removed through it. */
  emitter: MqEmitterInternals;
  /** Its matcher, behind a MatchCache: what the MessageRouter routes with. */
  matcher: MatchCache;
}

/**
 * The mqemitter aedes would create for itself (the same module instance, `matchEmptyLevels` for MQTT-4.7.1-3), with
 * its matcher behind a MatchCache. Nothing emits on it: the MessageRouter routes in its place.
 */
export function createMessageEmitter(): MessageEmitter {
  const mqemitter = requireFromAedes('mqemitter') as (options: { matchEmptyLevels: boolean }) => MqEmitterInternals;
  const emitter = mqemitter({ matchEmptyLevels: true });
  if (typeof emitter._matcher?.match !== 'function') throw new Error('mqemitter has no _matcher: check src/broker/engine/delivery/match-cache.ts after upgrading aedes');
  const matcher = new MatchCache(emitter._matcher);
  emitter._matcher = matcher;
  return { emitter, matcher };
}
