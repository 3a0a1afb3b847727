import type { TopicLayout } from '../topics.js';
import type { DiscoveryMessage, DiscoveryRemoval } from './types.js';

/**
 * Removal messages for entities that left the configuration. `previousTopics` are the config topics announced before,
 * typically collected from retained messages on `topics.ownDiscoveryWildcard()` right after connecting. Only topics
 * under this gateway's node id are ever removed, so other devices' entities are safe whatever the broker returns.
 */
export function discoveryRemovals(previousTopics: Iterable<string>, current: readonly Pick<DiscoveryMessage, 'topic'>[], topics: TopicLayout): DiscoveryRemoval[] {
  const keep = new Set(current.map((m) => m.topic));
  const removals: DiscoveryRemoval[] = [];
  const seen = new Set<string>();
  for (const topic of previousTopics) {
    if (seen.has(topic) || keep.has(topic) || !topics.isOwnDiscoveryTopic(topic)) continue;
    seen.add(topic);
    removals.push({ topic, payload: '', retain: true });
  }
  return removals;
}
