import { ManualClock } from '../../../mocks/chips/clock.js';
import type { I2cEmulator } from '../../../mocks/i2c/emulator.js';
import { VirtualI2cBus } from '../../../mocks/i2c/virtual-bus.js';
import { SerializedI2cBus } from '../../../src/drivers/i2c/serialized-bus.js';
import type { Clock } from '../../../src/util/clock.js';

/** A virtual bus, serialised as in production, and a manual clock shared by emulators and drivers. */
export function rig() {
  const clock = new ManualClock();
  const raw = new VirtualI2cBus();
  const bus = new SerializedI2cBus(raw);
  const attach = <T extends I2cEmulator>(emulator: T): T => raw.attach(emulator);
  return { clock, raw, bus, attach };
}

/** The rig's time line with another sleep: a driver that waits less than it asked for, or not at all. */
export function withSleep(clock: Clock, sleep: (ms: number) => Promise<void>): Clock {
  return { now: () => clock.now(), sleep, setTimeout: (callback, ms) => clock.setTimeout(callback, ms), clearTimeout: (handle) => clock.clearTimeout(handle) };
}
