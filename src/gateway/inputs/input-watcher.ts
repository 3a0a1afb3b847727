import type { BitValue, GpioController, GpioLine, GpioLineStatus } from '../../drivers/types.js';
import type { Logger } from '../../util/logger.js';
import type { InputSection } from '../config/devices-schema.js';

export interface InputEvent {
  input: string;
  payload: string;
}

/**
 * A GPIO input (button, PIR, door contact) turned into state payloads: the level at start, then every debounced
 * edge. The GPIO backend debounces and applies active-low; this maps levels to the configured payloads.
 */
export class InputWatcher {
  private line: GpioLine | undefined;
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly spec: InputSection,
    private readonly gpio: GpioController,
    private readonly onChange: (event: InputEvent) => void,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const { spec } = this;
    this.line = await this.gpio.openInput(spec.pin, {
      edge: spec.edge,
      debounceMs: spec.debounce,
      activeLow: spec.active_low,
      pull: spec.pull,
    });
    try {
      this.unwatch = this.line.watch((value) => this.emit(value));
      this.emit(await this.line.read());
    } catch (error) {
      // Not left open: the pin would stay busy for a later attempt, and nothing would ever close it.
      await this.stop().catch(() => undefined);
      throw error;
    }
    this.logger.info({ input: spec.name, pin: spec.pin }, 'input ready');
  }

  /** Reports of the line's availability (GpioLine.onStatus): none before start(), nor from a backend that has none. */
  onStatus(listener: (status: GpioLineStatus) => void): () => void {
    return this.line?.onStatus?.(listener) ?? (() => {});
  }

  async stop(): Promise<void> {
    const { line, unwatch } = this;
    this.line = undefined;
    this.unwatch = undefined;
    unwatch?.();
    await line?.close();
  }

  private emit(value: BitValue): void {
    this.onChange({ input: this.spec.name, payload: value === 1 ? this.spec.payload_on : this.spec.payload_off });
  }
}
