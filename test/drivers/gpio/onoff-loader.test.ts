import { describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '../../../src/drivers/errors.js';
import { loadOnoff } from '../../../src/drivers/gpio/onoff-loader.js';

describe('loadOnoff', () => {
  it('loads the real onoff lazily, or reports it unavailable where it is not installed', async () => {
    const outcome = await loadOnoff().catch((error: unknown) => error);
    if (outcome instanceof Error) {
      expect(outcome).toBeInstanceOf(BackendUnavailableError);
      return;
    }
    const { Gpio } = outcome as Awaited<ReturnType<typeof loadOnoff>>;
    expect(typeof Gpio).toBe('function');
    expect(typeof Gpio.accessible).toBe('boolean');
    expect(typeof Gpio.prototype.watch).toBe('function');
  });
});
