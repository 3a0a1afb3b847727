import { fromOsError } from '../errors.js';
import type { HardwareError } from '../errors.js';

/** Typed error for a failed sysfs access, with the fix people need for the usual codes. */
export function sysfsError(device: string, error: unknown, what: string): HardwareError {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return fromOsError(device, error, `${what}${hintFor(code)}`);
}

function hintFor(code: unknown): string {
  switch (code) {
    case 'EINVAL':
      return ' (hint: on kernel 6.6+ sysfs numbers are the chip base + BCM, e.g. GPIO17 = 529 on a Pi 4; or a kernel driver such as an overlay owns the pin)';
    case 'EBUSY':
      return ' (hint: the pin is claimed by a kernel driver (dtoverlay, 1-Wire, SPI, I2C) or another process; see `gpioinfo`)';
    case 'EACCES':
    case 'EPERM':
      return ' (hint: run as a member of the gpio group: `sudo usermod -aG gpio <user>`, then log in again / restart the service)';
    default:
      return '';
  }
}
