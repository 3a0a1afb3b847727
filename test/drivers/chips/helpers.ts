import { ManualClock } from '../../../mocks/chips/clock.js';
import type { I2cEmulator } from '../../../mocks/i2c/emulator.js';
import { VirtualI2cBus } from '../../../mocks/i2c/virtual-bus.js';
import { SerializedI2cBus } from '../../../src/drivers/i2c/serialized-bus.js';

/** A virtual bus, serialised as in production, and a manual clock shared by emulators and drivers. */
export function rig() {
  const clock = new ManualClock();
  const raw = new VirtualI2cBus();
  const bus = new SerializedI2cBus(raw);
  const attach = <T extends I2cEmulator>(emulator: T): T => raw.attach(emulator);
  return { clock, raw, bus, attach, sleep: clock.sleep };
}
