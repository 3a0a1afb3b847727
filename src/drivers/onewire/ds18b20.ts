import { DeviceNotPresentError } from '../errors.js';
import type { OneWireBus, Sensor, SensorChannel } from '../types.js';
import { TEMPERATURE } from '../channels.js';

export interface Ds18b20Options {
  /** e.g. `28-0000075565ef`; default: the first DS18B20 (family 28) on the bus. */
  deviceId?: string;
}

/** A DS18B20 on the 1-Wire bus as a Sensor. */
export class Ds18b20 implements Sensor {
  readonly kind = 'ds18b20';
  readonly channels: readonly SensorChannel[] = [TEMPERATURE];
  private deviceId: string | undefined;

  constructor(
    private readonly bus: OneWireBus,
    options: Ds18b20Options = {},
  ) {
    this.deviceId = options.deviceId;
  }

  /** The device read, once known. */
  get id(): string | undefined {
    return this.deviceId;
  }

  async read(): Promise<Record<string, number>> {
    const id = this.deviceId ?? (await this.findFirst());
    return { temperature: await this.bus.readTemperature(id) };
  }

  async close(): Promise<void> {}

  private async findFirst(): Promise<string> {
    const id = (await this.bus.list()).find((d) => d.startsWith('28-'));
    if (!id) throw new DeviceNotPresentError('w1', 'no DS18B20 (28-*) on the 1-Wire bus; is dtoverlay=w1-gpio set and the 4.7k pull-up fitted?');
    this.deviceId = id;
    return id;
  }
}
