import type { DhtReaderRequest, HardwareContext } from '../../src/drivers/sensor-factory.js';
import { I2cBusPool } from '../../src/drivers/i2c/bus-pool.js';
import { W1SysfsBus } from '../../src/drivers/onewire/w1-sysfs-bus.js';
import type { DhtReader, OneWireBus } from '../../src/drivers/types.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';
import { SimulatedDhtReader } from '../dht/simulated-dht.js';
import { VirtualI2cBus } from '../i2c/virtual-bus.js';
import { W1Tree, type W1Ds18b20Device } from '../sysfs/w1-tree.js';
import { Ads1115Emulator } from './ads1115-emulator.js';
import { Bh1750Emulator } from './bh1750-emulator.js';
import { Bme280Emulator } from './bme280-emulator.js';
import { createRoom, type SimulatedRoom } from './environment.js';
import { Sht3xEmulator } from './sht3x-emulator.js';

export interface SimulatedHardwareOptions {
  /** Same seed, same readings (for a given sequence of read times). */
  seed?: number;
  /** systemClock for a live demo; a ManualClock in tests (its sleep advances time instantly). */
  clock?: Clock;
  logger?: Logger;
  /** Per-transfer latency of the virtual I2C buses. */
  latencyMs?: number;
}

export interface SimulatedHardware extends HardwareContext {
  readonly room: SimulatedRoom;
  /** The raw (unserialised) virtual bus; attach more emulators here. */
  virtualBus(busNumber: number): VirtualI2cBus;
  /** Bus 1: BME280 @0x76, SHT31 @0x44, BH1750 @0x23, ADS1115 @0x48. */
  readonly chips: { bme280: Bme280Emulator; sht3x: Sht3xEmulator; bh1750: Bh1750Emulator; ads1115: Ads1115Emulator };
  /** The simulated DHT on a pin, created by the first dhtReader() request for it. */
  dht(pin: number): SimulatedDhtReader | undefined;
  /** A temporary w1 sysfs tree with one DS18B20. */
  readonly w1: W1Tree;
  readonly ds18b20: W1Ds18b20Device;
  close(): Promise<void>;
}

/**
 * A whole simulated Pi for the demo and integration tests: every sensor kind of the registry answers, all reading
 * one drifting room, every part with a fault handle (`hw.chips.sht3x.inject({ kind: 'crc' })`, `hw.dht(4)?.disconnect()`).
 */
export async function createSimulatedHardware(options: SimulatedHardwareOptions = {}): Promise<SimulatedHardware> {
  const clock = options.clock ?? systemClock;
  const seed = options.seed ?? 1;
  const room = createRoom(seed);
  const logger = options.logger ?? silentLogger();
  const buses = new Map<number, VirtualI2cBus>();
  const virtualBus = (n: number) => {
    let bus = buses.get(n);
    if (!bus) buses.set(n, (bus = new VirtualI2cBus({ busNumber: n, latencyMs: options.latencyMs })));
    return bus;
  };
  const pool = new I2cBusPool(async (n) => virtualBus(n));

  const bus1 = virtualBus(1);
  const chips = {
    bme280: bus1.attach(new Bme280Emulator({ clock, temperature: room.temperature, humidity: room.humidity, pressure: room.pressure })),
    sht3x: bus1.attach(new Sht3xEmulator({ clock, temperature: room.temperature, humidity: room.humidity })),
    bh1750: bus1.attach(new Bh1750Emulator({ clock, illuminance: room.illuminance })),
    ads1115: bus1.attach(new Ads1115Emulator({ clock, seed: seed + 100 })),
  };

  const w1 = await W1Tree.create({ clock, seed });
  const ds18b20 = await w1.addDs18b20({ temperature: room.temperature });
  let oneWire: OneWireBus | undefined;

  const dhts = new Map<number, SimulatedDhtReader>();
  const dhtReader = async (request: DhtReaderRequest): Promise<DhtReader> => {
    let reader = dhts.get(request.pin);
    if (!reader) {
      reader = new SimulatedDhtReader({ model: request.model, pin: request.pin, clock, temperature: room.temperature, humidity: room.humidity });
      dhts.set(request.pin, reader);
    }
    return reader;
  };

  return {
    logger,
    room,
    chips,
    w1,
    ds18b20,
    clock,
    virtualBus,
    i2cBus: (n) => pool.get(n),
    dhtReader,
    dht: (pin) => dhts.get(pin),
    oneWire: () => (oneWire ??= new W1SysfsBus({ sysfsRoot: w1.root, fs: w1.fs, logger })),
    close: async () => {
      await pool.close();
      await w1.cleanup();
    },
  };
}
