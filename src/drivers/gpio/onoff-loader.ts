import { BackendUnavailableError } from '../errors.js';
import type { BitValue, Edge } from '../types.js';

/** The part of onoff's API the sysfs backend uses; declared here so onoff stays an optional dependency. */
export type OnoffDirection = 'in' | 'out' | 'high' | 'low';

export interface OnoffOptions {
  debounceTimeout?: number;
  activeLow?: boolean;
  /** false: leave the direction alone when the line already has the requested one (keeps an output's level). */
  reconfigureDirection?: boolean;
}

export type OnoffCallback = (error: Error | null | undefined, value: BitValue) => void;

export interface OnoffGpio {
  read(): Promise<BitValue>;
  readSync(): BitValue;
  write(value: BitValue): Promise<void>;
  watch(callback: OnoffCallback): void;
  unwatch(callback?: OnoffCallback): void;
  unwatchAll(): void;
  unexport(): void;
}

export interface OnoffGpioClass {
  new (gpio: number, direction: OnoffDirection, edge?: Edge, options?: OnoffOptions): OnoffGpio;
  readonly accessible: boolean;
}

export interface OnoffModule {
  Gpio: OnoffGpioClass;
}

/**
 * Imports onoff on first use. It is an optional native dependency (epoll): absent on a Mac or when the build
 * failed, which is BackendUnavailableError, not a crash at start-up.
 */
export async function loadOnoff(): Promise<OnoffModule> {
  // A variable specifier keeps TypeScript from requiring onoff's types at build time.
  const specifier = 'onoff';
  let loaded: { Gpio?: OnoffGpioClass; default?: { Gpio?: OnoffGpioClass } };
  try {
    loaded = (await import(specifier)) as typeof loaded;
  } catch (error) {
    throw new BackendUnavailableError('gpio', `the onoff package cannot be loaded (optional dependency; Linux only): ${(error as Error).message}`, {
      code: (error as { code?: string }).code,
      cause: error,
    });
  }
  const Gpio = loaded.Gpio ?? loaded.default?.Gpio;
  if (!Gpio) throw new BackendUnavailableError('gpio', 'the onoff package has no Gpio export');
  return { Gpio };
}
