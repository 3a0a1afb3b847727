import { describe, expect, it } from 'vitest';
import type { HardwareError } from '../../../src/drivers/errors.js';
import { HardwareIoError, HardwareTimeoutError } from '../../../src/drivers/errors.js';
import { I2cDevice, i2cDeviceLabel } from '../../../src/drivers/i2c/i2c-device.js';
import { I2cBusPool } from '../../../src/drivers/i2c/bus-pool.js';
import type { I2cBus } from '../../../src/drivers/types.js';
import { VirtualI2cBus } from '../../../mocks/i2c/virtual-bus.js';

describe('I2cDevice', () => {
  it('rejects reserved addresses', () => {
    const bus = new VirtualI2cBus();
    expect(() => new I2cDevice(bus, 0x78)).toThrow(RangeError);
    expect(() => new I2cDevice(bus, 0x02)).toThrow(RangeError);
    expect(i2cDeviceLabel(1, 0x5c)).toBe('i2c-1@0x5c');
  });

  it('turns short transfers and untyped errors into typed errors', async () => {
    const bus = {
      busNumber: 3,
      readI2cBlock: async (_a: number, _c: number, _l: number, buffer: Buffer) => ({ bytesRead: 2, buffer }),
      readByte: async () => {
        throw Object.assign(new Error('Connection timed out'), { code: 'ETIMEDOUT' });
      },
    } as unknown as I2cBus;
    const device = new I2cDevice(bus, 0x48);
    const short = await device.readRegisters(0x00, 4).catch((e: unknown) => e);
    expect(short).toBeInstanceOf(HardwareIoError);
    expect((short as HardwareError).device).toBe('i2c-3@0x48');
    const timeout = await device.readRegister(0x01).catch((e: unknown) => e);
    expect(timeout).toBeInstanceOf(HardwareTimeoutError);
    expect((timeout as HardwareError).code).toBe('ETIMEDOUT');
  });
});

describe('I2cBusPool', () => {
  it('opens each bus once, shares it serialised, and retries a failed open', async () => {
    let opens = 0;
    const pool = new I2cBusPool(async (n) => {
      opens += 1;
      if (opens === 1) throw new Error('not yet');
      return new VirtualI2cBus({ busNumber: n });
    });
    await expect(pool.get(1)).rejects.toThrow('not yet');
    const [a, b] = await Promise.all([pool.get(1), pool.get(1)]);
    expect(a).toBe(b);
    expect(opens).toBe(2);
    await pool.close();
  });
});
