/**
 * Typed hardware errors. Every driver failure is one of these, so callers (the sensor loop, retries, availability)
 * can decide by class and never by parsing messages. The OS error code (`EIO`, `EREMOTEIO`, `ETIMEDOUT`...) is kept
 * when the failure came from the kernel.
 */
export type HardwareErrorKind = 'timeout' | 'checksum' | 'nack' | 'not-present' | 'io' | 'busy' | 'invalid-value' | 'unsupported';

export abstract class HardwareError extends Error {
  abstract readonly kind: HardwareErrorKind;
  /** OS error code when the kernel reported the failure, e.g. `EREMOTEIO`. */
  readonly code: string | undefined;
  /** Which device: `i2c-1@0x76`, `gpio17`, `w1:28-0000075565ef`. */
  readonly device: string;

  constructor(device: string, message: string, options: { code?: string; cause?: unknown } = {}) {
    super(`${device}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.device = device;
    this.code = options.code;
  }
}

/** The device did not answer in time (DHT handshake, 1-Wire conversion, I2C clock stretching beyond limits). */
export class HardwareTimeoutError extends HardwareError {
  readonly kind = 'timeout';
}

/** Data arrived but its CRC / checksum did not match. */
export class ChecksumError extends HardwareError {
  readonly kind = 'checksum';
}

/** The I2C device did not acknowledge its address or a byte (`EREMOTEIO`, "Remote I/O error"). */
export class NackError extends HardwareError {
  readonly kind = 'nack';
}

/** The device, bus, chip or sysfs node does not exist (`ENOENT`, wrong chip id). */
export class DeviceNotPresentError extends HardwareError {
  readonly kind = 'not-present';
}

/** Any other kernel I/O failure (`EIO`, `EBUSY`, `EACCES`...). */
export class HardwareIoError extends HardwareError {
  readonly kind = 'io';
}

/** A line or bus is held by another user (`EBUSY`). */
export class DeviceBusyError extends HardwareError {
  readonly kind = 'busy';
}

/** A reading the device produced that cannot be physically true (DHT 0.0 / doubled values, DS18B20 85 °C on power-on). */
export class ImplausibleReadingError extends HardwareError {
  readonly kind = 'invalid-value';
}

/** The backend cannot run on this system (a kernel without sysfs GPIO, libgpiod tools or a native module missing). */
export class BackendUnavailableError extends HardwareError {
  readonly kind = 'unsupported';
}

/** Map a Node/OS error from a native call or fs access to the matching typed error. */
export function fromOsError(device: string, error: unknown, what: string): HardwareError {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
  const detail = error instanceof Error ? error.message : String(error);
  const message = `${what}: ${detail}`;
  switch (code) {
    case 'EREMOTEIO':
    case 'ENXIO':
      return new NackError(device, message, { code, cause: error });
    case 'ETIMEDOUT':
      return new HardwareTimeoutError(device, message, { code, cause: error });
    case 'ENOENT':
    case 'ENODEV':
      return new DeviceNotPresentError(device, message, { code, cause: error });
    case 'EBUSY':
      return new DeviceBusyError(device, message, { code, cause: error });
    default:
      return new HardwareIoError(device, message, { code, cause: error });
  }
}
