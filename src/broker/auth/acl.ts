import type { AclAccess, AclFile, AclRule } from './acl-file.js';
import { isValidFilter, isValidTopic, levelsCover, levelsMatch, splitLevels } from '../../mqtt/topic-match.js';

/**
 * Evaluates an {@link AclFile} the way mosquitto 2.0's built-in acl_file check does:
 *
 * 1. The client's own `topic` rules (the `user` block matching its username, or the
 *    anonymous section when it has none): a matching `deny` refuses, else a matching
 *    rule granting the access allows.
 * 2. Otherwise, if the file has any `pattern` rules: a username or client id containing
 *    `+` or `#` is refused outright (wildcard injection); then the patterns with
 *    `%u`/`%c` substituted, again `deny` first. Patterns using `%u` are skipped for
 *    anonymous clients.
 * 3. Otherwise refused.
 *
 * Because the client's own rules are consulted first, a `pattern ... deny` does not
 * override a `topic` grant, while a `topic ... deny` does override a pattern grant.
 *
 * `$` topics: a filter starting with a wildcard never matches them (so `topic read #`
 * does not grant `$SYS/...`), publishing to `$SYS` is refused except for
 * `$SYS/broker/connection/+/state` (bridge status), and `$share/...` is never a
 * valid topic to publish or read.
 *
 * SUBSCRIBE (our addition; mosquitto 2.0's acl_file check allows every subscription
 * and relies on the READ check at delivery): rules are walked in the same order, with
 * "covers" in place of "matches". A deny rule that covers the whole filter refuses;
 * a read/readwrite rule that covers it allows; anything else is refused. Denies that
 * only overlap part of the filter are enforced per message by {@link AclEvaluator.canRead}.
 * `$share/<group>/<filter>` is checked as `<filter>`.
 */

export interface AclClient {
  /** Undefined (or null) for an anonymous client; `''` is a real, empty username. */
  readonly username?: string | null | undefined;
  readonly clientId: string;
}

export interface AclEvaluatorOptions {
  /** Max number of clients whose resolved rule set is cached. Default 1024. */
  readonly cacheSize?: number;
}

const READ = 1;
const WRITE = 2;
type AccessBit = typeof READ | typeof WRITE;

interface CompiledRule {
  readonly deny: boolean;
  readonly bits: number;
  readonly levels: readonly string[];
}

interface CompiledPattern {
  readonly deny: boolean;
  readonly bits: number;
  readonly filter: string;
  readonly usesUsername: boolean;
  readonly usesClientId: boolean;
  /** Pre-split when the pattern has no placeholder. */
  readonly fixedLevels: readonly string[] | undefined;
}

interface ResolvedClient {
  readonly username: string | undefined;
  readonly own: readonly CompiledRule[];
  /** Null when the file has no patterns. */
  readonly patterns: readonly CompiledRule[] | null;
  /** Username/client id contains `+` or `#` and the file has patterns. */
  readonly refusedByPatterns: boolean;
}

const BRIDGE_STATE = splitLevels('$SYS/broker/connection/+/state');

function accessBits(access: AclAccess): number {
  switch (access) {
    case 'read':
      return READ;
    case 'write':
      return WRITE;
    case 'readwrite':
      return READ | WRITE;
    case 'deny':
      return 0;
  }
}

/** Denies first (their relative order is irrelevant: any match refuses), grants in file order. */
function denyFirst<T extends { readonly deny: boolean }>(rules: T[]): T[] {
  return [...rules.filter((r) => r.deny), ...rules.filter((r) => !r.deny)];
}

function compileRules(rules: readonly AclRule[]): CompiledRule[] {
  return denyFirst(
    rules.map((r) => ({ deny: r.access === 'deny', bits: accessBits(r.access), levels: splitLevels(r.filter) })),
  );
}

function hasWildcardChar(s: string): boolean {
  return s.includes('+') || s.includes('#');
}

type Decision = 'allow' | 'deny' | 'none';
/** `levelsMatch` for topics, `levelsCover` for subscription filters. */
type Applies = (rule: readonly string[], target: readonly string[]) => boolean;

export class AclEvaluator {
  private readonly anonymous: readonly CompiledRule[];
  private readonly users: ReadonlyMap<string, readonly CompiledRule[]>;
  private readonly patterns: readonly CompiledPattern[];
  /** Keyed by client id; an entry is only used when the username matches too. */
  private readonly cache = new Map<string, ResolvedClient>();
  private readonly cacheSize: number;

  constructor(file: AclFile, options: AclEvaluatorOptions = {}) {
    this.cacheSize = Math.max(0, options.cacheSize ?? 1024);
    this.anonymous = compileRules(file.anonymous);
    const users = new Map<string, readonly CompiledRule[]>();
    for (const [name, rules] of file.users) users.set(name, compileRules(rules));
    this.users = users;
    this.patterns = denyFirst(
      file.patterns.map((p) => {
        const usesUsername = p.filter.includes('%u');
        const usesClientId = p.filter.includes('%c');
        return {
          deny: p.access === 'deny',
          bits: accessBits(p.access),
          filter: p.filter,
          usesUsername,
          usesClientId,
          fixedLevels: usesUsername || usesClientId ? undefined : splitLevels(p.filter),
        };
      }),
    );
  }

  /** WRITE: may the client publish to `topic`? */
  canPublish(client: AclClient, topic: string): boolean {
    if (!isValidTopic(topic)) return false;
    const levels = splitLevels(topic);
    if (levels[0] === '$share') return false;
    if (levels[0] === '$SYS' && !levelsMatch(BRIDGE_STATE, levels)) return false;
    return this.decide(client, WRITE, levels, levelsMatch);
  }

  /** READ: may a message on `topic` be delivered to the client? Called per delivered message. */
  canRead(client: AclClient, topic: string): boolean {
    if (!isValidTopic(topic)) return false;
    const levels = splitLevels(topic);
    if (levels[0] === '$share') return false;
    return this.decide(client, READ, levels, levelsMatch);
  }

  /** SUBSCRIBE: is some read grant covering the whole `filter` reached before a deny covering it? */
  canSubscribe(client: AclClient, filter: string): boolean {
    if (!isValidFilter(filter)) return false;
    let levels = splitLevels(filter);
    if (levels[0] === '$share') {
      // $share/<group>/<filter...>
      const group = levels[1];
      if (group === undefined || group === '' || hasWildcardChar(group) || levels.length < 3) return false;
      levels = levels.slice(2);
    }
    return this.decide(client, READ, levels, levelsCover);
  }

  private decide(client: AclClient, bit: AccessBit, levels: readonly string[], applies: Applies): boolean {
    const resolved = this.resolve(client);
    const own = evaluate(resolved.own, bit, levels, applies);
    if (own !== 'none') return own === 'allow';
    if (resolved.patterns === null || resolved.refusedByPatterns) return false;
    return evaluate(resolved.patterns, bit, levels, applies) === 'allow';
  }

  private resolve(client: AclClient): ResolvedClient {
    const username = client.username ?? undefined;
    const key = client.clientId;
    const hit = this.cache.get(key);
    if (hit && hit.username === username) return hit;

    const own = username === undefined ? this.anonymous : (this.users.get(username) ?? []);
    let patterns: CompiledRule[] | null = null;
    let refusedByPatterns = false;
    if (this.patterns.length > 0) {
      refusedByPatterns = hasWildcardChar(client.clientId) || (username !== undefined && hasWildcardChar(username));
      patterns = refusedByPatterns ? [] : this.substitute(username, client.clientId);
    }
    const resolved: ResolvedClient = { username, own, patterns, refusedByPatterns };

    if (this.cacheSize > 0) {
      if (hit) this.cache.delete(key);
      else if (this.cache.size >= this.cacheSize) {
        // Evict the oldest entry (Map iterates in insertion order).
        const oldest = this.cache.keys().next();
        if (!oldest.done) this.cache.delete(oldest.value);
      }
      this.cache.set(key, resolved);
    }
    return resolved;
  }

  private substitute(username: string | undefined, clientId: string): CompiledRule[] {
    const out: CompiledRule[] = [];
    for (const p of this.patterns) {
      if (p.fixedLevels) {
        out.push({ deny: p.deny, bits: p.bits, levels: p.fixedLevels });
        continue;
      }
      if (p.usesUsername && username === undefined) continue;
      // Substitution happens on the whole string before splitting, as in mosquitto, so a `/`
      // inside a username or client id yields extra levels.
      const filter = p.filter.replace(/%([uc])/g, (_m, which: string) =>
        which === 'c' ? clientId : (username as string),
      );
      out.push({ deny: p.deny, bits: p.bits, levels: splitLevels(filter) });
    }
    return out;
  }
}

function evaluate(rules: readonly CompiledRule[], bit: AccessBit, levels: readonly string[], applies: Applies): Decision {
  for (const rule of rules) {
    if (!rule.deny && (rule.bits & bit) === 0) continue;
    if (!applies(rule.levels, levels)) continue;
    return rule.deny ? 'deny' : 'allow';
  }
  return 'none';
}
