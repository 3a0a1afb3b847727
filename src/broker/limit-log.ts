import type { Logger } from '../util/logger.js';

const QUIET_MS = 10_000;

/**
 * Logs a limit that bites without writing a line per hit: the first hit for a key at once, then at most one line per
 * key every 10 s with the number of hits since the last line. An attacker repeating the refused thing (connects past
 * max_connections, oversized packets) would otherwise fill the SD card with the log.
 */
export class LimitLog {
  private readonly recent = new Map<string, { loggedAt: number; unlogged: number }>();

  constructor(
    private readonly log: Logger,
    private readonly message: string,
    private readonly now: () => number = Date.now,
    /** The field that carries the number of hits the line stands for. */
    private readonly countField = 'count',
  ) {}

  /** One hit for `key`; `fields` are logged with the line, if one is written. */
  hit(key: string, fields: Record<string, unknown>): void {
    const now = this.now();
    const entry = this.recent.get(key);
    if (entry && now - entry.loggedAt < QUIET_MS) {
      entry.unlogged++;
      return;
    }
    const count = (entry?.unlogged ?? 0) + 1;
    this.recent.set(key, { loggedAt: now, unlogged: 0 });
    this.log.warn({ ...fields, [this.countField]: count }, this.message);
    if (this.recent.size > 1000) this.forgetQuiet(now);
  }

  private forgetQuiet(now: number): void {
    for (const [key, entry] of this.recent) if (now - entry.loggedAt >= QUIET_MS && entry.unlogged === 0) this.recent.delete(key);
  }
}
