import { ChecksumError, HardwareIoError, HardwareTimeoutError } from '../../src/drivers/errors.js';
import { decodeDhtFrame } from '../../src/drivers/dht/dht-frame.js';
import { DHT_MIN_INTERVAL_MS, MinIntervalGate } from '../../src/drivers/dht/min-interval.js';
import type { DhtModel, DhtReader, DhtSample } from '../../src/drivers/types.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { createRoom } from '../chips/environment.js';
import { FaultInjectable } from '../chips/faults.js';
import { toSignal, type Signal, type SignalInput } from '../chips/signal.js';
import { encodeDhtFrame } from './dht-frame-encoder.js';

export interface SimulatedDhtOptions {
  model?: DhtModel;
  pin?: number;
  temperature?: SignalInput;
  humidity?: SignalInput;
  minIntervalMs?: number;
  clock?: Clock;
  seed?: number;
}

/**
 * A DHT11/DHT22 on a pin, as a DhtReader: at most one sample per 2 s (sooner → undefined), each sample encoded into
 * the sensor's 40-bit frame and decoded by the real decoder, so resolution, sign and checksum behave as on the wire.
 * Faults: `timeout`/`nack` (no answer to the start pulse) → HardwareTimeoutError, `eio` → HardwareIoError,
 * `crc` → a frame with a bad checksum (ChecksumError), `stuck` → the previous frame again, `out-of-range` → the
 * all-zero frame (0.0 °C / 0.0 %, checksum valid); disconnect() → timeouts.
 */
export class SimulatedDhtReader extends FaultInjectable implements DhtReader {
  readonly model: DhtModel;
  readonly device: string;
  private readonly clock: Clock;
  private readonly gate: MinIntervalGate;
  private signals: { temperature: Signal; humidity: Signal };
  private lastFrame: number[] | undefined;
  /** Frames sent, for tests. */
  frames = 0;

  constructor(options: SimulatedDhtOptions = {}) {
    super();
    this.model = options.model ?? 'dht22';
    this.device = `dht-gpio${options.pin ?? 4}`;
    this.clock = options.clock ?? systemClock;
    this.gate = new MinIntervalGate(options.minIntervalMs ?? DHT_MIN_INTERVAL_MS, this.clock);
    const room = createRoom(options.seed ?? 5);
    this.signals = { temperature: toSignal(options.temperature ?? room.temperature), humidity: toSignal(options.humidity ?? room.humidity) };
  }

  set(values: { temperature?: SignalInput; humidity?: SignalInput }): void {
    if (values.temperature !== undefined) this.signals.temperature = toSignal(values.temperature);
    if (values.humidity !== undefined) this.signals.humidity = toSignal(values.humidity);
  }

  async read(): Promise<DhtSample | undefined> {
    if (!this.gate.tryAcquire()) return undefined;
    if (!this.faults.connected) throw new HardwareTimeoutError(this.device, 'no response to the start signal', { code: 'ETIMEDOUT' });
    const fault = this.faults.take('timeout', 'nack', 'eio', 'crc', 'stuck', 'out-of-range');
    if (fault === 'timeout' || fault === 'nack') throw new HardwareTimeoutError(this.device, 'no response to the start signal', { code: 'ETIMEDOUT' });
    if (fault === 'eio') throw new HardwareIoError(this.device, 'bit timing lost', { code: 'EIO' });
    let frame: number[];
    if (fault === 'stuck' && this.lastFrame) frame = this.lastFrame;
    else if (fault === 'out-of-range') frame = [0, 0, 0, 0, 0];
    else {
      const now = this.clock.now();
      frame = encodeDhtFrame({ temperature: this.signals.temperature.at(now), humidity: this.signals.humidity.at(now) }, this.model);
    }
    this.lastFrame = frame;
    this.frames += 1;
    if (fault === 'crc') frame = [...frame.slice(0, 4), ((frame[4] as number) + 1) & 0xff];
    try {
      return decodeDhtFrame(frame, this.model, this.device);
    } catch (error) {
      if (error instanceof ChecksumError) throw error;
      throw new HardwareIoError(this.device, (error as Error).message, { cause: error });
    }
  }

  async close(): Promise<void> {}
}
