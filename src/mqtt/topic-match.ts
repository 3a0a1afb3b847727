/**
 * MQTT 3.1.1 / 5 topic-filter matching.
 *
 * Topics and filters are compared level by level (split on `/`). `+` matches
 * exactly one level (possibly empty), `#` matches the parent level and any
 * number of child levels, and topics whose first level starts with `$` are
 * never matched by a filter whose first level is a wildcard.
 */

export function splitLevels(topicOrFilter: string): string[] {
  return topicOrFilter.split('/');
}

/** A valid subscription filter: non-empty, `+`/`#` occupy a whole level, `#` only last. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.length > 65535 || filter.includes('\u0000')) return false;
  const levels = splitLevels(filter);
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === '+') continue;
    if (level === '#') {
      if (i !== levels.length - 1) return false;
      continue;
    }
    if (level.includes('+') || level.includes('#')) return false;
  }
  return true;
}

/** A valid topic name (what a PUBLISH carries): non-empty, no wildcards. */
export function isValidTopic(topic: string): boolean {
  return (
    topic.length > 0 &&
    topic.length <= 65535 &&
    !topic.includes('+') &&
    !topic.includes('#') &&
    !topic.includes('\u0000')
  );
}

function isWildcard(level: string | undefined): boolean {
  return level === '+' || level === '#';
}

function isDollarLevel(level: string | undefined): boolean {
  return level !== undefined && level.startsWith('$');
}

/** Matches pre-split levels; the caller guarantees `filter` is a valid filter and `topic` a valid topic. */
export function levelsMatch(filter: readonly string[], topic: readonly string[]): boolean {
  if (isDollarLevel(topic[0]) && isWildcard(filter[0])) return false;
  const n = filter.length;
  for (let i = 0; i < n; i++) {
    const f = filter[i]!;
    if (f === '#') return true;
    if (i >= topic.length) return false;
    if (f !== '+' && f !== topic[i]) return false;
  }
  return n === topic.length;
}

export function topicMatches(filter: string, topic: string): boolean {
  if (!isValidFilter(filter) || !isValidTopic(topic)) return false;
  return levelsMatch(splitLevels(filter), splitLevels(topic));
}

/**
 * True when every topic matched by `sub` is also matched by `rule` (both pre-split, valid filters).
 * `+` in `sub` is only covered by `+` or `#` in `rule`; `#` in `sub` only by `#` in `rule`.
 */
export function levelsCover(rule: readonly string[], sub: readonly string[]): boolean {
  // `$x/...` subscriptions see only `$` topics, which a leading rule wildcard never matches.
  // (A subscription starting with a wildcard sees no `$` topics, so no special case is needed the other way.)
  if (isDollarLevel(sub[0]) && isWildcard(rule[0])) return false;
  const n = rule.length;
  for (let i = 0; i < n; i++) {
    const r = rule[i]!;
    if (r === '#') return true;
    if (i >= sub.length) return false;
    const s = sub[i]!;
    if (s === '#') {
      // A top-level `#` matches topics of one or more levels, which `+/#` matches too.
      return i === 0 && r === '+' && n === 2 && rule[1] === '#';
    }
    if (r === '+') continue;
    if (r !== s) return false;
  }
  // Rule exhausted without `#`: sub must be exactly as deep (a trailing `#` in sub would reach deeper).
  return n === sub.length;
}

export function filterCovers(ruleFilter: string, subscriptionFilter: string): boolean {
  if (!isValidFilter(ruleFilter) || !isValidFilter(subscriptionFilter)) return false;
  return levelsCover(splitLevels(ruleFilter), splitLevels(subscriptionFilter));
}

/** MQTT-4.7.2-1: a filter starting with a wildcard does not match topics starting with `$`. */
export function startsWithWildcard(filter: string): boolean {
  const c = filter.charCodeAt(0);
  return c === 0x2b /* + */ || c === 0x23 /* # */;
}
