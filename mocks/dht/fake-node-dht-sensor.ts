import type { NodeDhtModule } from '../../src/drivers/dht/node-dht-backend.js';
import type { DhtSample } from '../../src/drivers/types.js';
import type { Clock } from '../../src/util/clock.js';

/**
 * Stands in for the native node-dht-sensor module, with its quirks: a second read on a pin within 3 s returns the
 * previous values as a success; failures reject with a bare "failed to read sensor". `cannotInitialize()` models
 * its default bcm2835 build on a Pi 5 (no BCM2835 GPIO registers to map): every call rejects with "failed to
 * initialize sensor", as src/node-dht-sensor.cpp does when its initialize() fails, which it retries on each call.
 */
export class FakeNodeDhtSensor implements NodeDhtModule {
  readonly calls: { type: number; pin: number }[] = [];
  private readonly last = new Map<number, { sample: DhtSample; at: number }>();
  private failures = 0;
  private initializes = true;
  private next: DhtSample;

  constructor(
    private readonly clock: Clock,
    initial: DhtSample = { temperature: 21.5, humidity: 45 },
  ) {
    this.next = initial;
  }

  set(sample: DhtSample): void {
    this.next = sample;
  }

  failNext(count = 1): void {
    this.failures += count;
  }

  cannotInitialize(): void {
    this.initializes = false;
  }

  readonly promises = {
    read: async (type: 11 | 22, pin: number): Promise<DhtSample> => {
      this.calls.push({ type, pin });
      if (!this.initializes) throw new Error('failed to initialize sensor');
      const now = this.clock.now();
      const last = this.last.get(pin);
      if (last && now - last.at < 3000) return { ...last.sample };
      if (this.failures > 0) {
        this.failures -= 1;
        throw new Error('failed to read sensor');
      }
      this.last.set(pin, { sample: { ...this.next }, at: now });
      return { ...this.next };
    },
    setMaxRetries: (_retries: number): void => {},
  };
}
