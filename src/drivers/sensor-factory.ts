import { z } from 'zod';
import { ADS1115_DATA_RATES, Ads1115 } from './chips/ads1115.js';
import { Bh1750 } from './chips/bh1750.js';
import { Bme280 } from './chips/bme280.js';
import { Sht3x } from './chips/sht3x.js';
import { DhtSensor } from './dht/dht-sensor.js';
import { IioDhtReader } from './dht/iio-dht-reader.js';
import { openNodeDhtReader } from './dht/node-dht-backend.js';
import { I2cBusPool } from './i2c/bus-pool.js';
import { openI2cBus } from './i2c/i2c-bus-backend.js';
import { Ds18b20 } from './onewire/ds18b20.js';
import { W1SysfsBus } from './onewire/w1-sysfs-bus.js';
import type { DhtModel, DhtReader, I2cBus, OneWireBus, Sensor } from './types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/** `auto`: the kernel IIO driver when a dht11 IIO device exists, node-dht-sensor otherwise. */
export type DhtBackend = 'auto' | 'iio' | 'node-dht-sensor';

export interface DhtReaderRequest {
  model: DhtModel;
  /** BCM GPIO number. */
  pin: number;
  backend: DhtBackend;
  /** IIO only: `iio:device0`, or the index among dht11 IIO devices. */
  iioDevice?: string;
  iioIndex?: number;
}

/** The hardware a sensor constructor may use: real (realHardware) or simulated (mocks/chips/simulated-hardware.ts). */
export interface HardwareContext {
  logger: Logger;
  /** The shared serialised bus for a bus number. */
  i2cBus(busNumber: number): Promise<I2cBus>;
  dhtReader(request: DhtReaderRequest): Promise<DhtReader>;
  oneWire(): OneWireBus;
  /** Conversion waits, the DHT rate limit; default systemClock. */
  clock?: Clock;
}

/** Builds one sensor from its (already parsed) options. */
export type SensorConstructor = (options: Record<string, unknown>, hw: HardwareContext) => Promise<Sensor>;

interface Entry {
  schema: z.ZodType;
  create: SensorConstructor;
}

/** "0x76" in YAML arrives as 118 or as a string, depending on quoting. */
const address = (allowed: readonly number[]) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : v),
    z.number().int().refine((n) => allowed.includes(n), { message: `address must be one of ${allowed.map((a) => `0x${a.toString(16)}`).join(', ')}` }),
  );
const busNumber = z.number().int().min(0).default(1);
const oversampling = z.literal([0, 1, 2, 4, 8, 16]);
const fullScale = z.literal([6.144, 4.096, 2.048, 1.024, 0.512, 0.256]);
const adcInput = z.literal([0, 1, 2, 3]);

export const SENSOR_OPTION_SCHEMAS = {
  bme280: z.object({
    bus: busNumber,
    address: address([0x76, 0x77]).default(0x76),
    oversampling: z.object({ temperature: oversampling.optional(), pressure: oversampling.optional(), humidity: oversampling.optional() }).optional(),
  }),
  sht3x: z.object({ bus: busNumber, address: address([0x44, 0x45]).default(0x44), repeatability: z.enum(['high', 'medium', 'low']).default('high') }),
  bh1750: z.object({ bus: busNumber, address: address([0x23, 0x5c]).default(0x23), mtreg: z.number().int().min(31).max(254).default(69) }),
  ads1115: z.object({
    bus: busNumber,
    address: address([0x48, 0x49, 0x4a, 0x4b]).default(0x48),
    inputs: z.array(adcInput).min(1).default([0]),
    fullScale: fullScale.default(4.096),
    fullScaleByInput: z.partialRecord(z.enum(['0', '1', '2', '3']), fullScale).optional(),
    dataRate: z
      .number()
      .refine((n) => ADS1115_DATA_RATES.includes(n), { message: `dataRate must be one of ${ADS1115_DATA_RATES.join(', ')}` })
      .default(128),
  }),
  dht: z.object({
    pin: z.number().int().min(0).max(53),
    backend: z.enum(['auto', 'iio', 'node-dht-sensor']).default('auto'),
    iioDevice: z.string().optional(),
    iioIndex: z.number().int().min(0).optional(),
  }),
  ds18b20: z.object({ deviceId: z.string().regex(/^28-[0-9a-f]{12}$/i).optional() }),
} as const;

type Options<K extends keyof typeof SENSOR_OPTION_SCHEMAS> = z.output<(typeof SENSOR_OPTION_SCHEMAS)[K]>;

const child = (hw: HardwareContext, kind: string) => hw.logger.child({ module: 'sensor', kind });

function bme280Entry(model: 'bme280' | 'bmp280'): Entry {
  return {
    schema: SENSOR_OPTION_SCHEMAS.bme280,
    create: async (raw, hw) => {
      const o = raw as Options<'bme280'>;
      const bus = await hw.i2cBus(o.bus);
      const options = { address: o.address, model, oversampling: o.oversampling, clock: hw.clock, logger: child(hw, model) };
      try {
        return await Bme280.open(bus, options);
      } catch (error) {
        // Absent at start-up: hand out the configured model; reads fail typed until the chip answers.
        options.logger.warn({ err: error }, 'BME280/BMP280 not answering at start-up; will retry on each read');
        return new Bme280(bus, options);
      }
    },
  };
}

function dhtEntry(model: DhtModel): Entry {
  return {
    schema: SENSOR_OPTION_SCHEMAS.dht,
    create: async (raw, hw) => {
      const o = raw as Options<'dht'>;
      const reader = await hw.dhtReader({ model, pin: o.pin, backend: o.backend, iioDevice: o.iioDevice, iioIndex: o.iioIndex });
      return new DhtSensor(reader, { model, device: `dht-gpio${o.pin}`, clock: hw.clock });
    },
  };
}

/** Kind string → option schema + constructor. Add a chip: one file in chips/, one register() line, an emulator. */
export class SensorRegistry {
  private readonly entries = new Map<string, Entry>();

  register(kind: string, schema: z.ZodType, create: SensorConstructor): this {
    this.entries.set(kind, { schema, create });
    return this;
  }

  kinds(): string[] {
    return [...this.entries.keys()].sort();
  }

  has(kind: string): boolean {
    return this.entries.has(kind);
  }

  schema(kind: string): z.ZodType | undefined {
    return this.entries.get(kind)?.schema;
  }

  /** Validates `options` against the kind's schema (defaults applied) and builds the sensor. */
  async create(kind: string, options: Record<string, unknown>, hw: HardwareContext): Promise<Sensor> {
    const entry = this.entries.get(kind);
    if (!entry) throw new Error(`unknown sensor kind "${kind}"; known: ${this.kinds().join(', ')}`);
    const parsed = entry.schema.safeParse(options);
    if (!parsed.success) throw new Error(`invalid options for ${kind}: ${z.prettifyError(parsed.error)}`);
    return entry.create(parsed.data as Record<string, unknown>, hw);
  }
}

export function createSensorRegistry(): SensorRegistry {
  const s = SENSOR_OPTION_SCHEMAS;
  return new SensorRegistry()
    .register('bme280', s.bme280, bme280Entry('bme280').create)
    .register('bmp280', s.bme280, bme280Entry('bmp280').create)
    .register('sht3x', s.sht3x, async (raw, hw) => {
      const o = raw as Options<'sht3x'>;
      return new Sht3x(await hw.i2cBus(o.bus), { address: o.address, repeatability: o.repeatability, clock: hw.clock });
    })
    .register('bh1750', s.bh1750, async (raw, hw) => {
      const o = raw as Options<'bh1750'>;
      return new Bh1750(await hw.i2cBus(o.bus), { address: o.address, mtreg: o.mtreg, clock: hw.clock });
    })
    .register('ads1115', s.ads1115, async (raw, hw) => {
      const o = raw as Options<'ads1115'>;
      const byInput = Object.fromEntries(Object.entries(o.fullScaleByInput ?? {}).map(([k, v]) => [Number(k), v]));
      return new Ads1115(await hw.i2cBus(o.bus), { ...o, fullScaleByInput: byInput, clock: hw.clock });
    })
    .register('dht22', s.dht, dhtEntry('dht22').create)
    .register('dht11', s.dht, dhtEntry('dht11').create)
    .register('ds18b20', s.ds18b20, async (raw, hw) => new Ds18b20(hw.oneWire(), raw as Options<'ds18b20'>));
}

export interface RealHardwareOptions {
  logger: Logger;
  /** Default `/sys`. */
  sysfsRoot?: string;
}

/** The hardware of a real Pi: i2c-bus (optional native), kernel IIO / node-dht-sensor for DHT, w1 sysfs. */
export function realHardware(options: RealHardwareOptions): HardwareContext & { close(): Promise<void> } {
  const { logger, sysfsRoot } = options;
  const pool = new I2cBusPool((n) => openI2cBus(n, { logger }));
  let oneWire: OneWireBus | undefined;
  return {
    logger,
    i2cBus: (n) => pool.get(n),
    dhtReader: async (request) => {
      const iio = request.backend === 'iio' || (request.backend === 'auto' && (await IioDhtReader.available({ sysfsRoot })));
      return iio
        ? new IioDhtReader({ sysfsRoot, device: request.iioDevice, index: request.iioIndex, logger })
        : openNodeDhtReader({ model: request.model, pin: request.pin, logger });
    },
    oneWire: () => (oneWire ??= new W1SysfsBus({ sysfsRoot, logger })),
    close: () => pool.close(),
  };
}
