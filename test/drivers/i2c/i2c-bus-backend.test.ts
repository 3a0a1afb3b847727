import type { PromisifiedBus } from 'i2c-bus';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, DeviceNotPresentError, HardwareIoError, NackError } from '../../../src/drivers/errors.js';
import { openI2cBus, type I2cBusModule } from '../../../src/drivers/i2c/i2c-bus-backend.js';
import { SerializedI2cBus } from '../../../src/drivers/i2c/serialized-bus.js';

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

function fakeModule(raw: Partial<PromisifiedBus>): I2cBusModule {
  return { openPromisified: async () => raw as PromisifiedBus };
}

const devicePath = '/dev/null';

describe('openI2cBus', () => {
  it('reports a missing i2c-bus package as BackendUnavailableError', async () => {
    const load = async () => {
      throw errno('ERR_MODULE_NOT_FOUND', "Cannot find package 'i2c-bus'");
    };
    await expect(openI2cBus(1, { load, devicePath })).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('reports a missing /dev/i2c-N as DeviceNotPresentError with ENOENT', async () => {
    const load = async (): Promise<I2cBusModule> => ({
      openPromisified: async () => {
        throw errno('ENOENT', "ENOENT: no such file or directory, open '/dev/i2c-1'");
      },
    });
    const error = await openI2cBus(1, { load, devicePath }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceNotPresentError);
    expect((error as DeviceNotPresentError).code).toBe('ENOENT');
  });

  it('maps errno failures of transfers to typed errors naming bus and address', async () => {
    const bus = await openI2cBus(1, {
      devicePath,
      load: async () =>
        fakeModule({
          readByte: async () => {
            throw errno('EREMOTEIO', 'Remote I/O error');
          },
          i2cRead: async () => {
            throw errno('EIO', 'Input/output error');
          },
          close: async () => {},
        }),
    });
    expect(bus).toBeInstanceOf(SerializedI2cBus);
    const nack = await bus.readByte(0x76, 0xd0).catch((e: unknown) => e);
    expect(nack).toBeInstanceOf(NackError);
    expect(nack).toMatchObject({ code: 'EREMOTEIO', device: 'i2c-1@0x76' });
    await expect(bus.i2cRead(0x44, 6, Buffer.alloc(6))).rejects.toBeInstanceOf(HardwareIoError);
    await bus.close();
  });

  it('checks the device node up front: no /dev/i2c-99 here', async () => {
    const error = await openI2cBus(99).catch((e: unknown) => e);
    // DeviceNotPresentError when the native module loads, BackendUnavailableError where it was not built.
    expect(error instanceof DeviceNotPresentError || error instanceof BackendUnavailableError).toBe(true);
    expect(error).toMatchObject({ device: 'i2c-99' });
  });
});
