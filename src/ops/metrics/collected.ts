import { Counter, Gauge, type Registry } from 'prom-client';

/** One series of a metric: its label values and its current value. */
export type Sample<L extends string> = [labels: Partial<Record<L, string>>, value: number];

/**
 * A counter whose values are read from the live objects at each scrape, not incremented alongside them: the figures
 * already exist (broker stats, sensor and bridge counters), and a second count could drift from the first. A series
 * that disappears (a bridge removed on reload) goes with the next scrape.
 */
export function collectedCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: () => Sample<L>[]): void {
  new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

/** A gauge read from the live objects at each scrape; a series left out (unknown) is not exported. */
export function collectedGauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: () => Sample<L>[]): void {
  new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}
