import type { Logger } from '../util/logger.js';

const QUIET_MS = 10_000;

/**
 * Logs messages dropped because a client's queue is full (max_queued_messages or max_queued_bytes): the first drop
 * for a client at once, then at most one line per client every 10 s with the count since the last line. A subscriber
 * that stays behind would otherwise write a log line per message.
 */
export class DropLog {
  private readonly recent = new Map<string, { loggedAt: number; unlogged: number }>();

  constructor(
    private readonly log: Logger,
    private readonly limits: { messages: number; bytes: number },
    private readonly now: () => number = Date.now,
  ) {}

  dropped(clientId: string, limit: 'messages' | 'bytes' = 'messages'): void {
    const now = this.now();
    const entry = this.recent.get(clientId);
    if (entry && now - entry.loggedAt < QUIET_MS) {
      entry.unlogged++;
      return;
    }
    const dropped = (entry?.unlogged ?? 0) + 1;
    this.recent.set(clientId, { loggedAt: now, unlogged: 0 });
    if (limit === 'bytes') this.log.warn({ clientId, limit: this.limits.bytes, dropped }, 'max_queued_bytes reached, messages dropped');
    else this.log.warn({ clientId, limit: this.limits.messages, dropped }, 'max_queued_messages reached, messages dropped');
    if (this.recent.size > 1000) this.forgetQuiet(now);
  }

  private forgetQuiet(now: number): void {
    for (const [clientId, entry] of this.recent) if (now - entry.loggedAt >= QUIET_MS && entry.unlogged === 0) this.recent.delete(clientId);
  }
}
