/**
 * The hardware edge. Everything above src/drivers talks to hardware only through these interfaces, and receives
 * implementations by injection: the real backends (onoff, gpio chardev, i2c-bus, node-dht-sensor, IIO, 1-Wire sysfs)
 * or the simulated ones in mocks/. Failures are the typed errors of ./errors.ts.
 */

export type BitValue = 0 | 1;
export type Edge = 'none' | 'rising' | 'falling' | 'both';
export type Pull = 'up' | 'down' | 'none';

export interface GpioInputOptions {
  edge?: Edge;
  debounceMs?: number;
  activeLow?: boolean;
  pull?: Pull;
}

export interface GpioOutputOptions {
  /** Logical level to set when the line is newly configured; a line already driven as an output keeps its level. */
  initial?: BitValue;
  activeLow?: boolean;
}

/** Whether an open line can be used; while it cannot, `error` says why (its reads and writes fail with it). */
export type GpioLineStatus = { available: true } | { available: false; error: Error };

/** One GPIO line, by its BCM number. Values are logical (after active-low). */
export interface GpioLine {
  readonly bcm: number;
  read(): Promise<BitValue>;
  write(value: BitValue): Promise<void>;
  /** Called on each debounced edge; returns a function that stops watching. */
  watch(listener: (value: BitValue) => void): () => void;
  /**
   * Called when the line becomes unavailable while open and when it is back (chardev: the libgpiod tool holding it
   * died, and was restarted). Only backends that can lose an open line have it; without it a line stays available
   * until closed. Returns a function that stops the reports.
   */
  onStatus?(listener: (status: GpioLineStatus) => void): () => void;
  close(): Promise<void>;
}

export interface GpioController {
  readonly backend: string;
  openInput(bcm: number, options?: GpioInputOptions): Promise<GpioLine>;
  openOutput(bcm: number, options?: GpioOutputOptions): Promise<GpioLine>;
  close(): Promise<void>;
}

/** The subset of i2c-bus's PromisifiedBus that chip drivers use. Accesses to one bus are serialised by the backend. */
export interface I2cBus {
  readonly busNumber: number;
  readByte(address: number, command: number): Promise<number>;
  writeByte(address: number, command: number, byte: number): Promise<void>;
  readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }>;
  writeI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }>;
  i2cRead(address: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }>;
  i2cWrite(address: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }>;
  close(): Promise<void>;
}

export type DhtModel = 'dht11' | 'dht22';

export interface DhtSample {
  temperature: number;
  humidity: number;
}

/** A DHT11/DHT22 on one pin. `undefined` means "no new sample" (read too soon, or the library's cached value). */
export interface DhtReader {
  read(): Promise<DhtSample | undefined>;
  close(): Promise<void>;
}

/** The 1-Wire bus master: enumerate devices, read a DS18B20's temperature. */
export interface OneWireBus {
  list(): Promise<string[]>;
  readTemperature(deviceId: string): Promise<number>;
}

/** What a sensor measures, one channel per quantity. */
export interface SensorChannel {
  /** Key in the published state: `temperature`, `humidity`, `pressure`, `illuminance`, `voltage_0`... */
  key: string;
  /** Unit as Home Assistant spells it: `°C`, `%`, `hPa`, `lx`, `V`. */
  unit: string;
  /** Home Assistant sensor device class, when one fits. */
  deviceClass?: string;
}

/** A sensor chip or module, ready to read. `undefined` from read() means "no new sample", not a failure. */
export interface Sensor {
  readonly kind: string;
  readonly channels: readonly SensorChannel[];
  read(): Promise<Record<string, number> | undefined>;
  close(): Promise<void>;
}
