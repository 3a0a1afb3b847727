import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeSysfsReader, type SysfsReader } from '../../src/drivers/onewire/sysfs-reader.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { createRoom } from '../chips/environment.js';
import { FaultInjectable } from '../chips/faults.js';
import { toSignal, type Signal, type SignalInput } from '../chips/signal.js';
import { osError } from '../i2c/os-error.js';

export interface IioDht11Options {
  temperature?: SignalInput;
  humidity?: SignalInput;
  seed?: number;
}

/**
 * drivers/iio/humidity/dht11.c: DHT11_DATA_VALID_TIME (2 s) — a read within 2 s of the last decoded frame returns
 * that frame without a start pulse. The frame is stamped when it is decoded, after the start pulse (at least 18 ms)
 * and the 40 bits, so a read exactly 2 s after the previous one still gets the old frame.
 */
const FRAME_VALID_MS = 2000;
const FRAME_DECODED_AFTER_MS = 25;
/** How long the driver waits for the sensor's edges before it gives up with ETIMEDOUT (HZ, one second). */
const EDGE_TIMEOUT_MS = 1000;
/** A DHT does not answer a start pulse sent within ~2 s of the previous one (the datasheets' sampling period). */
const SENSOR_REST_MS = 2000;

/**
 * One `iio:deviceN` made by the dht11 overlay. Reading a value file through the tree's `fs` makes it fetch a new
 * frame (unless the last decoded one is < 2 s old), failing like the kernel: `timeout`, a disconnected sensor, or a
 * start pulse sooner than 2 s after the previous one → ETIMEDOUT; `eio`/`crc`/`nack` → EIO (the driver checks the
 * checksum itself). Only a decoded frame is cached, so a read after a failure sends a new start pulse at once, as
 * the kernel does; `pulses` records them. `out-of-range` writes 0 / 0, `stuck` leaves the files as they are.
 * remove() deletes the node, as unloading the overlay would.
 */
class IioDht11Device extends FaultInjectable {
  private signals: { temperature: Signal; humidity: Signal };
  private frameAt: number | undefined;
  /** Clock times of the start pulses the driver sent. */
  readonly pulses: number[] = [];

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly clock: Clock,
    options: IioDht11Options,
  ) {
    super();
    const room = createRoom(options.seed ?? 6);
    this.signals = { temperature: toSignal(options.temperature ?? room.temperature), humidity: toSignal(options.humidity ?? room.humidity) };
  }

  set(values: { temperature?: SignalInput; humidity?: SignalInput }): void {
    if (values.temperature !== undefined) this.signals.temperature = toSignal(values.temperature);
    if (values.humidity !== undefined) this.signals.humidity = toSignal(values.humidity);
  }

  async create(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, 'name'), 'dht11\n');
    await this.writeValues(this.clock.now());
    this.frameAt = undefined;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Called by the tree's fs before a value file is read. */
  async fetchFrame(): Promise<void> {
    const now = this.clock.now();
    if (this.frameAt !== undefined && now < this.frameAt + FRAME_VALID_MS) return;
    const previous = this.pulses.at(-1);
    this.pulses.push(now);
    const unanswered = !this.faults.connected || (previous !== undefined && now - previous < SENSOR_REST_MS);
    const fault = unanswered ? 'timeout' : this.faults.take('timeout', 'eio', 'crc', 'nack', 'stuck', 'out-of-range');
    // The read blocks while the frame comes in, or until the driver gives up waiting for it.
    await this.clock.sleep(fault === 'timeout' ? EDGE_TIMEOUT_MS : FRAME_DECODED_AFTER_MS);
    if (fault === 'timeout') throw osError('ETIMEDOUT', 'read');
    if (fault === 'eio' || fault === 'crc' || fault === 'nack') throw osError('EIO', 'read');
    this.frameAt = this.clock.now();
    if (fault === 'stuck') return;
    if (fault === 'out-of-range') return this.write('0', '0');
    await this.writeValues(now);
  }

  private writeValues(now: number): Promise<void> {
    // DHT22 resolution: 0.1 °C and 0.1 %, reported in milli-units.
    const milli = (v: number) => String(Math.round(v * 10) * 100);
    return this.write(milli(this.signals.temperature.at(now)), milli(Math.min(100, Math.max(0, this.signals.humidity.at(now)))));
  }

  private async write(temperature: string, humidity: string): Promise<void> {
    await writeFile(join(this.dir, 'in_temp_input'), `${temperature}\n`);
    await writeFile(join(this.dir, 'in_humidityrelative_input'), `${humidity}\n`);
  }
}

/** A temporary `/sys` with `bus/iio/devices/iio:deviceN`: pass `root` as sysfsRoot and `fs` as the reader. */
export class IioTree {
  readonly devicesDir: string;
  private readonly devices: IioDht11Device[] = [];
  private nextIndex = 0;

  private constructor(
    readonly root: string,
    private readonly clock: Clock,
  ) {
    this.devicesDir = join(root, 'bus', 'iio', 'devices');
  }

  static async create(options: { root?: string; clock?: Clock } = {}): Promise<IioTree> {
    const root = options.root ?? (await mkdtemp(join(tmpdir(), 'iio-sysfs-')));
    const tree = new IioTree(root, options.clock ?? systemClock);
    await mkdir(tree.devicesDir, { recursive: true });
    return tree;
  }

  async addDht11(options: IioDht11Options = {}): Promise<IioDht11Device> {
    const name = `iio:device${this.nextIndex++}`;
    const device = new IioDht11Device(name, join(this.devicesDir, name), this.clock, options);
    await device.create();
    this.devices.push(device);
    return device;
  }

  /** Another IIO device (an ADC, a BME280 bound to the kernel driver...) that a dht11 lookup must skip. */
  async addOther(deviceName: string): Promise<string> {
    const name = `iio:device${this.nextIndex++}`;
    await mkdir(join(this.devicesDir, name), { recursive: true });
    await writeFile(join(this.devicesDir, name, 'name'), `${deviceName}\n`);
    return name;
  }

  /** Reads like the kernel would answer them. */
  readonly fs: SysfsReader = {
    readdir: (path) => nodeSysfsReader.readdir(path),
    readFile: async (path) => {
      const device = this.devices.find((d) => path.startsWith(d.dir + '/'));
      if (device && /in_(temp|humidityrelative)_input$/.test(path)) await device.fetchFrame();
      return nodeSysfsReader.readFile(path);
    },
  };

  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}
