import { isIPv6 } from 'node:net';

/**
 * Slows password guessing per source address. Each address has a bucket of failed logins it may make at full speed
 * (`burst`), refilled one every `refillMs`. Once it is empty, the address's next password checks wait: the first
 * `baseDelayMs`, doubling with each further failure up to `maxDelayMs`, one at a time, and at most `maxWaiting` of its
 * connections wait at once, none longer than `maxDelayMs`; beyond that a CONNECT is refused without checking its
 * password. So a flood from one
 * address gets a few guesses per delay, costs a few sockets and no PBKDF2, and clients from other addresses are never
 * slowed. A correct password from a slowed address still gets in, after its wait.
 *
 * IPv6 addresses count per /64 (what one host or one LAN gets); the table is bounded, dropping the least recently
 * failed address when full.
 */
export interface LoginThrottleOptions {
  burst: number;
  refillMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxWaiting: number;
  maxAddresses: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  burst: 5,
  refillMs: 10_000,
  baseDelayMs: 250,
  // Under aedes' 30 s connect timeout, and short enough that a slowed user who typed it right is not lost.
  maxDelayMs: 8_000,
  maxWaiting: 4,
  maxAddresses: 10_000,
};

/** What to do with a CONNECT's password check. */
export type LoginGate = { check: 'now' } | { check: 'after'; delayMs: number } | { check: 'refuse' };

interface AddressState {
  /** Failures it may still make at full speed; negative: how far beyond, which sets the delay. */
  tokens: number;
  refilledAt: number;
  /** When the next check of this address may run. */
  nextCheckAt: number;
  waiting: number;
}

export class LoginThrottle {
  private readonly addresses = new Map<string, AddressState>();

  constructor(
    private readonly options: LoginThrottleOptions = DEFAULT_LOGIN_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Before checking a password from `address`. A `after` gate must be followed by `released` once it has waited. */
  gate(address: string | undefined): LoginGate {
    const state = this.stateOf(address, false);
    if (!state || state.tokens >= 0) return { check: 'now' };
    const now = this.now();
    if (state.nextCheckAt <= now && state.waiting === 0) {
      state.nextCheckAt = now + this.delayOf(state);
      return { check: 'now' };
    }
    // One at a time: each waiter takes the next slot, spaced as if those before it failed too; none waits longer
    // than the longest delay.
    const at = Math.max(now, state.nextCheckAt);
    if (state.waiting >= this.options.maxWaiting || at - now > this.options.maxDelayMs) return { check: 'refuse' };
    state.nextCheckAt = at + this.delayOf(state, state.waiting + 1);
    state.waiting++;
    return { check: 'after', delayMs: at - now };
  }

  /** A connection that waited (gate `after`) is being checked now, or went away. */
  released(address: string | undefined): void {
    const state = this.stateOf(address, false);
    if (state && state.waiting > 0) state.waiting--;
  }

  /** A wrong username or password from `address`; true when this failure is the one that starts slowing it down. */
  failed(address: string | undefined): boolean {
    const state = this.stateOf(address, true);
    if (!state) return false;
    state.tokens = Math.max(state.tokens - 1, -32);
    if (state.tokens < 0) state.nextCheckAt = Math.max(state.nextCheckAt, this.now() + this.delayOf(state));
    return state.tokens === -1;
  }

  /** Addresses tracked: bounded by `maxAddresses`. */
  get size(): number {
    return this.addresses.size;
  }

  /** The wait after the next check when `ahead` more checks, not yet done, fail first. */
  private delayOf(state: AddressState, ahead = 0): number {
    const overdraft = ahead - state.tokens;
    if (overdraft <= 0) return 0;
    return Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(overdraft - 1, 32));
  }

  private stateOf(address: string | undefined, create: boolean): AddressState | undefined {
    if (!address) return undefined;
    const key = addressKey(address);
    const now = this.now();
    let state = this.addresses.get(key);
    if (state) {
      const refills = Math.floor((now - state.refilledAt) / this.options.refillMs);
      if (refills > 0) {
        state.tokens = Math.min(this.options.burst, state.tokens + refills);
        state.refilledAt += refills * this.options.refillMs;
      }
      if (state.tokens >= this.options.burst && state.waiting === 0) {
        // Back to a full bucket: nothing worth remembering.
        this.addresses.delete(key);
        state = undefined;
      }
    }
    if (!state && create) {
      state = { tokens: this.options.burst, refilledAt: now, nextCheckAt: 0, waiting: 0 };
    }
    if (state && create) {
      // Most recently failed last: the first entry is the one to drop when the table is full.
      this.addresses.delete(key);
      this.addresses.set(key, state);
      if (this.addresses.size > this.options.maxAddresses) {
        const oldest = this.addresses.keys().next().value;
        if (oldest !== undefined) this.addresses.delete(oldest);
      }
    }
    return state;
  }
}

/** An IPv4 address as it is; IPv4-mapped IPv6 as IPv4; other IPv6 by its /64 prefix. */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head, tail] = address.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''));
}
