/**
 * How long to wait before the next connection attempt: mosquitto's `restart_timeout`. A constant waits the same
 * every time; `[base, cap]` is decorrelated jitter (each wait drawn between base and three times the last one,
 * capped), so a fleet of gateways that lost the same cloud do not all come back in the same second; a third value is
 * how long a connection must last for the next failure to start again from base.
 */
export class Backoff {
  private last: number;
  private readonly base: number;
  private readonly cap: number;
  private readonly stableMs: number | undefined;

  constructor(
    restartTimeout: number | [number, number] | [number, number, number],
    private readonly random: () => number = Math.random,
  ) {
    const [base, cap, stable] = typeof restartTimeout === 'number' ? [restartTimeout, restartTimeout, undefined] : restartTimeout;
    this.base = base * 1000;
    this.cap = cap * 1000;
    this.stableMs = stable === undefined ? undefined : stable * 1000;
    this.last = this.base;
  }

  /** The wait before the next attempt, in ms. */
  next(): number {
    if (this.cap === this.base) return this.base;
    const upper = Math.min(this.cap, this.last * 3);
    this.last = Math.min(this.cap, this.base + this.random() * Math.max(0, upper - this.base));
    return Math.round(this.last);
  }

  /** A connection that ended after `connectedMs`: long enough (or any, without a stable time) and the waits start over. */
  connectionLasted(connectedMs: number): void {
    if (this.stableMs === undefined || connectedMs >= this.stableMs) this.last = this.base;
  }
}
