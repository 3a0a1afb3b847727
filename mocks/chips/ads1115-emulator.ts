import { ADS1115_DATA_RATES, ADS1115_FULL_SCALES } from '../../src/drivers/chips/ads1115.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { EmulatedI2cChip } from '../i2c/emulator.js';
import { Random } from './random.js';
import { DriftingSignal, toSignal, type Signal, type SignalInput } from './signal.js';

export interface Ads1115EmulatorOptions {
  address?: number;
  /** Volts on AIN0..AIN3 against GND. */
  inputs?: Partial<Record<0 | 1 | 2 | 3, SignalInput>>;
  /** Supply voltage; inputs cannot go beyond GND-0.3 .. VDD+0.3. */
  vdd?: number;
  clock?: Clock;
  seed?: number;
}

const DEFAULT_CONFIG = 0x8583;
/** MUX [14:12] → [positive, negative] input, -1 = GND. */
const MUX: readonly [number, number][] = [
  [0, 1],
  [0, 3],
  [1, 3],
  [2, 3],
  [0, -1],
  [1, -1],
  [2, -1],
  [3, -1],
];

/**
 * A TI ADS1115 with its four 16-bit registers behind the pointer register (big-endian words), single-shot and
 * continuous modes, OS bit low while converting (1/DR), PGA full scales and the differential/single-ended MUX.
 * Faults: `stuck` keeps the old conversion, `out-of-range` returns full scale (0x7FFF); no CRC.
 */
export class Ads1115Emulator extends EmulatedI2cChip {
  readonly name: string;
  private readonly clock: Clock;
  private readonly vdd: number;
  private readonly inputs: Signal[];
  private pointer = 0;
  private config = DEFAULT_CONFIG;
  private conversion = 0;
  private loThresh = 0x8000;
  private hiThresh = 0x7fff;
  private convertingUntil: number | undefined;

  constructor(options: Ads1115EmulatorOptions = {}) {
    super(options.address ?? 0x48);
    this.name = `ads1115@0x${this.address.toString(16)}`;
    this.clock = options.clock ?? systemClock;
    this.vdd = options.vdd ?? 3.3;
    const random = new Random(options.seed ?? 4);
    // A potentiometer near mid-travel, the 3.3 V rail, a grounded input, a drifting analogue sensor.
    const defaults: Signal[] = [
      new DriftingSignal({ mean: 1.65, wander: 0.2, min: 0, max: this.vdd, random: random.fork() }),
      new DriftingSignal({ mean: 3.3, wander: 0.005, wanderTimeConstantMs: 60_000, random: random.fork() }),
      toSignal(0),
      new DriftingSignal({ mean: 2.1, dailyAmplitude: 0.3, wander: 0.05, min: 0, max: this.vdd, random: random.fork() }),
    ];
    this.inputs = defaults.map((signal, i) => toSignal(options.inputs?.[i as 0 | 1 | 2 | 3] ?? signal));
  }

  setInput(input: 0 | 1 | 2 | 3, volts: SignalInput): void {
    this.inputs[input] = toSignal(volts);
  }

  protected powerOn(): void {
    this.pointer = 0;
    this.config = DEFAULT_CONFIG;
    this.conversion = 0;
    this.loThresh = 0x8000;
    this.hiThresh = 0x7fff;
    this.convertingUntil = undefined;
  }

  /** Byte 0 is the pointer; two more bytes write that register MSB first. */
  write(data: Buffer): void {
    this.settle();
    if (data.length === 0) return;
    this.pointer = data.readUInt8(0) & 0x03;
    if (data.length < 3) return;
    const word = data.readUInt16BE(1);
    if (this.pointer === 1) this.writeConfig(word);
    else if (this.pointer === 2) this.loThresh = word;
    else if (this.pointer === 3) this.hiThresh = word;
  }

  read(length: number): Buffer {
    this.settle();
    const word = [this.conversion & 0xffff, this.configReadback(), this.loThresh, this.hiThresh][this.pointer] as number;
    const out = Buffer.alloc(Math.max(2, length), 0xff);
    out.writeUInt16BE(word, 0);
    return out.subarray(0, length);
  }

  private configReadback(): number {
    const idle = this.convertingUntil === undefined || this.singleShot() === false ? 0x8000 : 0;
    return (this.config & 0x7fff) | idle;
  }

  private singleShot(): boolean {
    return (this.config & 0x0100) !== 0;
  }

  private writeConfig(word: number): void {
    this.config = word;
    const start = (word & 0x8000) !== 0 && this.singleShot();
    if (start && this.convertingUntil === undefined) this.convertingUntil = this.clock.now() + this.conversionMs();
    if (!this.singleShot()) this.convertingUntil = this.clock.now() + this.conversionMs();
  }

  private conversionMs(): number {
    return 1000 / (ADS1115_DATA_RATES[(this.config >> 5) & 0x07] as number);
  }

  private settle(): void {
    const now = this.clock.now();
    if (this.convertingUntil === undefined || now < this.convertingUntil) return;
    this.conversion = this.convert(this.convertingUntil);
    // Continuous mode: the register holds the latest conversion.
    this.convertingUntil = this.singleShot() ? undefined : now + this.conversionMs();
  }

  private convert(at: number): number {
    const fault = this.faults.take('stuck', 'out-of-range');
    if (fault === 'stuck') return this.conversion;
    if (fault === 'out-of-range') return 0x7fff;
    const [pos, neg] = MUX[(this.config >> 12) & 0x07] as [number, number];
    const volts = (i: number) => (i < 0 ? 0 : Math.min(this.vdd + 0.3, Math.max(-0.3, (this.inputs[i] as Signal).at(at))));
    const fullScale = ADS1115_FULL_SCALES[Math.min(5, (this.config >> 9) & 0x07)] as number;
    const code = Math.round(((volts(pos) - volts(neg)) * 32768) / fullScale);
    return Math.min(32767, Math.max(-32768, code));
  }
}
