import { BH1750_DEFAULT_MTREG } from '../../src/drivers/chips/bh1750.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { EmulatedI2cChip } from '../i2c/emulator.js';
import { osError } from '../i2c/os-error.js';
import { createRoom } from './environment.js';
import { toSignal, type Signal, type SignalInput } from './signal.js';

export interface Bh1750EmulatorOptions {
  address?: number;
  illuminance?: SignalInput;
  clock?: Clock;
  seed?: number;
}

type Mode = { continuous: boolean; resolution: 'high' | 'high2' | 'low' };
const MODES: Record<number, Mode> = {
  0x10: { continuous: true, resolution: 'high' },
  0x11: { continuous: true, resolution: 'high2' },
  0x13: { continuous: true, resolution: 'low' },
  0x20: { continuous: false, resolution: 'high' },
  0x21: { continuous: false, resolution: 'high2' },
  0x23: { continuous: false, resolution: 'low' },
};

/**
 * A ROHM BH1750: one-byte opcodes (power, reset, modes, MTreg), a 16-bit big-endian data register that keeps its old
 * value until a conversion ends (typ. 120 ms high-res, 16 ms low-res, scaled by MTreg/69), auto power-down after a
 * one-time measurement. Faults: `stuck` keeps the old count, `out-of-range` saturates at 0xFFFF; no CRC.
 */
export class Bh1750Emulator extends EmulatedI2cChip {
  readonly name: string;
  private readonly clock: Clock;
  private illuminance: Signal;
  private powered = false;
  private mode: Mode | undefined;
  private mtreg = BH1750_DEFAULT_MTREG;
  private dataRegister = 0;
  private conversionEnd: number | undefined;

  constructor(options: Bh1750EmulatorOptions = {}) {
    super(options.address ?? 0x23);
    this.name = `bh1750@0x${this.address.toString(16)}`;
    this.clock = options.clock ?? systemClock;
    this.illuminance = toSignal(options.illuminance ?? createRoom(options.seed ?? 3).illuminance);
  }

  set(values: { illuminance?: SignalInput }): void {
    if (values.illuminance !== undefined) this.illuminance = toSignal(values.illuminance);
  }

  get poweredOn(): boolean {
    return this.powered;
  }

  protected powerOn(): void {
    this.powered = false;
    this.mode = undefined;
    this.mtreg = BH1750_DEFAULT_MTREG;
    this.dataRegister = 0;
    this.conversionEnd = undefined;
  }

  write(data: Buffer): void {
    this.settle();
    for (const opcode of data) this.command(opcode);
  }

  read(length: number): Buffer {
    this.settle();
    const out = Buffer.alloc(length, 0xff);
    out.writeUInt16BE(this.dataRegister, 0);
    return out;
  }

  private command(opcode: number): void {
    if (opcode === 0x00) {
      this.powered = false;
      this.conversionEnd = undefined;
    } else if (opcode === 0x01) {
      this.powered = true;
    } else if (opcode === 0x07) {
      if (this.powered) this.dataRegister = 0;
    } else if ((opcode & 0xf8) === 0x40) {
      this.mtreg = ((opcode & 0x07) << 5) | (this.mtreg & 0x1f);
    } else if ((opcode & 0xe0) === 0x60) {
      this.mtreg = (this.mtreg & 0xe0) | (opcode & 0x1f);
    } else if (MODES[opcode]) {
      this.powered = true;
      this.mode = MODES[opcode];
      this.conversionEnd = this.clock.now() + this.conversionMs(this.mode);
    } else {
      throw osError('EREMOTEIO');
    }
  }

  private conversionMs(mode: Mode): number {
    return ((mode.resolution === 'low' ? 16 : 120) * this.mtreg) / BH1750_DEFAULT_MTREG;
  }

  private settle(): void {
    const now = this.clock.now();
    while (this.conversionEnd !== undefined && this.mode && now >= this.conversionEnd) {
      this.dataRegister = this.count(this.conversionEnd, this.mode);
      if (this.mode.continuous) {
        this.conversionEnd += this.conversionMs(this.mode);
        // Skip conversions nobody read, rather than replaying hours of them.
        if (now - this.conversionEnd > 1000) this.conversionEnd = now;
      } else {
        this.conversionEnd = undefined;
        this.powered = false;
      }
    }
  }

  private count(at: number, mode: Mode): number {
    const fault = this.faults.take('stuck', 'out-of-range');
    if (fault === 'stuck') return this.dataRegister;
    if (fault === 'out-of-range') return 0xffff;
    const lux = Math.max(0, this.illuminance.at(at));
    let raw = (lux * 1.2 * this.mtreg) / BH1750_DEFAULT_MTREG;
    if (mode.resolution === 'high2') raw *= 2;
    if (mode.resolution === 'low') raw = Math.floor(raw / 4) * 4;
    return Math.min(0xffff, Math.round(raw));
  }
}
