import { describe, expect, it } from 'vitest';
import { BucketedSeries } from '../../src/web/bucketed-series.js';
import { RecentWarnings } from '../../src/web/recent-warnings.js';
import { createLogger } from '../../src/util/logger.js';

describe('what the page keeps in memory is bounded', () => {
  it('a series keeps one point per bucket, the latest, and at most its capacity, oldest dropped first', () => {
    const series = new BucketedSeries(3, 10_000);
    series.add(1_000, 1);
    series.add(9_000, 2); // same bucket: replaces
    expect(series.points()).toEqual([[9_000, 2]]);
    series.add(10_000, 3);
    series.add(25_000, 4);
    series.add(31_000, 5);
    expect(series.size).toBe(3);
    expect(series.points()).toEqual([
      [10_000, 3],
      [25_000, 4],
      [31_000, 5],
    ]);
    expect(series.points(20_000)).toEqual([
      [25_000, 4],
      [31_000, 5],
    ]);
    for (let t = 40_000; t < 10_000_000; t += 10_000) series.add(t, t);
    expect(series.size).toBe(3);
  });

  it('keeps the last warnings and errors of the log, after redaction, and nothing below warn', () => {
    const warnings = new RecentWarnings(2);
    const seen: string[] = [];
    warnings.onEntry((entry) => seen.push(entry.msg));
    const logger = createLogger({ level: 'info', warnings }, { write: () => undefined }).child({ module: 'bridge' });
    logger.info('not shown');
    logger.warn({ connection: 'cloud', password: 'hunter2' }, 'first');
    logger.error({ err: new Error('boom') }, 'second');
    logger.warn({ remote_password: 'hunter2', connection: 'cloud' }, 'third');
    expect(seen).toEqual(['first', 'second', 'third']);
    const list = warnings.list();
    expect(list.map((e) => [e.level, e.module, e.msg])).toEqual([
      ['error', 'bridge', 'second'],
      ['warn', 'bridge', 'third'],
    ]);
    expect(list[0]!.detail).toBe('err: boom');
    expect(JSON.stringify(list)).not.toContain('hunter2');
  });
});
