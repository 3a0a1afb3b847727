import type { I2cBus } from '../types.js';
import { serialize, type SerializedI2cBus } from './serialized-bus.js';

/** One serialised bus per bus number, opened on first use and shared by every chip on it. */
export class I2cBusPool {
  private readonly buses = new Map<number, Promise<SerializedI2cBus>>();

  constructor(private readonly open: (busNumber: number) => Promise<I2cBus>) {}

  get(busNumber: number): Promise<SerializedI2cBus> {
    let bus = this.buses.get(busNumber);
    if (!bus) {
      bus = this.open(busNumber).then(serialize);
      // A failed open is not cached: the next sensor asking may find the bus enabled by then.
      bus.catch(() => this.buses.delete(busNumber));
      this.buses.set(busNumber, bus);
    }
    return bus;
  }

  async close(): Promise<void> {
    const buses = [...this.buses.values()];
    this.buses.clear();
    const settled = await Promise.allSettled(buses);
    await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
  }
}
