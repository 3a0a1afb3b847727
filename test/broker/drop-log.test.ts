import { describe, expect, it } from 'vitest';
import { DropLog } from '../../src/broker/drop-log.js';
import { createLogger } from '../../src/util/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

describe('DropLog', () => {
  it('logs the first drop at once, then one line per client every 10 s with the count', () => {
    const { logger, lines } = capture();
    let now = 0;
    const log = new DropLog(logger, { messages: 100, bytes: 0 }, () => now);
    for (let i = 0; i < 500; i++) log.dropped('slow');
    log.dropped('other');
    expect(lines.map((l) => [l.clientId, l.dropped])).toEqual([
      ['slow', 1],
      ['other', 1],
    ]);
    now = 10_000;
    log.dropped('slow');
    expect(lines.at(-1)).toMatchObject({ clientId: 'slow', dropped: 500, limit: 100, msg: 'max_queued_messages reached, messages dropped' });
  });
});
