import type { Logger } from '../util/logger.js';
import { LimitLog } from './limit-log.js';

/**
 * Logs messages dropped because a client's queue is full (max_queued_messages or max_queued_bytes): the first drop
 * for a client at once, then at most one line per client every 10 s with the count since the last line. A subscriber
 * that stays behind would otherwise write a log line per message.
 */
export class DropLog {
  private readonly byLimit: Record<'messages' | 'bytes', LimitLog>;

  constructor(
    log: Logger,
    private readonly limits: { messages: number; bytes: number },
    now: () => number = Date.now,
  ) {
    this.byLimit = {
      messages: new LimitLog(log, 'max_queued_messages reached, messages dropped', now, 'dropped'),
      bytes: new LimitLog(log, 'max_queued_bytes reached, messages dropped', now, 'dropped'),
    };
  }

  dropped(clientId: string, limit: 'messages' | 'bytes' = 'messages'): void {
    this.byLimit[limit].hit(clientId, { clientId, limit: this.limits[limit] });
  }
}
