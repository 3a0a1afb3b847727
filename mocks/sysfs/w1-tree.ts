import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeSysfsReader, type SysfsReader } from '../../src/drivers/onewire/sysfs-reader.js';
import { dallasCrc8 } from '../../src/drivers/onewire/w1-slave.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { createRoom } from '../chips/environment.js';
import { FaultInjector, type FaultSpec, type FaultTarget } from '../chips/faults.js';
import { Random } from '../chips/random.js';
import { toSignal, type Signal, type SignalInput } from '../chips/signal.js';
import { osError } from '../i2c/os-error.js';

export interface Ds18b20Options {
  /** `28-` plus 12 hex digits; random (seeded) if omitted. */
  id?: string;
  temperature?: SignalInput;
  /** 9..12 bits; the kernel's t= follows the truncated register. */
  resolution?: 9 | 10 | 11 | 12;
  seed?: number;
}

/** Scratchpad byte 6 before any conversion: with 85.00 °C in the register it marks a conversion that never ran. */
export const DS18B20_POWER_ON_BYTE6 = 0x0c;

/**
 * The 9-byte scratchpad for a temperature register value, and the two w1_slave lines the kernel prints for it.
 * After a conversion, genuine DS18B20s leave 0x10 minus the register's low nibble in byte 6 (as the DS18S20's
 * COUNT_REMAIN); `countRemain` overrides it, e.g. with 0x0C for a failed conversion.
 */
export function w1SlaveText(raw: number, options: { crcOk?: boolean; countRemain?: number } = {}): string {
  const lsb = raw & 0xff;
  const msb = (raw >> 8) & 0xff;
  const pad = [lsb, msb, 0x4b, 0x46, 0x7f, 0xff, options.countRemain ?? (0x10 - (raw & 0x0f) || 0x10), 0x10];
  const crc = dallasCrc8(pad);
  const sent = options.crcOk === false ? crc ^ 0x5a : crc;
  const hex = [...pad, sent].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const signed = raw & 0x8000 ? raw - 0x10000 : raw;
  const t = Math.trunc((signed * 1000) / 16);
  return `${hex} : crc=${sent.toString(16).padStart(2, '0')} ${options.crcOk === false ? 'NO' : 'YES'}\n${hex} t=${t}\n`;
}

/**
 * One DS18B20 under `bus/w1/devices`. Reading `w1_slave` or `temperature` through the tree's `fs` runs a
 * "conversion": `crc` → a `crc=.. NO` file, `out-of-range` → the power-on scratchpad (85 °C, byte 6 = 0x0C: the conversion did not run), `stuck` → the previous
 * file, `eio`/`nack` → EIO, `timeout` → ETIMEDOUT. disconnect() removes the slave directory (the master drops
 * slaves that stop answering its searches); reconnect() brings it back.
 */
export class W1Ds18b20Device implements FaultTarget {
  readonly faults = new FaultInjector();
  readonly dir: string;
  private signal: Signal;
  private readonly resolution: number;

  constructor(
    readonly id: string,
    private readonly tree: W1Tree,
    private readonly clock: Clock,
    options: Ds18b20Options,
  ) {
    this.dir = join(tree.devicesDir, id);
    this.resolution = options.resolution ?? 12;
    this.signal = toSignal(options.temperature ?? createRoom(options.seed ?? 7).temperature);
  }

  set(values: { temperature?: SignalInput }): void {
    if (values.temperature !== undefined) this.signal = toSignal(values.temperature);
  }

  inject(spec: FaultSpec): void {
    this.faults.inject(spec);
  }

  /** Resolves once the directory is gone (reads fail with ENOENT from the call on). */
  async disconnect(): Promise<void> {
    this.faults.disconnect();
    await rm(this.dir, { recursive: true, force: true });
    await this.tree.writeSlaveList();
  }

  async reconnect(): Promise<void> {
    this.faults.reconnect();
    await this.create();
    await this.tree.writeSlaveList();
  }

  async create(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, 'name'), `${this.id}\n`);
    await this.writeRaw(this.rawFor(this.clock.now()));
  }

  /** The temperature register after a conversion at the configured resolution. */
  rawFor(now: number): number {
    const drop = 12 - this.resolution;
    const raw = Math.round(Math.min(125, Math.max(-55, this.signal.at(now))) * 16);
    return ((raw >> drop) << drop) & 0xffff;
  }

  /** Called by the tree's fs before a value file is read. */
  async convert(): Promise<void> {
    if (!this.faults.connected) throw osError('ENOENT', 'open');
    const fault = this.faults.take('timeout', 'eio', 'nack', 'crc', 'stuck', 'out-of-range');
    if (fault === 'timeout') throw osError('ETIMEDOUT', 'read');
    if (fault === 'eio' || fault === 'nack') throw osError('EIO', 'read');
    if (fault === 'stuck') return;
    if (fault === 'out-of-range') return this.writeRaw(0x0550, true, DS18B20_POWER_ON_BYTE6);
    await this.writeRaw(this.rawFor(this.clock.now()), fault !== 'crc');
  }

  private async writeRaw(raw: number, crcOk = true, countRemain?: number): Promise<void> {
    const text = w1SlaveText(raw, { crcOk, countRemain });
    await writeFile(join(this.dir, 'w1_slave'), text);
    await writeFile(join(this.dir, 'temperature'), `${/t=(-?\d+)/.exec(text)?.[1] ?? ''}\n`);
  }
}

/** A temporary `/sys` with `bus/w1/devices/{w1_bus_master1, 28-...}`: pass `root` as sysfsRoot and `fs` as reader. */
export class W1Tree {
  readonly devicesDir: string;
  private readonly devices: W1Ds18b20Device[] = [];
  private readonly random: Random;

  private constructor(
    readonly root: string,
    private readonly clock: Clock,
    seed: number,
  ) {
    this.devicesDir = join(root, 'bus', 'w1', 'devices');
    this.random = new Random(seed);
  }

  static async create(options: { root?: string; clock?: Clock; seed?: number } = {}): Promise<W1Tree> {
    const root = options.root ?? (await mkdtemp(join(tmpdir(), 'w1-sysfs-')));
    const tree = new W1Tree(root, options.clock ?? systemClock, options.seed ?? 8);
    await mkdir(join(tree.devicesDir, 'w1_bus_master1'), { recursive: true });
    await tree.writeSlaveList();
    return tree;
  }

  async addDs18b20(options: Ds18b20Options = {}): Promise<W1Ds18b20Device> {
    const id = options.id ?? `28-${Array.from({ length: 12 }, () => Math.floor(this.random.next() * 16).toString(16)).join('')}`;
    const device = new W1Ds18b20Device(id, this, this.clock, options);
    await device.create();
    this.devices.push(device);
    await this.writeSlaveList();
    return device;
  }

  get ds18b20s(): readonly W1Ds18b20Device[] {
    return this.devices;
  }

  async writeSlaveList(): Promise<void> {
    const present = this.devices.filter((d) => d.faults.connected).map((d) => d.id);
    await writeFile(join(this.devicesDir, 'w1_bus_master1', 'w1_master_slaves'), present.length ? `${present.join('\n')}\n` : 'not found.\n');
  }

  /** Reads like the kernel would answer them. */
  readonly fs: SysfsReader = {
    readdir: (path) => nodeSysfsReader.readdir(path),
    readFile: async (path) => {
      const device = this.devices.find((d) => path.startsWith(d.dir + '/'));
      if (device && /\/(w1_slave|temperature)$/.test(path)) await device.convert();
      return nodeSysfsReader.readFile(path);
    },
  };

  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}
